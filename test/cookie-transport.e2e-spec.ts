import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { type CallHandler, Controller, type ExecutionContext, HttpCode, type INestApplication, type NestInterceptor, Post, Req, UseGuards } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DeviceStore,
  JWT_DEVICES_MIGRATIONS,
  JwtDevicesClock,
  type JwtDevicesEvent,
  type JwtDevicesModuleOptions,
  JwtDevicesModule,
  AllowPermanentToken,
  PermanentTokenGuard,
  Public,
  REQUEST_DEVICE_PROPERTY,
  REQUEST_REFRESH_PROPERTY,
  StoreUnavailableError,
} from '../lib/index.js';
import { type SetCookie, setCookies, theCookie } from './support/cookies.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { FakeClock, HOUR, SECOND } from './support/fake-clock.js';
import { ALICE, BOB, createTestApp, currentHttpAdapter, fastifyAdapter, login, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';
import { TestUsers } from './support/users.js';

/**
 * The cookie transport for browsers (`cookieTransport`, spec: issue 13): the permanent token in an
 * HttpOnly cookie scoped to the refresh route, asked for with `Permanent-Token-Transport: cookie`.
 * Pinned through HTTP, and attacked: cross-site use (CSRF), hostile cookies, logout of other devices.
 */

let t: TestApp | undefined;
let custom: { app: INestApplication; database: TestDatabase } | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
  t = undefined;
  await custom?.app.close();
  await custom?.database.drop();
  custom = undefined;
});

const SECURE_NAME = '__Secure-jwt-devices-permanent';
const PLAIN_NAME = 'jwt-devices-permanent';
const MARKER = { 'Permanent-Token-Transport': 'cookie' } as const;
const REFRESH = '/device-refresh-token/';
const REFRESH_PATH = '/device-refresh-token';
const WEEK_SECONDS = 7 * 24 * 3600;

type Reply = { status: number; headers: IncomingHttpHeaders | Record<string, unknown>; body: Record<string, unknown> };

/**
 * The attributes of a `Set-Cookie` that clears the cookie `name` at `path`: Max-Age=0 with the Path and
 * flags it was set with (a browser ignores a clear of a `__Secure-` cookie without `Secure`).
 */
function expectClearing(cookie: SetCookie, name: string, path: string, sameSite: string): void {
  expect(cookie.attributes, cookie.raw).toMatchObject({ 'max-age': '0', path, httponly: true, samesite: sameSite });
  expect(cookie.attributes.secure === true, cookie.raw).toBe(name !== PLAIN_NAME);
}

/** A response that clears the cookie `name` at `path`: empty value, Max-Age=0, same Path and flags. */
function expectCleared(response: Pick<Reply, 'headers'>, name = SECURE_NAME, path = REFRESH_PATH): void {
  const cookie = theCookie(response);
  expect(cookie).toMatchObject({ name, value: '' });
  expectClearing(cookie, name, path, 'Strict');
}

/**
 * The answer to a browser with no usable session: 200 `{token: null}`, not cached, and the cookie
 * cleared by exactly one `Set-Cookie` of its name: never one that gives it a value.
 */
function expectSignedOut(response: Pick<Reply, 'status' | 'headers' | 'body'>, name = SECURE_NAME, path = REFRESH_PATH, sameSite = 'Strict'): void {
  expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { token: null } });
  expect(response.headers['cache-control']).toBe('no-store');
  const ours = setCookies(response).filter((cookie) => cookie.name === name);
  expect(ours.map((cookie) => cookie.raw), 'exactly one Set-Cookie of the permanent-token cookie').toHaveLength(1);
  expect(ours[0]!.value, ours[0]!.raw).toBe('');
  expectClearing(ours[0]!, name, path, sameSite);
}

function expectNoCookie(response: Pick<Reply, 'headers'>): void {
  expect(response.headers['set-cookie'], 'no Set-Cookie').toBeUndefined();
}

const jwt = (token: string) => ({ Authorization: `JWT ${token}` });
const cookieOf = (value: string, name = SECURE_NAME) => ({ Cookie: `${name}=${value}` });

/** Logs in with the marker; returns the body and the cookie's value. */
async function cookieLogin(app: TestApp, user = ALICE, headers: Record<string, string> = {}): Promise<{ token: string; device_id: number; cookie: string }> {
  const response = await app.http.post('/auth-token/').set(MARKER).set(headers).send(user);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return { ...response.body, cookie: theCookie(response).value };
}

/** Refreshes from the cookie (marker, no Permanent-Token header). */
function cookieRefresh(app: TestApp, value: string, headers: Record<string, string> = {}, name = SECURE_NAME) {
  return app.http.post(REFRESH).set(MARKER).set(cookieOf(value, name)).set(headers);
}

/** A request with headers sent exactly as given (arrays become repeated header lines), which supertest cannot do. */
async function raw(app: INestApplication, method: string, path: string, headers: Record<string, string | string[]>, body?: string): Promise<Reply> {
  const server = app.getHttpServer() as Server;
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> = {};
        try {
          parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          parsed = { text };
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * An app of its own, for what createTestApp cannot set: a global prefix, an app middleware, an HTTP/2
 * Fastify server. Returns the running app (closed and its database dropped after the test).
 */
async function startCustom(setup: {
  prefix?: string;
  options?: Partial<JwtDevicesModuleOptions>;
  extras?: { path?: string };
  configure?: (app: INestApplication) => void;
  http2?: boolean;
  controllers?: (new (...args: never[]) => unknown)[];
}): Promise<INestApplication> {
  const database = await createTestDatabase();
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ ...database.options, autoLoadEntities: true, migrations: [...JWT_DEVICES_MIGRATIONS], migrationsRun: true } as TypeOrmModuleOptions),
        JwtDevicesModule.forRoot({ jwtSecret: TEST_JWT_SECRET, users: new TestUsers(), ...setup.options, database: database.options.type, ...setup.extras }),
      ],
      controllers: setup.controllers ?? [],
    })
      .overrideProvider(JwtDevicesClock)
      .useValue(new FakeClock())
      .compile();
    const fastify = currentHttpAdapter() === 'fastify';
    const adapter = setup.http2 ? new FastifyAdapter({ http2: true, routerOptions: { ignoreTrailingSlash: true } } as never) : fastifyAdapter();
    const app = fastify
      ? moduleRef.createNestApplication<NestFastifyApplication>(adapter, { logger: ['error', 'warn'] })
      : moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    if (setup.prefix) app.setGlobalPrefix(setup.prefix);
    setup.configure?.(app);
    await app.init();
    if (fastify) await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
    custom = { app, database };
    return app;
  } catch (error) {
    await database.drop();
    throw error;
  }
}

