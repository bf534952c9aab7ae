import { describe, expect, it } from 'vitest';
import type { RequestHeaders } from '../sessions/device-names.js';
import { isJsonContentType, readAuthorizationToken, singleHeader } from './request-input.js';

describe('singleHeader', () => {
  it('returns a string value and refuses repeated or absent ones', () => {
    expect(singleHeader({ a: 'x' }, 'a')).toBe('x');
    expect(singleHeader({ a: ['x', 'y'] }, 'a')).toBeUndefined();
    expect(singleHeader({}, 'a')).toBeUndefined();
    expect(singleHeader(undefined, 'a')).toBeUndefined();
  });
});

describe('readAuthorizationToken', () => {
  const read = (authorization: unknown): string | undefined =>
    readAuthorizationToken({ authorization } as unknown as RequestHeaders);

  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['JWT abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['jwt abc.def.ghi', 'abc.def.ghi'],
    ['BEARER abc', 'abc'],
    ['Bearer   abc', 'abc'],
    ['Bearer abc ', 'abc'],
  ])('%j → %j', (header, token) => {
    expect(read(header)).toBe(token);
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['a scheme without a token', 'Bearer'],
    ['a scheme and a space', 'Bearer '],
    ['a scheme and spaces', 'JWT    '],
    ['Basic', 'Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ='],
    ['Token (DRF)', 'Token abc'],
    ['Digest', 'Digest username="alice"'],
    ['a bare token', 'abc.def.ghi'],
    ['a scheme glued to the token', 'Bearerabc'],
    ['two tokens', 'Bearer abc def'],
    ['a leading space', ' Bearer abc'],
    ['a tab separator', 'Bearer\tabc'],
    ['a newline in the token', 'Bearer abc\ndef'],
    ['a prefix before the scheme', 'xBearer abc'],
    ['an array of values', ['Bearer abc', 'Bearer def']],
    ['an array of one value', ['Bearer abc']],
    ['a number', 42],
    ['an object', { toString: () => 'Bearer abc' }],
  ])('%s → undefined', (_label, header) => {
    expect(read(header)).toBeUndefined();
  });

  it('reads only the lower-case header name Node gives', () => {
    expect(readAuthorizationToken({ Authorization: 'Bearer abc' })).toBeUndefined();
    expect(readAuthorizationToken(undefined)).toBeUndefined();
  });
});

describe('isJsonContentType', () => {
  it.each([undefined, 'application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json', 'application/merge-patch+json; charset=UTF-8'])(
    '%j is JSON',
    (type) => {
      expect(isJsonContentType(type === undefined ? {} : { 'content-type': type })).toBe(true);
    },
  );

  it.each(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'text/json', 'application/jsonx', 'application/+json', ''])(
    '%j is not JSON',
    (type) => {
      expect(isJsonContentType({ 'content-type': type })).toBe(false);
    },
  );

  it('refuses a header sent twice', () => {
    expect(isJsonContentType({ 'content-type': ['application/json', 'text/plain'] })).toBe(false);
  });
});
