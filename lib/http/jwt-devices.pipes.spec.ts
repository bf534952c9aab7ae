import { type ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { MAX_DEVICE_ID } from '../store/device-store.js';
import { LoginDto, MAX_CREDENTIAL_LENGTH } from './dto/login.dto.js';
import { RenameDeviceDto } from './dto/rename-device.dto.js';
import { JwtDevicesBodyPipe, ParseDeviceIdPipe } from './jwt-devices.pipes.js';

const REQUIRED = 'Must include "username" and "password".';
const TOO_LONG = `"username" and "password" must be at most ${MAX_CREDENTIAL_LENGTH} characters.`;
const UNABLE = 'Unable to log in with provided credentials.';
const SEND_NAME = 'Send {"name": "<new name>"}.';

const pipe = new JwtDevicesBodyPipe();
const bodyOf = (metatype: unknown): ArgumentMetadata => ({ type: 'body', metatype: metatype as ArgumentMetadata['metatype'] });

/** What the pipe makes of `body` as a `LoginDto`. */
const login = (body: unknown): unknown => pipe.transform(body, bodyOf(LoginDto));
/** What the pipe makes of `body` as a `RenameDeviceDto`. */
const rename = (body: unknown): unknown => pipe.transform(body, bodyOf(RenameDeviceDto));

/** The message of the 400 that `run` throws; fails the test when it throws nothing or something else. */
function badRequestMessage(run: () => unknown): string {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(BadRequestException);
  const response = (thrown as BadRequestException).getResponse() as { statusCode: number; message: unknown };
  expect(response.statusCode).toBe(400);
  expect(typeof response.message).toBe('string');
  return response.message as string;
}

/** Asserts `result` is a `DtoClass` holding exactly `fields` as own properties. */
function expectDto(result: unknown, DtoClass: new () => object, fields: Record<string, unknown>): void {
  expect(result).toBeInstanceOf(DtoClass);
  expect(Object.keys(result as object).sort()).toEqual(Object.keys(fields).sort());
  expect({ ...(result as object) }).toEqual(fields);
}

describe('JwtDevicesBodyPipe with LoginDto', () => {
  it('returns the username and password of a valid body', () => {
    expectDto(login({ username: 'alice', password: 'alice-password' }), LoginDto, { username: 'alice', password: 'alice-password' });
  });

  it('keeps only the username and password', () => {
    const result = login({ username: 'alice', password: 'pw', admin: true, __proto__: { x: 1 } });
    expectDto(result, LoginDto, { username: 'alice', password: 'pw' });
    expect((result as Record<string, unknown>).admin).toBeUndefined();
    expect((result as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(LoginDto.prototype);
  });

  it('never reads credentials from a JSON "__proto__" key, nor lets it set the prototype', () => {
    const body = JSON.parse('{"__proto__":{"username":"alice","password":"pw"}}');
    expect(Object.hasOwn(body, '__proto__')).toBe(true);
    expect(badRequestMessage(() => login(body))).toBe(REQUIRED);

    const withCredentials = JSON.parse('{"username":"alice","password":"pw","__proto__":{"admin":true},"constructor":{"name":"x"}}');
    const result = login(withCredentials);
    expectDto(result, LoginDto, { username: 'alice', password: 'pw' });
    expect(Object.getPrototypeOf(result)).toBe(LoginDto.prototype);
    expect((result as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('does not take fields inherited from the body\'s prototype', () => {
    const body = Object.create({ username: 'alice', password: 'pw' }) as object;
    expect(badRequestMessage(() => login(body))).toBe(REQUIRED);
  });

  it('passes unicode, SQL fragments and values of exactly the maximum length through untouched', () => {
    const long = 'x'.repeat(MAX_CREDENTIAL_LENGTH);
    expectDto(login({ username: 'Ålice 📱', password: "' OR 1=1 --" }), LoginDto, { username: 'Ålice 📱', password: "' OR 1=1 --" });
    expectDto(login({ username: long, password: long }), LoginDto, { username: long, password: long });
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
  ])('%s → 400 with the "must include" message', (_label, body) => {
    expect(badRequestMessage(() => login(body))).toBe(REQUIRED);
  });

  it.each<[string, unknown]>([
    ['an over-long username', { username: 'x'.repeat(MAX_CREDENTIAL_LENGTH + 1), password: 'pw' }],
    ['an over-long password', { username: 'alice', password: 'x'.repeat(MAX_CREDENTIAL_LENGTH + 1) }],
    ['100 KB values', { username: 'x'.repeat(100_000), password: 'y'.repeat(100_000) }],
  ])('%s → 400 with a message about the length', (_label, body) => {
    expect(badRequestMessage(() => login(body))).toBe(TOO_LONG);
  });

  it.each<[string, unknown]>([
    ['a NUL in the username', { username: 'alice\u0000', password: 'pw' }],
    ['a NUL in the password', { username: 'alice', password: 'alice-password\u0000' }],
    ['a lone NUL', { username: '\u0000', password: '\u0000' }],
  ])('%s → 400 with "unable to log in", never credentials', (_label, body) => {
    expect(badRequestMessage(() => login(body))).toBe(UNABLE);
  });
});

describe('JwtDevicesBodyPipe with RenameDeviceDto', () => {
  it('returns the name', () => {
    expectDto(rename({ name: 'Work phone' }), RenameDeviceDto, { name: 'Work phone' });
  });

  it('leaves cleaning and the length rule to DeviceManagement: an empty or long string passes the DTO', () => {
    expectDto(rename({ name: '' }), RenameDeviceDto, { name: '' });
    expectDto(rename({ name: 'n'.repeat(1_000) }), RenameDeviceDto, { name: 'n'.repeat(1_000) });
  });

  it('keeps only the name', () => {
    expectDto(rename({ name: 'Phone', id: 7, userId: 'bob', __proto__: { admin: true } }), RenameDeviceDto, { name: 'Phone' });
    const result = rename(JSON.parse('{"name":"Phone","__proto__":{"admin":true}}'));
    expectDto(result, RenameDeviceDto, { name: 'Phone' });
    expect(Object.getPrototypeOf(result)).toBe(RenameDeviceDto.prototype);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'Phone'],
    ['an array', ['Phone']],
    ['an empty object', {}],
    ['a number name', { name: 42 }],
    ['a null name', { name: null }],
    ['an object name', { name: { toString: 'Phone' } }],
    ['an array name', { name: ['Phone'] }],
    ['the name under __proto__', JSON.parse('{"__proto__":{"name":"Phone"}}')],
    ['another field', { title: 'Phone' }],
  ])('%s → 400 with "send a name"', (_label, body) => {
    expect(badRequestMessage(() => rename(body))).toBe(SEND_NAME);
  });
});

describe('JwtDevicesBodyPipe with other types', () => {
  it.each<[string, unknown]>([
    ['no metatype', undefined],
    ['String', String],
    ['Object', Object],
    ['a class without invalidBody', class Other {}],
  ])('leaves a value of %s untouched', (_label, metatype) => {
    const value = { username: 1, anything: 'goes' };
    expect(pipe.transform(value, bodyOf(metatype))).toBe(value);
    expect(pipe.transform('text', bodyOf(metatype))).toBe('text');
  });
});

describe('ParseDeviceIdPipe', () => {
  it.each<[unknown, number]>([
    ['1', 1],
    ['42', 42],
    ['007', 7],
    [String(MAX_DEVICE_ID), MAX_DEVICE_ID],
  ])('%j → %d', (value, id) => {
    expect(new ParseDeviceIdPipe().transform(value)).toBe(id);
  });

  it('reads an id past the largest storable one as Infinity (a 404, not a 400)', () => {
    expect(new ParseDeviceIdPipe().transform(String(MAX_DEVICE_ID + 1))).toBe(Number.POSITIVE_INFINITY);
    expect(new ParseDeviceIdPipe().transform('9'.repeat(40))).toBe(Number.POSITIVE_INFINITY);
  });

  it.each<unknown>(['0', '-1', '+1', '1.5', '1e3', '0x10', ' 1', 'abc', '', '١', ['1'], null, {}])('%j → 400 with the default message', (value) => {
    expect(badRequestMessage(() => new ParseDeviceIdPipe().transform(value))).toBe('Device id must be a positive integer.');
  });

  it('refuses an absent value with the invalid message when no "missing" message is given', () => {
    expect(badRequestMessage(() => new ParseDeviceIdPipe().transform(undefined))).toBe('Device id must be a positive integer.');
  });

  it('answers an absent value with the "missing" message, and a bad one with the "invalid" message', () => {
    const header = new ParseDeviceIdPipe({ missing: 'Send a Device-Id header.', invalid: 'Device-Id must be a device id.' });
    expect(badRequestMessage(() => header.transform(undefined))).toBe('Send a Device-Id header.');
    expect(badRequestMessage(() => header.transform('x'))).toBe('Device-Id must be a device id.');
    expect(badRequestMessage(() => header.transform(''))).toBe('Device-Id must be a device id.');
    expect(header.transform('5')).toBe(5);
  });
});
