import { describe, expect, it } from 'vitest';
import {
  describeDevice,
  MAX_CREDENTIAL_LENGTH,
  MAX_DEVICE_ID,
  MAX_DEVICE_TEXT,
  parseDeviceId,
  readAuthorizationToken,
  readCredentials,
  type RequestHeaders,
  singleHeader,
} from './request-input.js';

/** What Node's HTTP parser hands over for a header a client sent as UTF-8: one char per byte. */
const asLatin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

describe('parseDeviceId', () => {
  it.each<[unknown, number]>([
    ['1', 1],
    ['42', 42],
    ['007', 7],
    [String(MAX_DEVICE_ID), MAX_DEVICE_ID],
    [5, 5],
    [1, 1],
    [MAX_DEVICE_ID, MAX_DEVICE_ID],
  ])('%j → %d', (value, id) => {
    expect(parseDeviceId(value)).toBe(id);
  });

  it.each<unknown>([
    '0',
    '00',
    '-1',
    '+1',
    '1.5',
    '1.0',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '1\n',
    'abc',
    '1abc',
    '',
    '١',
    '１',
    null,
    undefined,
    [],
    ['1'],
    {},
    { id: 1 },
    true,
    0,
    -0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    1e30,
  ])('%j → undefined', (value) => {
    expect(parseDeviceId(value)).toBeUndefined();
  });

  it('a bigint → undefined', () => {
    expect(parseDeviceId(1n)).toBeUndefined();
  });

  it.each<unknown>([MAX_DEVICE_ID + 1, String(MAX_DEVICE_ID + 1), '99999999999999999999', '9'.repeat(30), 1e20])(
    '%j (past the largest id) → Infinity',
    (value) => {
      expect(parseDeviceId(value)).toBe(Number.POSITIVE_INFINITY);
    },
  );

  it('a positive integer of any number of digits past the largest id → Infinity (a 404, not a 400)', () => {
    expect(parseDeviceId('9'.repeat(31))).toBe(Number.POSITIVE_INFINITY);
    expect(parseDeviceId('9'.repeat(40))).toBe(Number.POSITIVE_INFINITY);
    expect(parseDeviceId('1'.repeat(1_000))).toBe(Number.POSITIVE_INFINITY);
  });
});

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

describe('readCredentials', () => {
  const required = 'Must include "username" and "password".';

  it('returns the username and password of a valid body', () => {
    expect(readCredentials({ username: 'alice', password: 'alice-password' })).toEqual({ username: 'alice', password: 'alice-password' });
  });

  it('keeps only the username and password', () => {
    expect(readCredentials({ username: 'alice', password: 'pw', admin: true, __proto__: { x: 1 } })).toEqual({ username: 'alice', password: 'pw' });
  });

  it('passes unicode, SQL fragments and values of exactly the maximum length through untouched', () => {
    const long = 'x'.repeat(MAX_CREDENTIAL_LENGTH);
    expect(readCredentials({ username: 'Ålice 📱', password: "' OR 1=1 --" })).toEqual({ username: 'Ålice 📱', password: "' OR 1=1 --" });
    expect(readCredentials({ username: long, password: long })).toEqual({ username: long, password: long });
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'username=alice&password=alice-password'],
    ['a number', 42],
    ['true', true],
    ['an array', ['alice', 'alice-password']],
    ['an array with the properties', Object.assign(['x'], { username: 'alice', password: 'pw' })],
    ['an empty object', {}],
    ['no password', { username: 'alice' }],
    ['no username', { password: 'pw' }],
    ['an empty username', { username: '', password: 'pw' }],
    ['an empty password', { username: 'alice', password: '' }],
    ['a number username', { username: 1, password: 'pw' }],
    ['a number password', { username: 'alice', password: 123456 }],
    ['an object username', { username: { $ne: null }, password: 'pw' }],
    ['an object password', { username: 'alice', password: { $gt: '' } }],
    ['an array username', { username: ['alice'], password: 'pw' }],
    ['an array password', { username: 'alice', password: ['pw'] }],
    ['a boolean password', { username: 'alice', password: true }],
    ['a null username', { username: null, password: 'pw' }],
    ['a JSON __proto__ key', JSON.parse('{"__proto__":{"username":"alice","password":"pw"}}')],
  ])('%s → the "must include" message', (_label, body) => {
    expect(readCredentials(body)).toBe(required);
  });

  it.each<[string, unknown]>([
    ['an over-long username', { username: 'x'.repeat(MAX_CREDENTIAL_LENGTH + 1), password: 'pw' }],
    ['an over-long password', { username: 'alice', password: 'x'.repeat(MAX_CREDENTIAL_LENGTH + 1) }],
    ['100 KB values', { username: 'x'.repeat(100_000), password: 'y'.repeat(100_000) }],
  ])('%s → a message about the length', (_label, body) => {
    expect(readCredentials(body)).toBe(`"username" and "password" must be at most ${MAX_CREDENTIAL_LENGTH} characters.`);
  });

  it.each<[string, unknown]>([
    ['a NUL in the username', { username: 'alice\u0000', password: 'pw' }],
    ['a NUL in the password', { username: 'alice', password: 'alice-password\u0000' }],
    ['a lone NUL', { username: '\u0000', password: '\u0000' }],
  ])('%s → a message (a string), never credentials', (_label, body) => {
    const result = readCredentials(body);
    expect(typeof result).toBe('string');
    expect(result).toBe('Unable to log in with provided credentials.');
  });
});

