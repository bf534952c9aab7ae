/** The measured routes, the credentials they need, and the functional checks run before any load. */
import { createHmac } from 'node:crypto';
import type { Target } from './load.js';
import { BENCH_USER, JWT_SECRET } from './protocol.js';
import type { ServerHandle } from './servers.js';

export type RouteKey = 'open' | 'noop' | 'passportString' | 'passportKeyObject' | 'warm' | 'cold' | 'refresh' | 'login' | 'rawCold' | 'rawRefresh' | 'rawLogin';

/** Each database route of the module and its raw-driver baseline (bench/src/raw-driver.ts). */
export const RAW_BASELINE = { cold: 'rawCold', refresh: 'rawRefresh', login: 'rawLogin' } as const satisfies Partial<Record<RouteKey, RouteKey>>;

export interface Credentials {
  /** The module's JWT of the bench device. */
  jwt: string;
  permanentToken: string;
  deviceId: number;
  /** A plain HS256 JWT signed with the shared secret, for the passport-jwt routes. */
  passportJwt: string;
}

export interface Route {
  key: RouteKey;
  label: string;
  target(baseUrl: string, credentials: Credentials): Target;
}

const LOGIN_BODY = JSON.stringify({ username: BENCH_USER.username, password: BENCH_USER.password });

function get(path: string, authorization?: (credentials: Credentials) => string): Route['target'] {
  return (baseUrl, credentials) => ({
    url: baseUrl + path,
    method: 'GET',
    headers: authorization ? { authorization: authorization(credentials) } : ({} as Record<string, string>),
  });
}

export const ROUTES: readonly Route[] = [
  { key: 'open', label: 'unguarded GET', target: get('/open') },
  { key: 'noop', label: 'no-op guard (Nest floor)', target: get('/noop') },
  { key: 'passportString', label: 'passport-jwt, string secret', target: get('/passport-string', (c) => `Bearer ${c.passportJwt}`) },
  { key: 'passportKeyObject', label: 'passport-jwt, KeyObject secret', target: get('/passport-keyobject', (c) => `Bearer ${c.passportJwt}`) },
  { key: 'warm', label: 'JwtDevicesGuard, warm key (cached device)', target: get('/me', (c) => `Bearer ${c.jwt}`) },
  { key: 'cold', label: 'JwtDevicesGuard, cache off: 1 indexed read/req', target: get('/cold/me', (c) => `Bearer ${c.jwt}`) },
  {
    key: 'refresh',
    label: 'refresh: POST /device-refresh-token/',
    target: (baseUrl, c) => ({ url: `${baseUrl}/device-refresh-token/`, method: 'POST', headers: { 'permanent-token': c.permanentToken } }),
  },
  {
    key: 'login',
    label: 'login: POST /auth-token/ (1 INSERT)',
    target: (baseUrl) => ({
      url: `${baseUrl}/auth-token/`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-device-model': 'bench' },
      body: LOGIN_BODY,
    }),
  },
  { key: 'rawCold', label: 'raw driver: read by id + HS256 verify', target: get('/raw/cold', (c) => `Bearer ${c.jwt}`) },
  {
    key: 'rawRefresh',
    label: 'raw driver: read by hash + HS256 sign',
    target: (baseUrl, c) => ({ url: `${baseUrl}/raw/refresh`, method: 'POST', headers: { 'raw-permanent-token': c.permanentToken } }),
  },
  {
    key: 'rawLogin',
    label: 'raw driver: INSERT + HS256 sign',
    target: (baseUrl) => ({ url: `${baseUrl}/raw/login`, method: 'POST', headers: { 'content-type': 'application/json', 'x-device-model': 'bench' }, body: LOGIN_BODY }),
  },
];

export const ROUTE = Object.fromEntries(ROUTES.map((route) => [route.key, route])) as Record<RouteKey, Route>;

/** An HS256 JWT as jsonwebtoken would write it, with the module's claims, for the passport-jwt baselines. */
export function passportJwt(secret: string = JWT_SECRET): string {
  const iat = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ user_id: BENCH_USER.id, username: BENCH_USER.username, iat, exp: iat + 3600 })}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

