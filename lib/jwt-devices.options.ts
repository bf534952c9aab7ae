import type { Duration } from './duration.js';
import type { JwtDevicesUsers } from './jwt-devices.users.js';
import type { JwtDevicesEventListener } from './jwt-devices.events.js';
import type { DeviceStore } from './store/device-store.js';

/** Connection settings of the `redis` option. */
export interface JwtDevicesRedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  /**
   * Pub/sub channel; apps sharing one Redis but not one device table need different channels.
   * @default 'jwt-devices:revoked'
   */
  channel?: string;
}

/** Settings of the `cookieTransport` option: how browsers get the permanent token in an httpOnly cookie. */
export interface JwtDevicesCookieOptions {
  /**
   * The cookie's name.
   * @default '__Secure-jwt-devices-permanent' with `secure`, else 'jwt-devices-permanent'
   */
  name?: string;
  /**
   * `SameSite`: `'strict'` (the browser never sends the cookie from another site) or `'lax'`.
   * @default 'strict'
   */
  sameSite?: 'strict' | 'lax';
  /**
   * `Secure`: the browser sends the cookie over HTTPS only. Turn it off only for plain-HTTP development;
   * browsers also accept Secure cookies from `http://localhost` and `http://127.0.0.1`.
   * @default true
   */
  secure?: boolean;
  /**
   * Origins besides the request's own (its `Host`) whose pages may use the cookie, e.g.
   * `['https://app.example.com']` for a single-page app served from another origin of the same site.
   * @default []
   */
  trustedOrigins?: string[];
}

/** Options of `JwtDevicesModule.forRoot()` / `forRootAsync()`. */
export interface JwtDevicesModuleOptions {
  /**
   * Server secret, at least 32 characters. In device mode it is mixed into every device's signing
   * key, so a copy of the device table alone cannot mint JWTs; with `permanentTokenAuth: false` it
   * signs the plain JWTs. Changing it invalidates every JWT already issued (clients simply refresh).
   */
  jwtSecret: string;

  /** How the module checks credentials and finds users. */
  users: JwtDevicesUsers;

  /**
   * `true`: every login creates a device with a permanent token (drf-jwt-devices'
   * `JWT_PERMANENT_TOKEN_AUTH`). `false`: login returns a plain `{token}` signed with `jwtSecret` and
   * creates no device.
   * @default true
   */
  permanentTokenAuth?: boolean;

  /**
   * A device idle (not refreshed) for longer than this is expired and deleted. Each refresh slides it.
   * @default '7d'
   */
  permanentTokenExpiration?: Duration;

  /**
   * `last_request_datetime` is written at most once per this window, which saves a write on most
   * refreshes. Expiry is measured from the stored value, so a device may live up to this much less
   * than `permanentTokenExpiration` after its last refresh. Must not exceed `permanentTokenExpiration`.
   * @default '30m'
   */
  permanentTokenExpirationAccuracy?: Duration;

  /**
   * Lifetime of the short JWT (drf-jwt's `JWT_EXPIRATION_DELTA`).
   * @default '5m'
   */
  jwtExpiration?: Duration;

  /**
   * How many devices each instance trusts without reading their row (no query per request). `0` turns
   * the cache off: one indexed read per request; keys derived and JWTs verified before are still remembered.
   * @default 10000
   */
  deviceCacheSize?: number;

  /**
   * How long a cached device is trusted before its row is read again. A device revoked on *this*
   * instance is refused on the very next request whatever this is; one revoked on *another* instance
   * is refused within this bound. `0` turns the cache off.
   * @default '5s'
   */
  deviceCacheTtl?: Duration;

  /**
   * Rotate the permanent token on every refresh: the answer is `{token, permanent_token}` and the old
   * token is retired. Presenting a retired token within `permanentTokenReuseInterval` returns the same
   * successor (parallel tabs and retries converge); after it, the token is taken as stolen and the
   * device is revoked at once. Off by default, because clients written for drf-jwt-devices do not
   * expect a new permanent token.
   * @default false
   */
  permanentTokenRotation?: boolean;

  /**
   * How long a rotated-out permanent token still returns its successor (see `permanentTokenRotation`).
   * @default '10s'
   */
  permanentTokenReuseInterval?: Duration;

  /**
   * Absolute lifetime of a device: it expires this long after login however active it is.
   * `null`: no limit.
   * @default null
   */
  permanentTokenMaxAge?: Duration | null;

  /**
   * Most devices one user may have. A login beyond it deletes that user's least recently used device
   * (not the new login). `null`: no limit.
   * @default null
   */
  devicesPerUser?: number | null;

  /**
   * Most devices one answer of `GET /devices/` (and `DevicesService.list()`) holds. When the user has
   * more, the answer carries `Link: </devices/?after=<id>>; rel="next"` for the rest (keyset by id).
   * At most 1000.
   * @default 100
   */
  devicesPageSize?: number;

