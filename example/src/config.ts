import { resolve } from 'node:path';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import type { Duration, JwtDevicesModuleOptions } from 'nestjs-jwt-devices';

/** Everything the example app reads from its environment, checked once at start-up. */
export interface ExampleConfig {
  port: number;
  httpAdapter: 'express' | 'fastify';
  database: TypeOrmModuleOptions;
  jwtSecret: string;
  jwtSecretIsDefault: boolean;
  /** Logins and refreshes allowed per client and minute (`0`: no limit). */
  throttle: { loginPerMinute: number; refreshPerMinute: number };
  settings: Pick<
    JwtDevicesModuleOptions,
    | 'permanentTokenAuth'
    | 'permanentTokenExpiration'
    | 'permanentTokenExpirationAccuracy'
    | 'jwtExpiration'
    | 'permanentTokenRotation'
    | 'permanentTokenReuseInterval'
    | 'permanentTokenMaxAge'
    | 'devicesPerUser'
    | 'redis'
    | 'deviceCacheSize'
    | 'deviceCacheTtl'
    | 'cookieTransport'
  >;
}

/** Used when JWT_SECRET is unset, so `npm start` works out of the box. Never use it in production. */
const DEVELOPMENT_JWT_SECRET = 'nestjs-jwt-devices-example-development-secret-do-not-deploy';
const DEFAULT_SQLITE_FILE = resolve(import.meta.dirname, '..', 'data', 'example.sqlite');

export function readConfig(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  return {
    port: readPort(env.PORT),
    httpAdapter: readHttpAdapter(env.HTTP_ADAPTER),
    database: readDatabaseUrl(env.DATABASE_URL),
    jwtSecret: readJwtSecret(env),
    jwtSecretIsDefault: !env.JWT_SECRET,
    throttle: {
      loginPerMinute: readCount('THROTTLE_LOGIN_PER_MINUTE', env.THROTTLE_LOGIN_PER_MINUTE) ?? 10,
      refreshPerMinute: readCount('THROTTLE_REFRESH_PER_MINUTE', env.THROTTLE_REFRESH_PER_MINUTE) ?? 60,
    },
    settings: {
      permanentTokenAuth: readBoolean('JWT_PERMANENT_TOKEN_AUTH', env.JWT_PERMANENT_TOKEN_AUTH),
      permanentTokenExpiration: readDuration(env.JWT_PERMANENT_TOKEN_EXPIRATION_DELTA),
      permanentTokenExpirationAccuracy: readDuration(env.JWT_PERMANENT_TOKEN_EXPIRATION_ACCURACY),
      jwtExpiration: readDuration(env.JWT_EXPIRATION_DELTA),
      permanentTokenRotation: readBoolean('JWT_PERMANENT_TOKEN_ROTATION', env.JWT_PERMANENT_TOKEN_ROTATION),
      permanentTokenReuseInterval: readDuration(env.JWT_PERMANENT_TOKEN_REUSE_INTERVAL),
      permanentTokenMaxAge: readDuration(env.JWT_PERMANENT_TOKEN_MAX_AGE),
      devicesPerUser: readCount('JWT_DEVICES_PER_USER', env.JWT_DEVICES_PER_USER),
      redis: env.REDIS_URL ? { url: env.REDIS_URL } : undefined,
      deviceCacheSize: readCount('JWT_DEVICE_CACHE_SIZE', env.JWT_DEVICE_CACHE_SIZE),
      deviceCacheTtl: readDuration(env.JWT_DEVICE_CACHE_TTL),
      cookieTransport: readCookieTransport(env.JWT_COOKIE_SECURE),
    },
  };
}

/** JWT_SECRET, or the development secret outside production; in production a missing secret stops the app. */
function readJwtSecret(env: NodeJS.ProcessEnv): string {
  if (env.JWT_SECRET) return env.JWT_SECRET;
  if (env.NODE_ENV === 'production') {
    throw new Error('JWT_SECRET is required when NODE_ENV=production: set it to a random string of at least 32 characters.');
  }
  return DEVELOPMENT_JWT_SECRET;
}

/**
 * The page at `GET /` signs in with the cookie transport. Its cookie is `Secure` unless
 * JWT_COOKIE_SECURE=false. Chromium keeps Secure cookies from http://localhost and http://127.0.0.1
 * (the browser tests check it), so it is needed only for plain http to another host (a phone on the
 * LAN, say) or a browser that refuses Secure cookies over http://localhost.
 */
function readCookieTransport(secure: string | undefined): JwtDevicesModuleOptions['cookieTransport'] {
  return readBoolean('JWT_COOKIE_SECURE', secure) === false ? { secure: false } : true;
}

function readHttpAdapter(value: string | undefined): 'express' | 'fastify' {
  if (value === undefined || value === '' || value === 'express') return 'express';
  if (value === 'fastify') return 'fastify';
  throw new Error(`HTTP_ADAPTER must be express or fastify; got "${value}".`);
}

function readPort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`PORT must be a port number; got "${value}".`);
  return port;
}

/**
 * `sqlite:<path>`, `sqlite::memory:`, `postgres://…`, `mysql://…` or `mariadb://…`; unset → a SQLite file.
 * SQLite files run in WAL mode: readers never wait for a writer, and a commit does not fsync.
 */
export function readDatabaseUrl(url: string | undefined): TypeOrmModuleOptions {
  if (!url) return { type: 'better-sqlite3', database: DEFAULT_SQLITE_FILE, enableWAL: true };
  if (url.startsWith('sqlite:')) {
    const database = url.slice('sqlite:'.length) || ':memory:';
    return database === ':memory:' ? { type: 'better-sqlite3', database } : { type: 'better-sqlite3', database, enableWAL: true };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { type: 'postgres', url };
  // UTC on the wire: without it mysql2 stores times in the process's zone, and the module refuses to start.
  if (url.startsWith('mysql://')) return { type: 'mysql', url, timezone: 'Z' };
  if (url.startsWith('mariadb://')) return { type: 'mariadb', url: `mysql://${url.slice('mariadb://'.length)}`, timezone: 'Z' };
  throw new Error('DATABASE_URL must start with sqlite:, postgres://, mysql:// or mariadb://.');
}

function readBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`${name} must be true or false; got "${value}".`);
}

function readCount(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number; got "${value}".`);
  return Number(value);
}

/** A number of seconds or a string such as '30m'; the module validates it and names the setting when it is wrong. */
function readDuration(value: string | undefined): Duration | undefined {
  if (value === undefined || value === '') return undefined;
  return (/^\d+(\.\d+)?$/.test(value) ? Number(value) : value) as Duration;
}