async function startPrefixed(prefix: string, options: Partial<JwtDevicesModuleOptions>, extras: { path?: string } = {}) {
  return request((await startCustom({ prefix, options, extras })).getHttpServer());
}

describe('header clients are unchanged when cookieTransport is on', () => {
  it('login without the marker: permanent_token in the body, no Set-Cookie', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const response = await t.http.post('/auth-token/').send(ALICE);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['device_id', 'permanent_token', 'token']);
    expectNoCookie(response);
  });

  it('refresh with the Permanent-Token header works as before, with and without rotation, and sets no cookie', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const { permanent_token } = await login(t);
    const plain = await t.http.post(REFRESH).set('Permanent-Token', permanent_token);
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.body)).toEqual(['token']);
    expectNoCookie(plain);
    await t.close();

    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true } });
    const first = await login(t);
    const rotated = await t.http.post(REFRESH).set('Permanent-Token', first.permanent_token);
    expect(rotated.status).toBe(200);
    expect(Object.keys(rotated.body).sort()).toEqual(['permanent_token', 'token']);
    expect(rotated.body.permanent_token).not.toBe(first.permanent_token);
    expectNoCookie(rotated);
  });

  it('a refused Permanent-Token header is still 400, marker or not, and touches no cookie: {token: null} is for cookie clients only', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true, permanentTokenReuseInterval: '10s', permanentTokenExpiration: '1h', permanentTokenExpirationAccuracy: '1m', onEvent: (event) => void events.push(event) } });
    const browser = await cookieLogin(t);
    /** With the marker (the header wins), then without; `message` is the first answer's (the second may find the device gone). */
    const refused = async (headers: Record<string, string>, message: RegExp) => {
      for (const marker of [MARKER, {}]) {
        const response = await t!.http.post(REFRESH).set(marker).set(cookieOf(browser.cookie)).set(headers);
        const first = marker === MARKER;
        expect({ marker, status: response.status, message: first ? response.body.message : '' }).toEqual({ marker, status: 400, message: first ? expect.stringMatching(message) : '' });
        expect(response.body).not.toHaveProperty('token');
        expectNoCookie(response);
      }
    };
    // No header and no marker: the cookie is not read (with the marker it is: the control at the end).
    const missing = await t.http.post(REFRESH).set(cookieOf(browser.cookie));
    expect({ status: missing.status, message: missing.body.message }).toEqual({ status: 400, message: 'The Permanent-Token header is required.' });
    expectNoCookie(missing);
    for (const value of ['AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', 'not-a-token', '']) {
      await refused({ 'Permanent-Token': value }, /./);
    }
    // Expired (and deleted) and reused after rotation (theft: revoked, events) read as before.
    const phone = await login(t);
    const rotated = await t.http.post(REFRESH).set('Permanent-Token', phone.permanent_token);
    expect(rotated.status).toBe(200);
    t.clock.advance(11 * SECOND);
    events.length = 0;
    await refused({ 'Permanent-Token': phone.permanent_token }, /stolen/);
    expect(events.map((event) => event.type)).toEqual(['device.reuse-detected', 'device.revoked']);
    t.clock.advance(2 * HOUR);
    const tablet = await login(t);
    t.clock.advance(2 * HOUR);
    await refused({ 'Permanent-Token': tablet.permanent_token }, /expired/);
    // The control: the same browser, marker and cookie, no header: signed out (its device expired meanwhile).
    expectSignedOut(await cookieRefresh(t, browser.cookie));
  });

  it('the marker on refresh: a value other than "cookie" → 400 and no cookie cleared', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    for (const value of ['header', 'cookies', '']) {
      const response = await t.http.post(REFRESH).set('Permanent-Token-Transport', value).set(cookieOf(alice.cookie));
      expect({ value, status: response.status }).toEqual({ value, status: 400 });
      expectNoCookie(response);
    }
    expect((await cookieRefresh(t, alice.cookie)).status).toBe(200);
  });

  it('marker + Permanent-Token header: the header wins (body as for header clients, no cookie read or set)', async () => {
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true } });
    const alice = await login(t);
    const bob = await cookieLogin(t, BOB);
    // Bob's cookie is also sent; the header (Alice's) decides.
    const response = await t.http.post(REFRESH).set(MARKER).set(cookieOf(bob.cookie)).set('Permanent-Token', alice.permanent_token);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['permanent_token', 'token']);
    expectNoCookie(response);
    const me = await t.http.get('/me').set(jwt(response.body.token));
    expect(me.body.device).toMatchObject({ id: alice.device_id });
    // Bob's cookie was not used (rotation would have retired it).
    expect((await cookieRefresh(t, bob.cookie)).status).toBe(200);
  });
});