  /**
   * Called for every device event (created, refreshed, rotated, revoked with a reason, reuse
   * detected), for audit logs and alerts. Events hold ids and reasons, never tokens. Errors it throws
   * or rejects with are logged, never passed to the request. With `@nestjs/event-emitter`:
   * `onEvent: (event) => emitter.emit(event.type, event)`.
   */
  onEvent?: JwtDevicesEventListener;

  /**
   * Share revocations between app instances over Redis pub/sub (needs the `ioredis` package): a device
   * logged out on one instance is refused on every other at once, not after `deviceCacheTtl`. When
   * Redis is unreachable, requests go on and the `deviceCacheTtl` bound applies until it is back.
   * @default null (one instance, or the deviceCacheTtl bound)
   */
  redis?: JwtDevicesRedisOptions | null;

  /**
   * Register `PermittedHeadersGuard` app-wide: a `Permanent-Token` header on any route but refresh gets
   * 400, before authentication. `false` turns it off (the guard is then a no-op).
   * @default true
   */
  permittedHeadersGuard?: boolean;

  /**
   * Accept login bodies that are not JSON (`application/x-www-form-urlencoded`, `multipart/form-data`,
   * `text/plain`). Off by default: any web page can make a visitor's browser post a form, so form logins
   * let other sites sign a visitor in to an account of their choosing (login CSRF). Refused with 415.
   * @default false
   */
  allowFormLogin?: boolean;

  /**
   * Offer browsers the permanent token in an `HttpOnly` cookie instead of the response body, so no
   * script on the page can read it. A client asks per request with the header
   * `Permanent-Token-Transport: cookie` on login, refresh and sign-out; other clients see no change.
   * Cookie requests from other sites are refused (403). See README, "Browsers".
   * @default false
   */
  cookieTransport?: boolean | JwtDevicesCookieOptions;

  /**
   * The metadata key of the app's own "public route" decorator (e.g. `'isPublic'`, as in Nest's docs),
   * honoured by `JwtDevicesGuard` beside the module's `@Public()`.
   * @default null
   */
  publicRouteMetadata?: string | symbol | null;

  /**
   * Where devices are kept. By default, the TypeORM DataSource (`dataSource` extra). Give your own
   * `DeviceStore`, or `new InMemoryDeviceStore()` in tests of your app.
   * @default a TypeOrmDeviceStore on the module's DataSource
   */
  store?: DeviceStore | null;
}

/** The options as the module uses them: validated, defaulted and frozen once at start-up. */
export interface ResolvedJwtDevicesOptions {
  readonly jwtSecret: Buffer;
  readonly users: Readonly<Required<Omit<JwtDevicesUsers, 'validateUser'>> & Pick<JwtDevicesUsers, 'validateUser'>>;
  readonly permanentTokenAuth: boolean;
  /** Milliseconds. */
  readonly permanentTokenExpiration: number;
  /** Milliseconds. */
  readonly permanentTokenExpirationAccuracy: number;
  /** Milliseconds. */
  readonly jwtExpiration: number;
  readonly deviceCacheSize: number;
  /** Milliseconds. */
  readonly deviceCacheTtl: number;
  readonly permanentTokenRotation: boolean;
  /** Milliseconds. */
  readonly permanentTokenReuseInterval: number;
  /** Milliseconds, or `null` for no limit. */
  readonly permanentTokenMaxAge: number | null;
  readonly devicesPerUser: number | null;
  readonly devicesPageSize: number;
  readonly onEvent: JwtDevicesEventListener | null;
  readonly redis: Readonly<JwtDevicesRedisOptions> | null;
  readonly permittedHeadersGuard: boolean;
  readonly allowFormLogin: boolean;
  /** `null` when off. */
  readonly cookieTransport: ResolvedCookieOptions | null;
  readonly publicRouteMetadata: string | symbol | null;
  readonly store: DeviceStore | null;
}

/** The `cookieTransport` option as the module uses it. */
export interface ResolvedCookieOptions {
  readonly name: string;
  readonly sameSite: 'Strict' | 'Lax';
  readonly secure: boolean;
  /** Serialized origins (`https://app.example.com`, no path). */
  readonly trustedOrigins: ReadonlySet<string>;
}

/** Defaults of every optional setting, as documented on {@link JwtDevicesModuleOptions}. */
export const JWT_DEVICES_DEFAULTS = Object.freeze({
  permanentTokenAuth: true,
  permanentTokenExpiration: '7d',
  permanentTokenExpirationAccuracy: '30m',
  jwtExpiration: '5m',
  deviceCacheSize: 10_000,
  deviceCacheTtl: '5s',
  permanentTokenRotation: false,
  permanentTokenReuseInterval: '10s',
  permanentTokenMaxAge: null,
  devicesPerUser: null,
  devicesPageSize: 100,
  redis: null,
  permittedHeadersGuard: true,
  allowFormLogin: false,
  cookieTransport: false,
  publicRouteMetadata: null,
  store: null,
} as const satisfies Partial<JwtDevicesModuleOptions>);