async function call(baseUrl: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(baseUrl + path, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

/** Logs the bench user in once: the device every guarded and refresh request of this server uses. */
export async function logIn(server: ServerHandle): Promise<Credentials> {
  const { status, body } = await call(server.url, '/auth-token/', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-device-model': 'bench' },
    body: LOGIN_BODY,
  });
  if (status !== 200 || typeof body?.token !== 'string' || typeof body?.permanent_token !== 'string' || !Number.isInteger(body?.device_id)) {
    throw new Error(`${server.name}: login answered ${status} ${JSON.stringify(body)}`);
  }
  return { jwt: body.token, permanentToken: body.permanent_token, deviceId: body.device_id, passportJwt: passportJwt() };
}

/**
 * What must hold before a number means anything: each route answers 200 with the caller the guard
 * found (`request.user`, and the device for the module's guard) on this adapter, refuses what it must,
 * and the warm/cold routes send the SQL they are named for. Returns the failures.
 */
export async function checkServer(server: ServerHandle, credentials: Credentials): Promise<string[]> {
  const failures: string[] = [];
  const base = server.url;
  const expect = async (what: string, path: string, init: RequestInit, status: number, body?: unknown) => {
    const actual = await call(base, path, init).catch((error: Error) => ({ status: -1, body: error.message }));
    const bodyOk = body === undefined || JSON.stringify(actual.body) === JSON.stringify(body);
    if (actual.status !== status || !bodyOk) {
      failures.push(`${what}: expected ${status}${body === undefined ? '' : ` ${JSON.stringify(body)}`}, got ${actual.status} ${JSON.stringify(actual.body)}`);
    }
    return actual;
  };
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const me = { user: BENCH_USER.id, device: credentials.deviceId };
  const anonymous = { user: null, device: null };
  const forged = `${credentials.passportJwt.slice(0, -2)}AA`;

  await expect('GET /open', '/open', {}, 200, anonymous);
  await expect('GET /noop', '/noop', {}, 200, anonymous);
  for (const path of ['/passport-string', '/passport-keyobject']) {
    await expect(`GET ${path}`, path, bearer(credentials.passportJwt), 200, { user: BENCH_USER.id, device: null });
    await expect(`GET ${path} without a token`, path, {}, 401);
    await expect(`GET ${path} with a forged signature`, path, bearer(forged), 401);
  }
  await expect('GET /me (module guard)', '/me', bearer(credentials.jwt), 200, me);
  await expect('GET /me/ with "Authorization: JWT"', '/me/', { headers: { authorization: `JWT ${credentials.jwt}` } }, 200, me);
  await expect('GET /me without a token', '/me', {}, 401);
  await expect('GET /me with a device-less JWT', '/me', bearer(credentials.passportJwt), 401);
  await expect('GET /me with a Permanent-Token header', '/me', { headers: { ...bearer(credentials.jwt).headers, 'permanent-token': credentials.permanentToken } }, 400);
  await expect('GET /cold/me (module guard, cache off)', '/cold/me', bearer(credentials.jwt), 200, me);

  // SQL per request: none for a warm device, one read for the cache-off registration.
  const before = await server.usage();
  for (let i = 0; i < 5; i++) await call(base, '/me', bearer(credentials.jwt));
  const afterWarm = await server.usage();
  for (let i = 0; i < 5; i++) await call(base, '/cold/me', bearer(credentials.jwt));
  const afterCold = await server.usage();
  if (afterWarm.queries !== before.queries) failures.push(`warm guard sent ${afterWarm.queries - before.queries} SQL statements for 5 requests, expected 0`);
  if (afterCold.queries - afterWarm.queries !== 5) failures.push(`cache-off guard sent ${afterCold.queries - afterWarm.queries} SQL statements for 5 requests, expected 5`);

  const refreshed = await expect('POST /device-refresh-token/', '/device-refresh-token/', { method: 'POST', headers: { 'permanent-token': credentials.permanentToken } }, 200);
  if (typeof refreshed.body?.token === 'string') await expect('GET /me with the refreshed JWT', '/me', bearer(refreshed.body.token), 200, me);
  else failures.push('refresh returned no token');
  const login = await expect('POST /auth-token/', '/auth-token/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: LOGIN_BODY }, 200);
  if (typeof login.body?.permanent_token !== 'string') failures.push('login returned no permanent_token');
  await expect('POST /auth-token/ with a wrong password', '/auth-token/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: BENCH_USER.username, password: 'wrong' }) }, 400);
  await expect('GET /raw/cold (raw baseline)', '/raw/cold', bearer(credentials.jwt), 200);
  await expect('POST /raw/refresh (raw baseline)', '/raw/refresh', { method: 'POST', headers: { 'raw-permanent-token': credentials.permanentToken } }, 200);
  await expect('POST /raw/login (raw baseline)', '/raw/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: LOGIN_BODY }, 200);
  await server.prune(credentials.deviceId);
  return failures.map((failure) => `${server.name}: ${failure}`);
}