describe('login with Permanent-Token-Transport: cookie', () => {
  it('answers {token, device_id} only and sets the permanent token in an HttpOnly, Secure, SameSite=Strict cookie on the refresh path', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const response = await t.http.post('/auth-token/').set(MARKER).send(ALICE);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['device_id', 'token']);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['pragma']).toBe('no-cache');
    const cookie = theCookie(response);
    expect(cookie.name).toBe(SECURE_NAME);
    expect(cookie.value).toMatch(/^[A-Za-z0-9_.-]{20,200}$/);
    expect(cookie.attributes).toEqual({ path: REFRESH_PATH, 'max-age': String(WEEK_SECONDS), httponly: true, samesite: 'Strict', secure: true });
    expect(cookie.raw).not.toMatch(/domain=|expires=/i);
    // The device list marks the browser's own device as current.
    const list = await t.http.get('/devices/').set(jwt(response.body.token));
    expect(list.body).toEqual([expect.objectContaining({ id: response.body.device_id, current: true })]);
    // The cookie holds the device's permanent token (a header client may use it too), and the JWT works.
    const rows = await t.devices();
    expect(rows.map((row) => row.id)).toEqual([response.body.device_id]);
    expect((await t.http.post(REFRESH).set('Permanent-Token', cookie.value)).status).toBe(200);
    expect((await t.http.get('/me').set(jwt(response.body.token))).body.device).toMatchObject({ id: response.body.device_id });
  });

  it('secure: false → name jwt-devices-permanent, no Secure; sameSite: lax → SameSite=Lax; a custom name is used', async () => {
    t = await createTestApp({ options: { cookieTransport: { secure: false } } });
    const insecure = theCookie(await t.http.post('/auth-token/').set(MARKER).send(ALICE));
    expect(insecure.name).toBe(PLAIN_NAME);
    expect(insecure.attributes).toEqual({ path: REFRESH_PATH, 'max-age': String(WEEK_SECONDS), httponly: true, samesite: 'Strict' });
    await t.close();

    t = await createTestApp({ options: { cookieTransport: { sameSite: 'lax', name: 'my_app.rt-1' } } });
    const lax = await t.http.post('/auth-token/').set(MARKER).send(ALICE);
    const cookie = theCookie(lax);
    expect(cookie.name).toBe('my_app.rt-1');
    expect(cookie.attributes).toMatchObject({ samesite: 'Lax', secure: true, httponly: true });
    // Refresh reads the custom name, not the default one (under which this browser has no session).
    expect((await cookieRefresh(t, cookie.value, {}, 'my_app.rt-1')).status).toBe(200);
    expectSignedOut(await cookieRefresh(t, cookie.value), 'my_app.rt-1', REFRESH_PATH, 'Lax');
  });

  it('Max-Age is permanentTokenExpiration in seconds, capped by permanentTokenMaxAge', async () => {
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenExpiration: '2h', permanentTokenExpirationAccuracy: '1m' } });
    expect(theCookie(await t.http.post('/auth-token/').set(MARKER).send(ALICE)).attributes['max-age']).toBe('7200');
    await t.close();
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenExpiration: '2h', permanentTokenExpirationAccuracy: '1m', permanentTokenMaxAge: '90m' } });
    expect(theCookie(await t.http.post('/auth-token/').set(MARKER).send(ALICE)).attributes['max-age']).toBe('5400');
    await t.close();
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenExpiration: '2h', permanentTokenExpirationAccuracy: '1m', permanentTokenMaxAge: '30d' } });
    expect(theCookie(await t.http.post('/auth-token/').set(MARKER).send(ALICE)).attributes['max-age']).toBe('7200');
  });

  it('the cookie Path follows the module path extra', async () => {
    t = await createTestApp({ options: { cookieTransport: true }, extras: { path: 'auth' } });
    const response = await t.http.post('/auth/auth-token/').set(MARKER).send(ALICE);
    const cookie = theCookie(response);
    expect(cookie.attributes.path).toBe('/auth/device-refresh-token');
    const refreshed = await t.http.post('/auth/device-refresh-token/').set(MARKER).set(cookieOf(cookie.value));
    expect(refreshed.status).toBe(200);
    expect(theCookie(refreshed).attributes.path).toBe('/auth/device-refresh-token');
  });

  it('the cookie Path follows the global prefix and the path extra, on login, refresh and clearing', async () => {
    const http = await startPrefixed('api', { cookieTransport: true }, { path: 'auth' });
    const response = await http.post('/api/auth/auth-token/').set(MARKER).send(ALICE);
    expect(response.status).toBe(200);
    const cookie = theCookie(response);
    expect(cookie.attributes.path).toBe('/api/auth/device-refresh-token');
    const refreshed = await http.post('/api/auth/device-refresh-token/').set(MARKER).set(cookieOf(cookie.value));
    expect(refreshed.status).toBe(200);
    expect(theCookie(refreshed).attributes.path).toBe('/api/auth/device-refresh-token');
    const logout = await http.delete('/api/auth/device-logout/').set(MARKER).set(jwt(response.body.token)).set('Device-Id', String(response.body.device_id));
    expect(logout.status).toBe(204);
    expectCleared(logout, SECURE_NAME, '/api/auth/device-refresh-token');
  });

  it('refuses the marker with 400 and creates no device when cookieTransport is off (login and refresh)', async () => {
    t = await createTestApp();
    const response = await t.http.post('/auth-token/').set(MARKER).send(ALICE);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/cookieTransport is off/);
    expectNoCookie(response);
    expect(await t.devices()).toEqual([]);
    const refresh = await t.http.post(REFRESH).set(MARKER).set(cookieOf('anything'));
    expect(refresh.status).toBe(400);
    expectNoCookie(refresh);
  });

  // (Trailing spaces are not tried: HTTP parsers strip them from header values.)
  it.each(['header', 'cook ie', 'cookies', 'cookie;', '', '1'])('refuses the marker value %j with 400 and creates no device', async (value) => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const response = await t.http.post('/auth-token/').set('Permanent-Token-Transport', value).send(ALICE);
    expect(response.status).toBe(400);
    expect(response.body.message).toBe('Permanent-Token-Transport must be "cookie" when sent.');
    expectNoCookie(response);
    expect(await t.devices()).toEqual([]);
  });

  it('refuses a repeated marker header (400, no device)', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const response = await raw(t.app, 'POST', '/auth-token/', { 'Content-Type': 'application/json', 'Permanent-Token-Transport': ['cookie', 'cookie'] }, JSON.stringify(ALICE));
    expect(response.status).toBe(400);
    expectNoCookie(response);
    expect(await t.devices()).toEqual([]);
  });

  it('wrong credentials with the marker: 400, no cookie, no device', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const response = await t.http.post('/auth-token/').set(MARKER).send({ username: 'alice', password: 'wrong' });
    expect(response.status).toBe(400);
    expectNoCookie(response);
    expect(await t.devices()).toEqual([]);
  });

  it('works with custom loginFields (email/secret): the route factory passes the response through', async () => {
    t = await createTestApp({ options: { cookieTransport: true }, extras: { loginFields: { username: 'email', password: 'secret' } } });
    t.users.all.push({ id: 3, username: 'carol@example.com', password: 'carol-password' });
    const response = await t.http.post('/auth-token/').set(MARKER).send({ email: 'carol@example.com', secret: 'carol-password' });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['device_id', 'token']);
    const cookie = theCookie(response);
    expect(cookie.name).toBe(SECURE_NAME);
    expect((await cookieRefresh(t, cookie.value)).status).toBe(200);
  });

  it('plain mode (permanentTokenAuth: false) with the marker: {token}, no cookie (there is no permanent token)', async () => {
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenAuth: false } });
    const response = await t.http.post('/auth-token/').set(MARKER).send(ALICE);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body)).toEqual(['token']);
    expectNoCookie(response);
  });
});

