import { parseDuration } from './duration.js';
import { describeValue, JwtDevicesOptionsError } from './jwt-devices.errors.js';
import {
  JWT_DEVICES_DEFAULTS,
  type JwtDevicesCookieOptions,
  type JwtDevicesModuleOptions,
  type JwtDevicesRedisOptions,
  type ResolvedCookieOptions,
  type ResolvedJwtDevicesOptions,
} from './jwt-devices.options.js';
import type { JwtDevicesUsers } from './jwt-devices.users.js';
import type { DeviceStore } from './store/device-store.js';

const MIN_SECRET_LENGTH = 32;
/** Largest `devicesPageSize`: one answer stays well under a megabyte. */
const MAX_DEVICES_PAGE_SIZE = 1_000;

/**
 * Validates raw options and fills in defaults. Runs once, when the module starts.
 * @throws JwtDevicesOptionsError naming the first option at fault and how to fix it.
 */
export function resolveJwtDevicesOptions(raw: JwtDevicesModuleOptions): ResolvedJwtDevicesOptions {
  if (!raw || typeof raw !== 'object') {
    throw new JwtDevicesOptionsError('options', 'must be an object such as { jwtSecret, users }.');
  }
  const options = { ...JWT_DEVICES_DEFAULTS, ...withoutUndefined(raw) };

  if (typeof options.jwtSecret !== 'string' || options.jwtSecret.length < MIN_SECRET_LENGTH) {
    throw new JwtDevicesOptionsError(
      'jwtSecret',
      `must be a string of at least ${MIN_SECRET_LENGTH} characters; generate one with ` +
        `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))".`,
    );
  }
  for (const flag of ['permanentTokenAuth', 'permanentTokenRotation', 'permittedHeadersGuard', 'allowFormLogin'] as const) {
    if (typeof options[flag] !== 'boolean') {
      throw new JwtDevicesOptionsError(flag, `must be true or false; got ${describeValue(options[flag])}.`);
    }
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new JwtDevicesOptionsError('onEvent', 'must be a function (event) => void when given.');
  }

  const permanentTokenExpiration = parseDuration(options.permanentTokenExpiration, 'permanentTokenExpiration');
  const permanentTokenExpirationAccuracy = parseDuration(options.permanentTokenExpirationAccuracy, 'permanentTokenExpirationAccuracy');
  const jwtExpiration = parseDuration(options.jwtExpiration, 'jwtExpiration');
  if (permanentTokenExpiration <= 0) {
    throw new JwtDevicesOptionsError('permanentTokenExpiration', 'must be longer than zero.');
  }
  if (jwtExpiration < 1_000) {
    throw new JwtDevicesOptionsError('jwtExpiration', 'must be at least one second: JWT times are whole seconds.');
  }
  if (permanentTokenExpirationAccuracy > permanentTokenExpiration) {
    throw new JwtDevicesOptionsError(
      'permanentTokenExpirationAccuracy',
      'must not exceed permanentTokenExpiration, or devices would expire between two writes of last_request_datetime.',
    );
  }

  if (!Number.isSafeInteger(options.deviceCacheSize) || options.deviceCacheSize < 0) {
    throw new JwtDevicesOptionsError('deviceCacheSize', `must be a whole number, 0 or more; got ${describeValue(options.deviceCacheSize)}.`);
  }
  const deviceCacheTtl = parseDuration(options.deviceCacheTtl, 'deviceCacheTtl');
  const permanentTokenReuseInterval = parseDuration(options.permanentTokenReuseInterval, 'permanentTokenReuseInterval');
  const permanentTokenMaxAge =
    options.permanentTokenMaxAge === null ? null : parseDuration(options.permanentTokenMaxAge, 'permanentTokenMaxAge');
  if (permanentTokenMaxAge === 0) throw new JwtDevicesOptionsError('permanentTokenMaxAge', 'must be longer than zero, or null for no limit.');
  const { devicesPerUser } = options;
  if (devicesPerUser !== null && (!Number.isSafeInteger(devicesPerUser) || devicesPerUser < 1)) {
    throw new JwtDevicesOptionsError('devicesPerUser', `must be a whole number, 1 or more, or null for no limit; got ${describeValue(devicesPerUser)}.`);
  }
  const { devicesPageSize } = options;
  if (!Number.isSafeInteger(devicesPageSize) || devicesPageSize < 1 || devicesPageSize > MAX_DEVICES_PAGE_SIZE) {
    throw new JwtDevicesOptionsError('devicesPageSize', `must be a whole number from 1 to ${MAX_DEVICES_PAGE_SIZE}; got ${describeValue(devicesPageSize)}.`);
  }

  return Object.freeze({
    jwtSecret: Buffer.from(options.jwtSecret, 'utf8'),
    users: resolveUsers(options.users),
    permanentTokenAuth: options.permanentTokenAuth,
    permanentTokenExpiration,
    permanentTokenExpirationAccuracy,
    jwtExpiration,
    deviceCacheSize: options.deviceCacheSize,
    deviceCacheTtl,
    permanentTokenRotation: options.permanentTokenRotation,
    permanentTokenReuseInterval,
    permanentTokenMaxAge,
    devicesPerUser,
    devicesPageSize,
    onEvent: options.onEvent ?? null,
    redis: resolveRedis(options.redis),
    permittedHeadersGuard: options.permittedHeadersGuard,
    allowFormLogin: options.allowFormLogin,
    cookieTransport: resolveCookieTransport(options.cookieTransport),
    publicRouteMetadata: resolvePublicRouteMetadata(options.publicRouteMetadata),
    store: resolveStore(options.store),
  });
}