describe('describeDevice', () => {
  it('names the device after X-Device-Model, with the User-Agent as details', () => {
    expect(describeDevice({ 'x-device-model': 'Pixel 8', 'user-agent': 'okhttp/4.12' })).toEqual({ name: 'Pixel 8', details: 'okhttp/4.12' });
    expect(describeDevice({ 'x-device-model': 'Pixel 8' })).toEqual({ name: 'Pixel 8', details: '' });
  });

  it('names the device after the User-Agent, with empty details, without X-Device-Model', () => {
    expect(describeDevice({ 'user-agent': 'curl/8.5' })).toEqual({ name: 'curl/8.5', details: '' });
    expect(describeDevice({ 'x-device-model': '', 'user-agent': 'curl/8.5' })).toEqual({ name: 'curl/8.5', details: '' });
    expect(describeDevice({ 'x-device-model': '   ', 'user-agent': 'curl/8.5' })).toEqual({ name: 'curl/8.5', details: '' });
  });

  it('gives empty strings when neither header is there', () => {
    expect(describeDevice({})).toEqual({ name: '', details: '' });
    expect(describeDevice(undefined)).toEqual({ name: '', details: '' });
  });

  it('cuts both to exactly 255 characters, by code point (never splitting an emoji)', () => {
    const model = '📱'.repeat(300);
    const agent = `a${'😀'.repeat(400)}`;
    const { name, details } = describeDevice({ 'x-device-model': model, 'user-agent': agent });
    expect(Array.from(name)).toHaveLength(MAX_DEVICE_TEXT);
    expect(name).toBe('📱'.repeat(255));
    expect(Array.from(details)).toHaveLength(MAX_DEVICE_TEXT);
    expect(details).toBe(`a${'😀'.repeat(254)}`);
    expect(details).not.toMatch(/[\ud800-\udbff]$/);
  });

  it('cuts the same emoji to 255 code points when they arrive as UTF-8 bytes', () => {
    const { name } = describeDevice({ 'user-agent': asLatin1(`${'x'.repeat(200)}${'📱'.repeat(100)}`) });
    expect(name).toBe(`${'x'.repeat(200)}${'📱'.repeat(55)}`);
    expect(Array.from(name)).toHaveLength(255);
  });

  it('cuts long ASCII to 255 characters and keeps short values whole', () => {
    expect(describeDevice({ 'x-device-model': 'm'.repeat(10_000) }).name).toBe('m'.repeat(255));
    expect(describeDevice({ 'x-device-model': 'm'.repeat(255) }).name).toBe('m'.repeat(255));
    expect(describeDevice({ 'x-device-model': 'm'.repeat(254) }).name).toBe('m'.repeat(254));
  });

  it('decodes UTF-8 bytes that Node hands over as latin1', () => {
    expect(describeDevice({ 'x-device-model': asLatin1('Galaxy Café 📱'), 'user-agent': asLatin1('Приложение/1.0') })).toEqual({
      name: 'Galaxy Café 📱',
      details: 'Приложение/1.0',
    });
  });

  it('takes a string that is already wider than latin1 as it is', () => {
    expect(describeDevice({ 'x-device-model': 'Café 📱' }).name).toBe('Café 📱');
  });

  it('removes control characters', () => {
    const dirty = 'Pix\u0000el\u0001 \u0007\u0008\u000a\u000b\u000c\u000d\u001b[31m8\u007f';
    expect(describeDevice({ 'x-device-model': dirty, 'user-agent': `ua\r\n${dirty}` })).toEqual({ name: 'Pixel [31m8', details: 'uaPixel [31m8' });
  });

  it('removes C1 control characters too (sent as UTF-8, e.g. NEL U+0085, CSI U+009B)', () => {
    const { name } = describeDevice({ 'x-device-model': asLatin1('Pix\u0085el\u009b8\u0080\u009f') });
    expect(name).toBe('Pixel8');
    expect(name).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('leaves no C0 control character or DEL in what it returns, whatever the input', () => {
    const all = Array.from({ length: 0x80 }, (_, code) => String.fromCharCode(code)).join('');
    for (const headers of [{ 'x-device-model': `m${all}`, 'user-agent': `u${all}` }, { 'user-agent': asLatin1(`u${all}`) }]) {
      const { name, details } = describeDevice(headers);
      // Tab is whitespace, not a line-breaking or terminal control; everything else must go.
      expect(name.replace(/\t/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(details.replace(/\t/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(name.startsWith('m') || name.startsWith('u')).toBe(true);
    }
  });

  it('joins a repeated header rather than dropping it', () => {
    expect(describeDevice({ 'user-agent': ['a', 'b'] })).toEqual({ name: 'a, b', details: '' });
  });
});