describe('refresh from the cookie', () => {
  it('answers {token} only and re-sets the same value with a fresh Max-Age; the JWT works on /me', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    t.clock.advance(HOUR);
    const response = await cookieRefresh(t, alice.cookie);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(Object.keys(response.body)).toEqual(['token']);
    expect(response.headers['cache-control']).toBe('no-store');
    const cookie = theCookie(response);
    expect(cookie).toMatchObject({ name: SECURE_NAME, value: alice.cookie });
    expect(cookie.attributes).toEqual({ path: REFRESH_PATH, 'max-age': String(WEEK_SECONDS), httponly: true, samesite: 'Strict', secure: true });
    const me = await t.http.get('/me').set(jwt(response.body.token));
    expect(me.status).toBe(200);
    expect(me.body.device).toMatchObject({ id: alice.device_id });
  });

  it('reads the cookie among others, and only under its exact name', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    const among = await t.http.post(REFRESH).set(MARKER).set('Cookie', `theme=dark; ${SECURE_NAME}=${alice.cookie}; lang=en`);
    expect(among.status).toBe(200);
    const rows = await t.devices();
    for (const header of [`x${SECURE_NAME}=${alice.cookie}`, `${SECURE_NAME}x=${alice.cookie}`, `other=${SECURE_NAME}=${alice.cookie}`, `${SECURE_NAME.toLowerCase()}=${alice.cookie}`]) {
      const response = await t.http.post(REFRESH).set(MARKER).set('Cookie', header);
      expect({ header, status: response.status, body: response.body }).toEqual({ header, status: 200, body: { token: null } });
      expectSignedOut(response);
    }
    expect(await t.devices()).toEqual(rows);
  });

  it('with permanentTokenRotation: sets a NEW value each time, never in the body; the old one within the reuse interval gets the same successor', async () => {
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true } });
    const alice = await cookieLogin(t);
    const first = await cookieRefresh(t, alice.cookie);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(['token']);
    const next = theCookie(first).value;
    expect(next).not.toBe(alice.cookie);
    expect(theCookie(first).attributes['max-age']).toBe(String(WEEK_SECONDS));
    // A second tab that sent the old cookie a moment later gets the same successor, not the old value back.
    t.clock.advance(2 * SECOND);
    const raced = await cookieRefresh(t, alice.cookie);
    expect(raced.status).toBe(200);
    expect(theCookie(raced).value).toBe(next);
    const second = await cookieRefresh(t, next);
    expect(second.status).toBe(200);
    expect(theCookie(second).value).not.toBe(next);
    expect((await t.http.get('/me').set(jwt(second.body.token))).status).toBe(200);
  });

  it('with rotation: a cookie two rotations old, within the reuse interval (a tab that raced newer refreshes), gets 409 and changes nothing; the newer cookie stays good', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true, permanentTokenReuseInterval: '10s', onEvent: (event) => void events.push(event) } });
    const alice = await cookieLogin(t);
    const first = theCookie(await cookieRefresh(t, alice.cookie)).value;
    const second = theCookie(await cookieRefresh(t, first)).value;
    t.clock.advance(2 * SECOND);
    events.length = 0;
    const rows = await t.devices();
    const raced = await cookieRefresh(t, alice.cookie);
    expect(raced.status).toBe(409);
    expect(raced.body.message).toMatch(/replaced moments ago/);
    expectNoCookie(raced); // the jar holds the newer token: never cleared by a stale request
    expect(await t.devices()).toEqual(rows);
    expect(events).toEqual([]);
    const next = await cookieRefresh(t, second);
    expect(next.status).toBe(200);
    expect(typeof next.body.token).toBe('string');
    // A header client gets the usual 400 for the same stale token.
    expect((await t.http.post(REFRESH).set('Permanent-Token', alice.cookie)).status).toBe(400);
  });

  it('with rotation: replaying an old cookie after the reuse interval revokes the device (theft detection, its events) and answers signed out', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true, permanentTokenReuseInterval: '10s', onEvent: (event) => void events.push(event) } });
    const alice = await cookieLogin(t);
    const bob = await cookieLogin(t, BOB);
    const rotated = await cookieRefresh(t, alice.cookie);
    const current = theCookie(rotated).value;
    t.clock.advance(11 * SECOND);
    events.length = 0;
    const replay = await cookieRefresh(t, alice.cookie);
    expectSignedOut(replay);
    expect((await t.devices()).map((row) => row.id)).toEqual([bob.device_id]);
    expect(events.map((event) => event.type)).toEqual(['device.reuse-detected', 'device.revoked']);
    expect(events.find((event) => event.type === 'device.revoked')).toMatchObject({ reason: 'theft', deviceId: alice.device_id, userId: '1' });
    // The legitimate holder is signed out too: its cookie is refused (and cleared), its JWT too.
    const holder = await cookieRefresh(t, current);
    expectSignedOut(holder);
    expect((await t.http.get('/me').set(jwt(rotated.body.token))).status).toBe(401);
    expect(events).toHaveLength(2);
  });

  it.each([
    ['unknown', 'AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'],
    ['garbage', 'not-a-token'],
    ['empty', ''],
    ['quoted', '"abc"'],
    ['oversized (5000 chars)', 'a'.repeat(5000)],
    ['just over the cookie limit (201 chars)', 'a'.repeat(201)],
    ['percent-encoded', '%41%42%00'],
    ['odd characters', 'a b,c\\d{}<script>'],
    ['latin-1 bytes', 'caf\xe9\xff'],
    ['an equals sign', 'abc=def'],
  ])('a %s cookie: 200 {token: null} and the cookie cleared, never 5xx', async (_label, value) => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    const rows = await t.devices();
    const response = await raw(t.app, 'POST', REFRESH, { ...MARKER, Cookie: `${SECURE_NAME}=${value}` });
    expectSignedOut(response);
    expect(await t.devices()).toEqual(rows);
    // Alice's real cookie still works (a refused cookie never touched her device).
    expect((await cookieRefresh(t, alice.cookie)).status).toBe(200);
  });

  it('a revoked device’s cookie (signed out elsewhere): 200 {token: null} and cleared', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    const phone = await login(t);
    await t.http.delete(`/devices/${alice.device_id}/`).set(jwt(phone.token)).expect(204);
    const response = await cookieRefresh(t, alice.cookie);
    expectSignedOut(response);
    expect((await t.devices()).map((row) => row.id)).toEqual([phone.device_id]);
  });

  it('an expired device’s cookie: 200 {token: null}, cleared, and the device deleted', async () => {
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenExpiration: '1h', permanentTokenExpirationAccuracy: '1m' } });
    const alice = await cookieLogin(t);
    t.clock.advance(2 * HOUR);
    const response = await cookieRefresh(t, alice.cookie);
    expectSignedOut(response);
    expect(await t.devices()).toEqual([]);
  });

  it('no cookie (marker only, or other cookies only: a first visit): 200 {token: null} and cleared', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    expectSignedOut(await t.http.post(REFRESH).set(MARKER));
    expectSignedOut(await t.http.post(REFRESH).set(MARKER).set('Cookie', 'theme=dark'));
    expect(await t.devices()).toEqual([]);
  });

  it('two cookies of the same name (one tossed by a sibling subdomain): signed out whichever is valid, in one header or two', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    const bob = await cookieLogin(t, BOB);
    for (const cookie of [
      `${SECURE_NAME}=${alice.cookie}; ${SECURE_NAME}=${bob.cookie}`,
      `${SECURE_NAME}=${alice.cookie}; ${SECURE_NAME}=${alice.cookie}`,
      `${SECURE_NAME}=${alice.cookie}; ${SECURE_NAME}=junk`,
      `${SECURE_NAME}=junk; ${SECURE_NAME}=${alice.cookie}`,
    ]) {
      const response = await t.http.post(REFRESH).set(MARKER).set('Cookie', cookie);
      expect({ cookie, status: response.status }).toEqual({ cookie, status: 200 });
      expectSignedOut(response);
    }
    const twoLines = await raw(t.app, 'POST', REFRESH, { ...MARKER, Cookie: [`${SECURE_NAME}=${alice.cookie}`, `${SECURE_NAME}=${bob.cookie}`] });
    expectSignedOut(twoLines);
    // Neither device was touched: each cookie alone still refreshes.
    expect((await cookieRefresh(t, alice.cookie)).status).toBe(200);
    expect((await cookieRefresh(t, bob.cookie)).status).toBe(200);
  });

  it('a device-store failure (503) does not clear the cookie', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    const store = t.app.get(DeviceStore);
    vi.spyOn(store, 'findByTokenHash').mockRejectedValueOnce(new StoreUnavailableError());
    const response = await cookieRefresh(t, alice.cookie);
    expect(response.status, JSON.stringify(response.body)).toBe(503);
    expectNoCookie(response);
    expect((await cookieRefresh(t, alice.cookie)).status).toBe(200);
  });

  it('a user-store failure (503) does not clear the cookie', async () => {
    // The module binds users.findUser at start-up, so the spy goes on the prototype first.
    let down = false;
    const findUser = TestUsers.prototype.findUser;
    vi.spyOn(TestUsers.prototype, 'findUser').mockImplementation(function (this: TestUsers, userId: string) {
      if (down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return findUser.call(this, userId);
    });
    const logs: string[] = [];
    const logger = { log: () => undefined, warn: (m: unknown) => void logs.push(String(m)), error: (m: unknown) => void logs.push(String(m)) };
    t = await createTestApp({ options: { cookieTransport: true }, logger });
    const alice = await cookieLogin(t);
    down = true;
    const response = await cookieRefresh(t, alice.cookie);
    expect(response.status, JSON.stringify(response.body)).toBe(503);
    expect(response.body.message).toMatch(/user store is unavailable/);
    expect(logs).toContain('users.findUser failed: Error (ECONNREFUSED)');
    expectNoCookie(response);
    down = false;
    expect((await cookieRefresh(t, alice.cookie)).status).toBe(200);
  });

  it('a cookie without the marker is never read: 400 "header required", no Set-Cookie, the device untouched', async () => {
    t = await createTestApp({ options: { cookieTransport: true, permanentTokenRotation: true } });
    const alice = await cookieLogin(t);
    t.clock.advance(HOUR);
    const rows = await t.devices();
    const response = await t.http.post(REFRESH).set(cookieOf(alice.cookie));
    expect(response.status).toBe(400);
    expect(response.body.message).toBe('The Permanent-Token header is required.');
    expectNoCookie(response);
    expect(await t.devices()).toEqual(rows);
    // A form-encoded cross-site POST (what a CSRF form sends) fares no better.
    const form = await t.http.post(REFRESH).set(cookieOf(alice.cookie)).set('Sec-Fetch-Site', 'cross-site').type('form').send('a=b');
    expect(form.status).toBe(400);
    expectNoCookie(form);
    expect(await t.devices()).toEqual(rows);
  });
});