/** A cookie name is an RFC 6265 token; keep to the characters every framework and proxy agrees on. */
const COOKIE_NAME = /^[A-Za-z0-9_.-]{1,64}$|^__(?:Secure|Host)-[A-Za-z0-9_.-]{1,56}$/;

function resolveCookieTransport(setting: boolean | JwtDevicesCookieOptions): ResolvedCookieOptions | null {
  if (setting === false) return null;
  const cookie = setting === true ? {} : setting;
  if (!cookie || typeof cookie !== 'object') {
    throw new JwtDevicesOptionsError('cookieTransport', `must be true, false or { name?, sameSite?, secure?, trustedOrigins? }; got ${describeValue(setting)}.`);
  }
  const secure = cookie.secure ?? true;
  if (typeof secure !== 'boolean') throw new JwtDevicesOptionsError('cookieTransport.secure', `must be true or false; got ${describeValue(secure)}.`);
  const name = cookie.name ?? (secure ? '__Secure-jwt-devices-permanent' : 'jwt-devices-permanent');
  if (typeof name !== 'string' || !COOKIE_NAME.test(name) || (name.startsWith('__') && !secure)) {
    throw new JwtDevicesOptionsError('cookieTransport.name', `must be a cookie name of letters, digits, '_', '.' and '-' (a __Secure- prefix needs secure: true); got ${describeValue(name)}.`);
  }
  if (/^__host-/i.test(name)) {
    // Browsers keep a __Host- cookie only with Path=/; this one's Path is the refresh route.
    throw new JwtDevicesOptionsError('cookieTransport.name', `must not start with __Host- (browsers drop a __Host- cookie whose Path is not /, and this cookie's Path is the refresh route); use __Secure-; got ${describeValue(name)}.`);
  }
  const sameSite = cookie.sameSite ?? 'strict';
  if (sameSite !== 'strict' && sameSite !== 'lax') {
    throw new JwtDevicesOptionsError('cookieTransport.sameSite', `must be 'strict' or 'lax'; got ${describeValue(sameSite)}.`);
  }
  const origins = cookie.trustedOrigins ?? [];
  if (!Array.isArray(origins)) throw new JwtDevicesOptionsError('cookieTransport.trustedOrigins', 'must be an array of origins such as "https://app.example.com".');
  const trustedOrigins = new Set(origins.map((origin) => serializedOrigin(origin)));
  return Object.freeze({ name, sameSite: sameSite === 'strict' ? 'Strict' : 'Lax', secure, trustedOrigins });
}

function serializedOrigin(origin: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof origin === 'string' ? new URL(origin) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== String(origin).replace(/\/$/, '')) {
    throw new JwtDevicesOptionsError('cookieTransport.trustedOrigins', `must list origins such as "https://app.example.com" (scheme, host and port only); got ${describeValue(origin)}.`);
  }
  return url.origin;
}

function resolvePublicRouteMetadata(key: unknown): string | symbol | null {
  if (key === null || (typeof key === 'string' && key !== '') || typeof key === 'symbol') return key;
  throw new JwtDevicesOptionsError('publicRouteMetadata', `must be a metadata key (a non-empty string or a symbol) or null; got ${describeValue(key)}.`);
}

const STORE_METHODS = ['insert', 'findById', 'findByTokenHash', 'findByPreviousTokenHash', 'touch', 'rotate', 'list', 'rename', 'idsOfUser', 'findIdle', 'delete'];

function resolveStore(store: unknown): DeviceStore | null {
  if (store === null) return null;
  const missing = STORE_METHODS.filter((method) => typeof (store as Record<string, unknown> | undefined)?.[method] !== 'function');
  if (missing.length === 0) return store as DeviceStore;
  throw new JwtDevicesOptionsError('store', `must implement DeviceStore (missing: ${missing.join(', ')}), or be null for the TypeORM store.`);
}

function resolveRedis(redis: JwtDevicesRedisOptions | null | undefined): Readonly<JwtDevicesRedisOptions> | null {
  if (redis === null || redis === undefined) return null;
  if (typeof redis !== 'object' || typeof redis.url !== 'string') {
    throw new JwtDevicesOptionsError('redis', 'must be { url: "redis://host:6379" } or null.');
  }
  let protocol: string | undefined;
  try {
    protocol = new URL(redis.url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new JwtDevicesOptionsError('redis.url', 'must be a URL such as redis://127.0.0.1:6379 (or rediss:// for TLS).');
  }
  if (redis.channel !== undefined && (typeof redis.channel !== 'string' || redis.channel === '')) {
    throw new JwtDevicesOptionsError('redis.channel', 'must be a non-empty string when given.');
  }
  return Object.freeze({ ...redis });
}

function resolveUsers(users: JwtDevicesUsers | undefined): ResolvedJwtDevicesOptions['users'] {
  if (!users || typeof users !== 'object' || typeof users.findUser !== 'function') {
    throw new JwtDevicesOptionsError(
      'users',
      'must be an object with at least findUser(userId), and validateUser(username, password) for the login route.',
    );
  }
  for (const hook of ['validateUser', 'getUserId', 'getClaims'] as const) {
    if (users[hook] !== undefined && typeof users[hook] !== 'function') {
      throw new JwtDevicesOptionsError(`users.${hook}`, 'must be a function when given.');
    }
  }
  return Object.freeze({
    validateUser: users.validateUser?.bind(users),
    findUser: users.findUser.bind(users),
    getUserId: users.getUserId?.bind(users) ?? defaultGetUserId,
    getClaims: users.getClaims?.bind(users) ?? defaultGetClaims,
  });
}

function defaultGetUserId(user: { id?: unknown }): string | number {
  return user.id as string | number;
}

function defaultGetClaims(user: { username?: unknown }): Record<string, unknown> {
  return typeof user.username === 'string' ? { username: user.username } : {};
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
