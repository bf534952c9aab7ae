import { describe, expect, it, vi } from 'vitest';
import { JwtDevicesOptionsError } from './jwt-devices.errors.js';
import { JWT_DEVICES_DEFAULTS, type JwtDevicesModuleOptions } from './jwt-devices.options.js';
import { resolveJwtDevicesOptions } from './jwt-devices.options-resolver.js';
import { InMemoryDeviceStore } from './store/in-memory-device.store.js';

const SECRET = 'a-server-secret-of-at-least-32-chars!';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function users() {
  return { findUser: (id: string) => ({ id }) };
}

function options(overrides: Record<string, unknown> = {}): JwtDevicesModuleOptions {
  return { jwtSecret: SECRET, users: users(), ...overrides } as JwtDevicesModuleOptions;
}

/** The error `resolveJwtDevicesOptions` throws for `raw`; fails the test when it throws nothing. */
function errorOf(raw: unknown): JwtDevicesOptionsError {
  try {
    resolveJwtDevicesOptions(raw as JwtDevicesModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(JwtDevicesOptionsError);
    return error as JwtDevicesOptionsError;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

function expectRejected(raw: unknown, option: string): void {
  const error = errorOf(raw);
  expect(error.option).toBe(option);
  expect(error.message).toContain(`"${option}"`);
}

describe('resolveJwtDevicesOptions', () => {
  describe('defaults', () => {
    it('documents 7d, 30m, 5m and permanentTokenAuth true', () => {
      expect(JWT_DEVICES_DEFAULTS).toMatchObject({
        permanentTokenAuth: true,
        permanentTokenExpiration: '7d',
        permanentTokenExpirationAccuracy: '30m',
        jwtExpiration: '5m',
      });
      expect(Object.isFrozen(JWT_DEVICES_DEFAULTS)).toBe(true);
    });

    it('fills the defaults in milliseconds', () => {
      const resolved = resolveJwtDevicesOptions(options());
      expect(resolved.permanentTokenAuth).toBe(true);
      expect(resolved.permanentTokenExpiration).toBe(7 * DAY);
      expect(resolved.permanentTokenExpirationAccuracy).toBe(30 * MINUTE);
      expect(resolved.jwtExpiration).toBe(5 * MINUTE);
    });

    it('falls back to the defaults for options given as undefined', () => {
      const resolved = resolveJwtDevicesOptions(
        options({
          permanentTokenAuth: undefined,
          permanentTokenExpiration: undefined,
          permanentTokenExpirationAccuracy: undefined,
          jwtExpiration: undefined,
        }),
      );
      expect(resolved.permanentTokenAuth).toBe(true);
      expect(resolved.permanentTokenExpiration).toBe(7 * DAY);
      expect(resolved.permanentTokenExpirationAccuracy).toBe(30 * MINUTE);
      expect(resolved.jwtExpiration).toBe(5 * MINUTE);
    });

    it('keeps the values it is given', () => {
      const resolved = resolveJwtDevicesOptions(
        options({ permanentTokenAuth: false, permanentTokenExpiration: '2h', permanentTokenExpirationAccuracy: 60, jwtExpiration: '1500ms' }),
      );
      expect(resolved.permanentTokenAuth).toBe(false);
      expect(resolved.permanentTokenExpiration).toBe(2 * 60 * MINUTE);
      expect(resolved.permanentTokenExpirationAccuracy).toBe(MINUTE);
      expect(resolved.jwtExpiration).toBe(1_500);
    });

    it('allows an accuracy equal to the expiration, and an accuracy of zero', () => {
      expect(resolveJwtDevicesOptions(options({ permanentTokenExpiration: '1h', permanentTokenExpirationAccuracy: '60m' })).permanentTokenExpirationAccuracy).toBe(60 * MINUTE);
      expect(resolveJwtDevicesOptions(options({ permanentTokenExpirationAccuracy: 0 })).permanentTokenExpirationAccuracy).toBe(0);
    });

    it('keeps the secret as UTF-8 bytes', () => {
      const resolved = resolveJwtDevicesOptions(options());
      expect(Buffer.isBuffer(resolved.jwtSecret)).toBe(true);
      expect(resolved.jwtSecret.equals(Buffer.from(SECRET, 'utf8'))).toBe(true);
    });

    it('does not modify the options object it is given', () => {
      const raw = options({ jwtExpiration: undefined });
      const copy = { ...raw };
      resolveJwtDevicesOptions(raw);
      expect(raw).toEqual(copy);
      expect(Object.isFrozen(raw)).toBe(false);
    });
  });

  describe('the result', () => {
    it('is frozen, and so are its users', () => {
      const resolved = resolveJwtDevicesOptions(options());
      expect(Object.isFrozen(resolved)).toBe(true);
      expect(Object.isFrozen(resolved.users)).toBe(true);
      expect(() => {
        (resolved as { jwtExpiration: number }).jwtExpiration = 1;
      }).toThrow(TypeError);
      expect(resolved.jwtExpiration).toBe(5 * MINUTE);
    });

    it('gets the user id from user.id by default', () => {
      const { users: resolved } = resolveJwtDevicesOptions(options());
      expect(resolved.getUserId({ id: 42 })).toBe(42);
      expect(resolved.getUserId({ id: 'u-1' })).toBe('u-1');
    });

    it('puts a string username into the claims by default, and nothing else', () => {
      const { users: resolved } = resolveJwtDevicesOptions(options());
      expect(resolved.getClaims({ id: 1, username: 'alice', password: 'secret', email: 'a@example.com' })).toEqual({ username: 'alice' });
      expect(resolved.getClaims({ id: 1 })).toEqual({});
      expect(resolved.getClaims({ id: 1, username: 7 })).toEqual({});
      expect(resolved.getClaims({ id: 1, username: { $ne: null } })).toEqual({});
    });

    it('has no validateUser when the app gives none', () => {
      expect(resolveJwtDevicesOptions(options()).users.validateUser).toBeUndefined();
    });

    it('calls the app hooks with the users object as `this`', async () => {
      class Users {
        readonly prefix = 'user-';
        findUser(id: string) {
          return { id: this.prefix + id };
        }
        validateUser(username: string, password: string) {
          return password === 'pw' ? { id: this.prefix + username } : null;
        }
        getUserId(user: { id: string }) {
          return `${this.prefix}${user.id}`;
        }
        getClaims(user: { id: string }) {
          return { who: this.prefix + user.id };
        }
      }
      const { users: resolved } = resolveJwtDevicesOptions(options({ users: new Users() }));
      expect(await resolved.findUser('1')).toEqual({ id: 'user-1' });
      expect(await resolved.validateUser?.('bob', 'pw')).toEqual({ id: 'user-bob' });
      expect(await resolved.validateUser?.('bob', 'nope')).toBeNull();
      expect(resolved.getUserId({ id: 'x' })).toBe('user-x');
      expect(resolved.getClaims({ id: 'x' })).toEqual({ who: 'user-x' });
    });

    it('uses the app hooks rather than the defaults', () => {
      const getUserId = vi.fn(() => 'custom');
      const getClaims = vi.fn(() => ({ role: 'admin' }));
      const { users: resolved } = resolveJwtDevicesOptions(options({ users: { ...users(), getUserId, getClaims } }));
      expect(resolved.getUserId({ id: 1 })).toBe('custom');
      expect(resolved.getClaims({ username: 'alice' })).toEqual({ role: 'admin' });
      expect(getUserId).toHaveBeenCalledTimes(1);
      expect(getClaims).toHaveBeenCalledTimes(1);
    });
  });

  describe('rejects', () => {
    it.each<[string, unknown]>([
      ['undefined', undefined],
      ['null', null],
      ['a string', 'secret'],
      ['a number', 42],
    ])('options that are %s', (_label, raw) => {
      expectRejected(raw, 'options');
    });

    it.each<[string, unknown]>([
      ['missing', undefined],
      ['empty', ''],
      ['31 characters', 'x'.repeat(31)],
      ['a number', 12345678901234567890123456789012345],
      ['a Buffer', Buffer.alloc(64, 1)],
      ['null', null],
    ])('a jwtSecret that is %s', (_label, jwtSecret) => {
      expectRejected(options({ jwtSecret }), 'jwtSecret');
    });

    it('does not echo the bad secret in the message', () => {
      const secret = 'short-but-secret-value';
      expect(errorOf(options({ jwtSecret: secret })).message).not.toContain(secret);
    });

    it('accepts a jwtSecret of exactly 32 characters', () => {
      expect(resolveJwtDevicesOptions(options({ jwtSecret: 'x'.repeat(32) })).jwtSecret.length).toBe(32);
    });

    it.each<[string, unknown]>([
      ['missing', undefined],
      ['null', null],
      ['a string', 'users'],
      ['an object without findUser', { validateUser: () => null }],
      ['an object whose findUser is not a function', { findUser: 'users' }],
    ])('users that are %s', (_label, value) => {
      expectRejected(options({ users: value }), 'users');
    });

    it.each(['validateUser', 'getUserId', 'getClaims'])('a users.%s that is not a function', (hook) => {
      for (const value of ['fn', 1, {}, null, true]) {
        expectRejected(options({ users: { ...users(), [hook]: value } }), `users.${hook}`);
      }
    });

    it.each<[string, unknown]>([
      ['a string', 'false'],
      ['a number', 0],
      ['null', null],
      ['an object', {}],
      ['a bigint', 1n],
    ])('a permanentTokenAuth that is %s', (_label, permanentTokenAuth) => {
      expectRejected(options({ permanentTokenAuth }), 'permanentTokenAuth');
    });

    it.each(['permanentTokenExpiration', 'permanentTokenExpirationAccuracy', 'jwtExpiration'])('a bad duration in %s', (option) => {
      for (const value of ['5w', '', '-1s', null, Number.NaN, -1, true]) {
        expectRejected(options({ [option]: value }), option);
      }
    });

    it('an accuracy longer than the expiration', () => {
      expectRejected(options({ permanentTokenExpiration: '1h', permanentTokenExpirationAccuracy: '61m' }), 'permanentTokenExpirationAccuracy');
      expectRejected(options({ permanentTokenExpiration: '10m' }), 'permanentTokenExpirationAccuracy');
    });

    it('a jwtExpiration under one second', () => {
      expectRejected(options({ jwtExpiration: '999ms' }), 'jwtExpiration');
      expectRejected(options({ jwtExpiration: 0.5 }), 'jwtExpiration');
      expect(resolveJwtDevicesOptions(options({ jwtExpiration: '1s' })).jwtExpiration).toBe(1_000);
    });

    it('a zero expiration', () => {
      expectRejected(options({ permanentTokenExpiration: 0, permanentTokenExpirationAccuracy: 0 }), 'permanentTokenExpiration');
      expectRejected(options({ permanentTokenExpiration: '0d', permanentTokenExpirationAccuracy: '0s' }), 'permanentTokenExpiration');
      expectRejected(options({ jwtExpiration: 0 }), 'jwtExpiration');
      expectRejected(options({ jwtExpiration: '0s' }), 'jwtExpiration');
    });
  });

  describe('cookieTransport', () => {
    const cookie = (cookieTransport: unknown) => resolveJwtDevicesOptions(options({ cookieTransport })).cookieTransport;

    it('is off (null) by default, for false and for undefined', () => {
      expect(JWT_DEVICES_DEFAULTS.cookieTransport).toBe(false);
      expect(resolveJwtDevicesOptions(options()).cookieTransport).toBeNull();
      expect(cookie(false)).toBeNull();
      expect(cookie(undefined)).toBeNull();
    });

    it('true and {} give the secure defaults: __Secure- name, Strict, Secure, no trusted origins', () => {
      for (const setting of [true, {}]) {
        const resolved = cookie(setting)!;
        expect({ ...resolved, trustedOrigins: [...resolved.trustedOrigins] }).toEqual({
          name: '__Secure-jwt-devices-permanent',
          sameSite: 'Strict',
          secure: true,
          trustedOrigins: [],
        });
        expect(Object.isFrozen(resolved)).toBe(true);
      }
    });

    it('takes null sub-options as unset (the secure defaults)', () => {
      const resolved = cookie({ name: null, sameSite: null, secure: null, trustedOrigins: null })!;
      expect({ ...resolved, trustedOrigins: [...resolved.trustedOrigins] }).toEqual({
        name: '__Secure-jwt-devices-permanent',
        sameSite: 'Strict',
        secure: true,
        trustedOrigins: [],
      });
    });

    it('secure: false drops the __Secure- prefix from the default name', () => {
      expect(cookie({ secure: false })).toMatchObject({ name: 'jwt-devices-permanent', secure: false });
    });

    it('keeps a custom name, lax, and trusted origins serialized (a trailing slash dropped)', () => {
      const resolved = cookie({ name: 'my_app.rt-1', sameSite: 'lax', trustedOrigins: ['https://spa.example.com/', 'http://localhost:5173'] })!;
      expect(resolved).toMatchObject({ name: 'my_app.rt-1', sameSite: 'Lax', secure: true });
      expect([...resolved.trustedOrigins]).toEqual(['https://spa.example.com', 'http://localhost:5173']);
      expect(cookie({ name: '__Secure-rt', secure: true })!.name).toBe('__Secure-rt');
      expect(cookie({ name: 'x'.repeat(64) })!.name).toBe('x'.repeat(64));
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['a string', 'cookie'],
      ['a number', 1],
    ])('rejects a cookieTransport that is %s', (_label, value) => {
      expectRejected(options({ cookieTransport: value }), 'cookieTransport');
    });

    it.each<[string, unknown]>([
      ['empty', ''],
      ['with a space', 'my cookie'],
      ['with ;', 'rt;Path=/'],
      ['with =', 'rt=1'],
      ['with a comma', 'a,b'],
      ['with CR LF', 'rt\r\nSet-Cookie: x'],
      ['non-ASCII', 'café'],
      ['65 characters', 'x'.repeat(65)],
      ['a number', 42],
    ])('rejects a name that is %s', (_label, name) => {
      expectRejected(options({ cookieTransport: { name } }), 'cookieTransport.name');
    });

    it.each(['__Secure-rt', '__secure-rt', '__Host-rt', '__host-rt', '__other'])('rejects the name %j with secure: false', (name) => {
      expectRejected(options({ cookieTransport: { name, secure: false } }), 'cookieTransport.name');
    });

    // Browsers store a __Host- cookie only with Path=/, and this cookie's Path is the refresh route:
    // a __Host- name would make every login's cookie vanish. Prefixes are matched case-insensitively.
    it.each(['__Host-rt', '__host-rt', '__HOST-rt'])('rejects the name %j, which browsers refuse with a Path other than /', (name) => {
      expect(errorOf(options({ cookieTransport: { name } })).message).toMatch(/__Host-/);
      expectRejected(options({ cookieTransport: { name } }), 'cookieTransport.name');
    });

    it.each<[string, unknown]>([
      ['none', 'none'],
      ['capitalized', 'Strict'],
      ['a boolean', true],
    ])('rejects a sameSite that is %s', (_label, sameSite) => {
      expectRejected(options({ cookieTransport: { sameSite } }), 'cookieTransport.sameSite');
    });

    it.each<[string, unknown]>([
      ['a string', 'false'],
      ['a number', 0],
    ])('rejects a secure that is %s', (_label, secure) => {
      expectRejected(options({ cookieTransport: { secure } }), 'cookieTransport.secure');
    });

    it.each<[string, unknown]>([
      ['a string, not an array', 'https://spa.example.com'],
      ['an object', { 'https://spa.example.com': true }],
      ['an origin with a path', ['https://spa.example.com/app']],
      ['an origin with a query', ['https://spa.example.com?x=1']],
      ['an origin with userinfo', ['https://user@spa.example.com']],
      ['a wildcard', ['*']],
      ['null (the string)', ['null']],
      ['a bare host', ['spa.example.com']],
      ['a non-http scheme', ['ftp://spa.example.com']],
      ['a file URL', ['file:///etc']],
      ['a javascript: URL', ['javascript:alert(1)']],
      ['a number', [42]],
      ['an empty string', ['']],
      ['one good, one bad', ['https://spa.example.com', 'https://evil.example/path']],
    ])('rejects trustedOrigins that are %s', (_label, trustedOrigins) => {
      expectRejected(options({ cookieTransport: { trustedOrigins } }), 'cookieTransport.trustedOrigins');
    });
  });

  describe('wiring options', () => {
    it('defaults to the guard on, no app metadata key and the TypeORM store', () => {
      expect(resolveJwtDevicesOptions(options())).toMatchObject({ permittedHeadersGuard: true, publicRouteMetadata: null, store: null });
    });

    it('keeps a string or symbol metadata key and a store that implements DeviceStore', () => {
      const key = Symbol('public');
      const store = new InMemoryDeviceStore();
      expect(resolveJwtDevicesOptions(options({ publicRouteMetadata: 'isPublic' })).publicRouteMetadata).toBe('isPublic');
      expect(resolveJwtDevicesOptions(options({ publicRouteMetadata: key, store, permittedHeadersGuard: false }))).toMatchObject({
        publicRouteMetadata: key,
        store,
        permittedHeadersGuard: false,
      });
    });

    it.each<[string, unknown]>([
      ['permittedHeadersGuard', 'yes'],
      ['allowFormLogin', 1],
      ['publicRouteMetadata', ''],
      ['publicRouteMetadata', 42],
      ['store', {}],
      ['store', { insert() {} }],
    ])('rejects %s = %j', (option, value) => {
      expectRejected(options({ [option]: value }), option);
    });

    it('names the DeviceStore methods a store lacks', () => {
      expect(errorOf(options({ store: { insert() {}, findById() {} } })).message).toMatch(/missing: findByTokenHash, .*delete/);
    });
  });
});