describe('CSRF: cookie requests from other sites are refused (403) and change nothing', () => {
  const ROTATING = { cookieTransport: true, permanentTokenRotation: true } as const;

  /** Alice logged in with a cookie, an hour ago, so any refresh would rotate her token (a DB change). */
  async function aliceWithCookie(options: Partial<JwtDevicesModuleOptions> = ROTATING) {
    t = await createTestApp({ options });
    const alice = await cookieLogin(t);
    t.clock.advance(HOUR);
    return { ...alice, rows: await t.devices() };
  }

  it.each(['cross-site', 'same-site', 'unknown-value', 'Same-Origin'])('refresh with Sec-Fetch-Site: %s → 403, no Set-Cookie, no DB change', async (site) => {
    const alice = await aliceWithCookie();
    const response = await cookieRefresh(t!, alice.cookie, { 'Sec-Fetch-Site': site });
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expectNoCookie(response);
    expect(await t!.devices()).toEqual(alice.rows);
  });

  it.each(['same-origin', 'none'])('refresh with Sec-Fetch-Site: %s → 200 (and the row changes: the control)', async (site) => {
    const alice = await aliceWithCookie();
    const response = await cookieRefresh(t!, alice.cookie, { 'Sec-Fetch-Site': site });
    expect(response.status).toBe(200);
    expect(theCookie(response).value).not.toBe(alice.cookie);
    expect(await t!.devices()).not.toEqual(alice.rows);
  });

  it.each([
    ['another site', 'http://evil.example'],
    ['the host on another port', 'http://app.example:8443'],
    ['a subdomain', 'https://evil.app.example'],
    ['null (sandboxed frame, file:, redirect)', 'null'],
    ['a non-http scheme', 'file://app.example'],
    ['garbage', 'not a url'],
  ])('refresh with Origin of %s (Host app.example) → 403, no Set-Cookie, no DB change', async (_label, origin) => {
    const alice = await aliceWithCookie();
    const response = await cookieRefresh(t!, alice.cookie, { Host: 'app.example', Origin: origin });
    expect(response.status).toBe(403);
    expectNoCookie(response);
    expect(await t!.devices()).toEqual(alice.rows);
  });

  it('Origin equal to Host → 200 (default ports and either scheme)', async () => {
    const alice = await aliceWithCookie({ cookieTransport: true });
    for (const [host, origin] of [
      ['app.example', 'https://app.example'],
      ['app.example', 'http://app.example'],
      ['app.example:443', 'https://app.example'],
      ['app.example:3000', 'http://app.example:3000'],
    ] as const) {
      const response = await cookieRefresh(t!, alice.cookie, { Host: host, Origin: origin, 'Sec-Fetch-Site': 'same-origin' });
      expect({ host, origin, status: response.status }).toEqual({ host, origin, status: 200 });
    }
    // and the real one supertest sends
    const server = t!.app.getHttpServer() as Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const real = await raw(t!.app, 'POST', REFRESH, { ...MARKER, ...cookieOf(alice.cookie), Origin: `http://127.0.0.1:${port}` });
    expect(real.status).toBe(200);
  });

  it('Sec-Fetch-Site same-origin does not excuse a foreign Origin (403)', async () => {
    const alice = await aliceWithCookie();
    const response = await cookieRefresh(t!, alice.cookie, { Host: 'app.example', Origin: 'https://evil.example', 'Sec-Fetch-Site': 'same-origin' });
    expect(response.status).toBe(403);
    expect(await t!.devices()).toEqual(alice.rows);
  });

  it('a trustedOrigins origin is accepted even with Sec-Fetch-Site: cross-site; others are not', async () => {
    const alice = await aliceWithCookie({ cookieTransport: { trustedOrigins: ['https://spa.example.com'] }, permanentTokenRotation: true });
    const trusted = await cookieRefresh(t!, alice.cookie, { Host: 'api.example.com', Origin: 'https://spa.example.com', 'Sec-Fetch-Site': 'same-site' });
    expect(trusted.status).toBe(200);
    const next = theCookie(trusted).value;
    const crossSite = await cookieRefresh(t!, next, { Host: 'api.example.com', Origin: 'https://spa.example.com', 'Sec-Fetch-Site': 'cross-site' });
    expect(crossSite.status).toBe(200);
    const rows = await t!.devices();
    const latest = theCookie(crossSite).value;
    for (const origin of ['http://spa.example.com', 'https://spa.example.com:444', 'https://evil.spa.example.com', 'https://spa.example.com.evil.example']) {
      const refused = await cookieRefresh(t!, latest, { Host: 'api.example.com', Origin: origin, 'Sec-Fetch-Site': 'cross-site' });
      expect({ origin, status: refused.status }).toEqual({ origin, status: 403 });
      expectNoCookie(refused);
    }
    // Without Sec-Fetch-Site too (an older browser that sends only Origin).
    const originOnly = await cookieRefresh(t!, latest, { Host: 'api.example.com', Origin: 'https://evil.example' });
    expect(originOnly.status).toBe(403);
    expect(await t!.devices()).toEqual(rows);
  });

  it('repeated Sec-Fetch-Site or Origin headers → 403, even when every copy is acceptable', async () => {
    const alice = await aliceWithCookie({ cookieTransport: { trustedOrigins: ['https://spa.example.com'] }, permanentTokenRotation: true });
    const base = { ...MARKER, ...cookieOf(alice.cookie), Host: 'app.example' };
    for (const headers of <Record<string, string | string[]>[]>[
      { 'Sec-Fetch-Site': ['same-origin', 'same-origin'] },
      { 'Sec-Fetch-Site': ['cross-site', 'same-origin'] },
      { 'Sec-Fetch-Site': ['same-origin', 'cross-site'] },
      { Origin: ['https://app.example', 'https://app.example'] },
      { Origin: ['https://spa.example.com', 'https://spa.example.com'] },
      { Origin: ['https://evil.example', 'https://app.example'] },
      // A trusted Origin must not excuse a repeated Sec-Fetch-Site (Node joins repeats into one "a, b" string).
      { Origin: 'https://spa.example.com', 'Sec-Fetch-Site': ['same-site', 'same-site'] },
      { Origin: 'https://app.example', 'Sec-Fetch-Site': ['same-origin', 'same-origin'] },
    ]) {
      const response = await raw(t!.app, 'POST', REFRESH, { ...base, ...headers });
      expect({ headers, status: response.status }).toEqual({ headers, status: 403 });
      expectNoCookie(response);
    }
    expect(await t!.devices()).toEqual(alice.rows);
  });

  it('login with the marker from another site → 403 and NO device row (Sec-Fetch-Site or Origin)', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    for (const headers of [{ 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }, { Host: 'app.example', Origin: 'https://evil.example' }, { Origin: 'null' }]) {
      const response = await t.http.post('/auth-token/').set(MARKER).set(headers).send(ALICE);
      expect({ headers, status: response.status }).toEqual({ headers, status: 403 });
      expectNoCookie(response);
      expect(response.body).not.toHaveProperty('token');
    }
    expect(await t.devices()).toEqual([]);
    // The control: the same login from the app's own origin creates one.
    await cookieLogin(t, ALICE, { Host: 'app.example', Origin: 'https://app.example', 'Sec-Fetch-Site': 'same-origin' });
    expect(await t.devices()).toHaveLength(1);
  });

  it('a cross-site sign-out with the marker → 403, device kept', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = { ...(await cookieLogin(t)), rows: await t.devices() };
    const response = await t!.http.delete('/device-logout/').set(MARKER).set(jwt(alice.token)).set('Device-Id', String(alice.device_id)).set('Sec-Fetch-Site', 'cross-site');
    expect(response.status).toBe(403);
    expectNoCookie(response);
    expect(await t!.devices()).toEqual(alice.rows);
  });
});

describe('logout clears the cookie only when the caller’s own device goes', () => {
  async function twoDevices() {
    t = await createTestApp({ options: { cookieTransport: true } });
    const phone = await login(t);
    const browser = await cookieLogin(t);
    return { phone, browser };
  }

  it('DELETE /device-logout/ with the own Device-Id + marker → 204 and cleared', async () => {
    const { phone, browser } = await twoDevices();
    const response = await t!.http.delete('/device-logout/').set(MARKER).set(jwt(browser.token)).set('Device-Id', String(browser.device_id));
    expect(response.status).toBe(204);
    expectCleared(response);
    expect((await t!.devices()).map((row) => row.id)).toEqual([phone.device_id]);
  });

  it('DELETE /devices/<own id>/ + marker → cleared', async () => {
    const { phone, browser } = await twoDevices();
    const response = await t!.http.delete(`/devices/${browser.device_id}/`).set(MARKER).set(jwt(browser.token));
    expect(response.status).toBe(204);
    expectCleared(response);
    expect((await t!.devices()).map((row) => row.id)).toEqual([phone.device_id]);
  });

  it('DELETE /devices/ + marker → every device gone and cleared', async () => {
    const { browser } = await twoDevices();
    const response = await t!.http.delete('/devices/').set(MARKER).set(jwt(browser.token));
    expect(response.status).toBe(204);
    expectCleared(response);
    expect(await t!.devices()).toEqual([]);
  });

  it('signing out another device (by id, by Device-Id, or DELETE /devices/others/) leaves the cookie alone', async () => {
    const { phone, browser } = await twoDevices();
    const byId = await t!.http.delete(`/devices/${phone.device_id}/`).set(MARKER).set(jwt(browser.token));
    expect(byId.status).toBe(204);
    expectNoCookie(byId);
    const tablet = await login(t!);
    const byHeader = await t!.http.delete('/device-logout/').set(MARKER).set(jwt(browser.token)).set('Device-Id', String(tablet.device_id));
    expect(byHeader.status).toBe(204);
    expectNoCookie(byHeader);
    await login(t!);
    const others = await t!.http.delete('/devices/others/').set(MARKER).set(jwt(browser.token));
    expect(others.status).toBe(204);
    expectNoCookie(others);
    expect((await t!.devices()).map((row) => row.id)).toEqual([browser.device_id]);
  });

  it('without the marker, signing out the own device sets no cookie (header clients unchanged)', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const a = await cookieLogin(t);
    const b = await cookieLogin(t);
    const c = await cookieLogin(t);
    for (const response of [
      await t.http.delete('/device-logout/').set(jwt(a.token)).set('Device-Id', String(a.device_id)),
      await t.http.delete(`/devices/${b.device_id}/`).set(jwt(b.token)),
      await t.http.delete('/devices/').set(jwt(c.token)),
    ]) {
      expect(response.status).toBe(204);
      expectNoCookie(response);
    }
    expect(await t.devices()).toEqual([]);
  });

  it('a foreign device (404) changes no cookie and no row', async () => {
    t = await createTestApp({ options: { cookieTransport: true } });
    const alice = await cookieLogin(t);
    const bob = await cookieLogin(t, BOB);
    const rows = await t.devices();
    for (const response of [
      await t.http.delete(`/devices/${bob.device_id}/`).set(MARKER).set(jwt(alice.token)),
      await t.http.delete('/device-logout/').set(MARKER).set(jwt(alice.token)).set('Device-Id', String(bob.device_id)),
      await t.http.delete('/devices/999999/').set(MARKER).set(jwt(alice.token)),
    ]) {
      expect(response.status).toBe(404);
      expectNoCookie(response);
    }
    expect(await t.devices()).toEqual(rows);
  });

  it('the marker on sign-out when cookieTransport is off → 400 and nothing deleted', async () => {
    t = await createTestApp();
    const alice = await login(t);
    const response = await t.http.delete('/device-logout/').set(MARKER).set(jwt(alice.token)).set('Device-Id', String(alice.device_id));
    expect(response.status).toBe(400);
    expect(await t.devices()).toHaveLength(1);
    // Signing out the others takes the same answer, rather than deleting them for a client that misread the server.
    const other = await login(t);
    expect((await t.http.delete('/devices/others/').set(MARKER).set(jwt(alice.token))).status).toBe(400);
    expect((await t.devices()).map((device) => device.id).sort()).toEqual([alice.device_id, other.device_id].sort());
  });
});

/** An app's own refresh route, as the README describes it: `PermanentTokenGuard`, the answer on `request.jwtDeviceRefresh`. */
@Controller()
class OwnRefreshController {
  @Post('my-refresh')
  @HttpCode(200)
  @Public()
  @AllowPermanentToken()
  @UseGuards(PermanentTokenGuard)
  refresh(@Req() request: Record<string, unknown>) {
    return { refresh: request[REQUEST_REFRESH_PROPERTY], user: request.user ?? null };
  }
}

describe('the signed-out answer: only to browsers, only on the module’s refresh route', () => {
  it('leaves request.user and request.jwtDevice unset (what runs after the guard sees no one)', async () => {
    const seen: unknown[] = [];
    const recorder: NestInterceptor = {
      intercept(context: ExecutionContext, next: CallHandler) {
        const request = context.switchToHttp().getRequest<Record<string, unknown>>();
        seen.push({ user: request.user, device: request[REQUEST_DEVICE_PROPERTY] });
        return next.handle();
      },
    };
    const app = await startCustom({ options: { cookieTransport: true }, configure: (nest) => nest.useGlobalInterceptors(recorder) });
    const http = request(app.getHttpServer());
    expectSignedOut(await http.post(REFRESH).set(MARKER));
    expectSignedOut(await http.post(REFRESH).set(MARKER).set(cookieOf('junk')));
    expect(seen).toEqual([
      { user: undefined, device: undefined },
      { user: undefined, device: undefined },
    ]);
    // The control: a real cookie sets both.
    const loggedIn = await http.post('/auth-token/').set(MARKER).send(ALICE);
    const refreshed = await http.post(REFRESH).set(MARKER).set(cookieOf(theCookie(loggedIn).value));
    expect(refreshed.status).toBe(200);
    expect(seen.at(-1)).toEqual({ user: expect.objectContaining({ username: 'alice' }), device: { id: loggedIn.body.device_id, userId: '1' } });
  });

  it('an app route guarded by PermanentTokenGuard still refuses a browser without a usable cookie (400): the guard never lets no one through', async () => {
    const app = await startCustom({ options: { cookieTransport: true }, controllers: [OwnRefreshController] });
    const http = request(app.getHttpServer());
    for (const cookie of [{}, cookieOf('junk')]) {
      const response = await http.post('/my-refresh/').set(MARKER).set(cookie);
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body).not.toHaveProperty('refresh');
    }
    // The control: a header client on that route.
    const loggedIn = await http.post('/auth-token/').send(ALICE);
    const own = await http.post('/my-refresh/').set('Permanent-Token', loggedIn.body.permanent_token);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ refresh: { token: expect.any(String) }, user: { username: 'alice' } });
  });
});

describe('the cookie and the rest of the app', () => {
  it('keeps a cookie the app set earlier in the request (login, refresh and sign-out append their Set-Cookie)', async () => {
    const app = await startCustom({
      options: { cookieTransport: true },
      configure: (nest) =>
        nest.use((_req: unknown, res: { setHeader(name: string, value: string[]): void }, next: () => void) => {
          res.setHeader('Set-Cookie', ['app-session=1; Path=/; HttpOnly']);
          next();
        }),
    });
    const http = request(app.getHttpServer());
    const names = (response: Pick<Reply, 'headers'>) => setCookies(response).map((cookie) => cookie.name).sort();
    const loggedIn = await http.post('/auth-token/').set(MARKER).send(ALICE);
    expect(loggedIn.status).toBe(200);
    expect(names(loggedIn)).toEqual([SECURE_NAME, 'app-session']);
    const value = setCookies(loggedIn).find((cookie) => cookie.name === SECURE_NAME)!.value;
    const refreshed = await http.post(REFRESH).set(MARKER).set(cookieOf(value));
    expect(refreshed.status).toBe(200);
    expect(names(refreshed)).toEqual([SECURE_NAME, 'app-session']);
    const refused = await http.post(REFRESH).set(MARKER).set(cookieOf('junk'));
    expectSignedOut(refused);
    expect(names(refused)).toEqual([SECURE_NAME, 'app-session']);
    const out = await http.delete('/device-logout/').set(MARKER).set(jwt(loggedIn.body.token)).set('Device-Id', String(loggedIn.body.device_id));
    expect(out.status).toBe(204);
    expect(names(out)).toEqual([SECURE_NAME, 'app-session']);
  });

  it.runIf(currentHttpAdapter() === 'fastify')('over HTTP/2 (Fastify http2: true): a same-origin browser login and refresh are accepted, a foreign Origin is not', async () => {
    const app = await startCustom({ options: { cookieTransport: true }, http2: true });
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    const session = http2Connect(origin);
    try {
      const send = (path: string, headers: Record<string, string>, body = '') =>
        new Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }>((resolve, reject) => {
          const stream = session.request({ ':method': 'POST', ':path': path, ...(body && { 'content-type': 'application/json' }), ...headers });
          let status = 0;
          let responseHeaders: Record<string, unknown> = {};
          let text = '';
          stream.on('response', (h) => {
            status = Number(h[':status']);
            responseHeaders = h;
          });
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => (text += chunk));
          stream.on('end', () => resolve({ status, headers: responseHeaders, body: text ? JSON.parse(text) : {} }));
          stream.on('error', reject);
          stream.end(body);
        });
      const browser = { 'permanent-token-transport': 'cookie', origin, 'sec-fetch-site': 'same-origin' };
      const loggedIn = await send('/auth-token/', browser, JSON.stringify(ALICE));
      expect(loggedIn.status, JSON.stringify(loggedIn.body)).toBe(200);
      const cookie = theCookie(loggedIn);
      const refreshed = await send(REFRESH, { ...browser, cookie: `${SECURE_NAME}=${cookie.value}` });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const foreign = await send(REFRESH, { ...browser, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', cookie: `${SECURE_NAME}=${cookie.value}` });
      expect(foreign.status).toBe(403);
    } finally {
      session.close();
    }
  });
});
