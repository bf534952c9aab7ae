import { createHmac } from 'node:crypto';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from './support/fake-clock.js';
import { ALICE, BOB, createTestApp, currentHttpAdapter, login, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';

/*
 * Malformed and malicious input against every route of docs/CONTRACT.md. Every rejected request must get
 * its exact 4xx with Nest's error body, never a 5xx, and must leave the device table as it was.
 */

type LoginBody = { token: string; permanent_token: string; device_id: number };

const ERROR_NAMES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' };

/** Sends the request and checks that the device table is byte-for-byte the same afterwards. */
async function unchanged(t: TestApp, send: () => PromiseLike<Response>): Promise<Response> {
  const before = await t.devices();
  const response = await send();
  expect(response.status).toBeLessThan(500);
  expect(await t.devices()).toEqual(before);
  return response;
}

/**
 * Requests the HTTP framework refuses before any route runs (its body parser, its URL decoder): the
 * status is the framework's, and Fastify's body has no `error` key (and may have a `code`).
 */
function expectFrameworkError(response: Response, status: number): void {
  if (currentHttpAdapter() === 'express') return expectError(response, status);
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, message: expect.any(String) });
}
const FRAMEWORK_REFUSED = new Set([
  'malformed JSON',
  'JSON with a trailing comma',
  'single-quoted JSON',
  'an empty JSON body',
  'credentials under __proto__',
  'credentials under constructor.prototype',
]);

/** The exact status, with Nest's usual `{statusCode, message, error}` body and a non-empty message. */
function expectError(response: Response, status: number): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.body).toEqual({ statusCode: status, message: expect.any(String), error: ERROR_NAMES[status] });
  expect(response.body.message.trim()).not.toBe('');
}

/** What a client sends for UTF-8 text in a header: its bytes, one latin1 character each. */
const utf8Header = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/**
 * Logs alice in with headers sent as the exact bytes given (UTF-8 text arrives as UTF-8). Supertest
 * cannot do this: Node's client re-encodes latin1 header strings as UTF-8 when the body is a string.
 */
async function loginWithRawHeaders(t: TestApp, headers: Record<string, Buffer>): Promise<{ status: number; body: LoginBody }> {
  const server: Server = t.app.getHttpServer();
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const body = Buffer.from(JSON.stringify(ALICE));
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/auth-token/',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.toString('latin1')])),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Percent-encodes any string, lone surrogates included (they become U+FFFD). */
const encodePath = (text: string): string => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));

const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT signed by hand with `key`, with any header and payload. */
function signWith(key: Buffer | string, payload: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/** The signing key of a device, derived as the module does: HMAC-SHA256(server secret, device secret). */
async function deviceKey(t: TestApp, id: number): Promise<Buffer> {
  const row = await t.dataSource.getRepository(t.deviceEntity).findOneOrFail({ where: { id } });
  return createHmac('sha256', TEST_JWT_SECRET).update(row.jwtSecret, 'utf8').digest();
}

/** The claims the module puts in a device JWT, valid now. */
function claims(t: TestApp, userId: number, deviceId: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(t.clock.now() / 1_000);
  return { username: userId === 1 ? 'alice' : 'bob', user_id: userId, iat, exp: iat + 300, device_id: deviceId, ...extra };
}

function replaceLast(text: string): string {
  return `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
}

describe('POST /auth-token/ with hostile bodies', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    await login(t, BOB);
  });
  afterAll(() => t?.close());

  const json = (raw: string) => () => t.http.post('/auth-token/').set('Content-Type', 'application/json').send(raw);
  const body = (value: object) => () => t.http.post('/auth-token/').send(value);
  const form = (raw: string) => () => t.http.post('/auth-token/').type('form').send(raw);

  it.each<[string, () => () => PromiseLike<Response>]>([
    ['malformed JSON', () => json('{"username":"alice","password":')],
    ['JSON with a trailing comma', () => json('{"username":"alice","password":"alice-password",}')],
    ['single-quoted JSON', () => json("{'username':'alice','password':'alice-password'}")],
    ['an empty JSON body', () => json('')],
    ['a JSON array', () => json('["alice","alice-password"]')],
    ['a JSON array of the object', () => json('[{"username":"alice","password":"alice-password"}]')],
    ['a JSON string', () => json('"alice"')],
    ['a JSON number', () => json('42')],
    ['JSON null', () => json('null')],
    ['JSON true', () => json('true')],
    ['an empty object', () => body({})],
    ['a missing password', () => body({ username: 'alice' })],
    ['a missing username', () => body({ password: 'alice-password' })],
    ['a number username', () => body({ username: 1, password: 'alice-password' })],
    ['a number password', () => body({ username: 'alice', password: 12345 })],
    ['an object username (operator injection)', () => body({ username: { $ne: null }, password: 'alice-password' })],
    ['an object password (operator injection)', () => body({ username: 'alice', password: { $ne: null } })],
    ['an array username', () => body({ username: ['alice'], password: 'alice-password' })],
    ['an array password', () => body({ username: 'alice', password: ['alice-password'] })],
    ['a boolean username', () => body({ username: true, password: 'alice-password' })],
    ['a boolean password', () => body({ username: 'alice', password: true })],
    ['null fields', () => body({ username: null, password: null })],
    ['empty strings', () => body({ username: '', password: '' })],
    ['an empty password', () => body({ username: 'alice', password: '' })],
    ['a 100 KB username', () => body({ username: 'a'.repeat(100_000), password: 'alice-password' })],
    ['a 100 KB password', () => body({ username: 'alice', password: 'p'.repeat(100_000) })],
    ['a NUL byte after the username', () => body({ username: 'alice\u0000', password: 'alice-password' })],
    ['a NUL byte after the password', () => body({ username: 'alice', password: 'alice-password\u0000' })],
    ['a NUL byte inside the username', () => body({ username: 'al\u0000ice', password: 'alice-password' })],
    ['a Cyrillic username', () => body({ username: 'аlice', password: 'alice-password' })],
    ['a full-width username', () => body({ username: 'ａｌｉｃｅ', password: 'alice-password' })],
    ['an emoji username', () => body({ username: '👩‍💻', password: 'alice-password' })],
    ['a lone surrogate', () => body({ username: '\ud800', password: '\udfff' })],
    ['a right-to-left override', () => body({ username: '\u202ealice', password: 'alice-password' })],
    ['SQL in the username', () => body({ username: "' OR 1=1 --", password: 'anything' })],
    ['SQL in the password', () => body({ username: 'alice', password: "' OR '1'='1" })],
    ['SQL comment after the username', () => body({ username: "alice'--", password: 'x' })],
    ['a stacked SQL statement', () => body({ username: "alice'; DROP TABLE jwt_devices_device; --", password: 'x' })],
    ['credentials under __proto__', () => json('{"__proto__":{"username":"alice","password":"alice-password"}}')],
    ['credentials under constructor.prototype', () => json('{"constructor":{"prototype":{"username":"alice","password":"alice-password"}}}')],
    ['no body at all', () => () => t.http.post('/auth-token/')],
    ['a wrong password', () => body({ username: 'alice', password: 'wrong-password' })],
    ["another user's password", () => body({ username: 'alice', password: 'bob-password' })],
    ['a password with a trailing space', () => body({ username: 'alice', password: 'alice-password ' })],
    ['a username in capitals', () => body({ username: 'ALICE', password: 'alice-password' })],
    ['an unknown user', () => body({ username: 'mallory', password: 'mallory-password' })],
  ])('%s → 400, no device created', async (label, request) => {
    const response = await unchanged(t, request());
    (FRAMEWORK_REFUSED.has(label) ? expectFrameworkError : expectError)(response, 400);
  });

  // Login takes JSON only (login CSRF): any body a web page's form could post is a 415.
  it.each<[string, () => () => PromiseLike<Response>]>([
    ['a form with the right password', () => form('username=alice&password=alice-password')],
    ['a form with a missing password', () => form('username=alice')],
    ['a form with array fields', () => form('username[]=alice&password[]=alice-password')],
    ['a form with operator fields', () => form('username[$ne]=x&password[$ne]=x')],
    ['a form with a wrong password', () => form('username=alice&password=wrong')],
    ['an empty form', () => form('')],
    ['a text/plain body', () => () => t.http.post('/auth-token/').set('Content-Type', 'text/plain').send('{"username":"alice","password":"alice-password"}')],
  ])('%s → 415, no device created', async (_label, request) => {
    const response = await unchanged(t, request());
    expect(response.status, JSON.stringify(response.body)).toBe(415);
    expect(response.body).toMatchObject({ statusCode: 415, message: expect.any(String) });
  });

  // Express's body parser stops at 100 KB (413); Fastify's at 1 MiB, so the module's 4 KB limit answers.
  it('answers a body over the parser limit with 413 on Express, 400 on Fastify (not 5xx), and creates no device', async () => {
    const response = await unchanged(t, () => t.http.post('/auth-token/').send({ username: 'alice', password: 'p'.repeat(300_000) }));
    const status = currentHttpAdapter() === 'express' ? 413 : 400;
    expect(response.status).toBe(status);
    expect(response.body.statusCode).toBe(status);
  });

  // Express refuses an unknown Content-Encoding (415); Fastify ignores it and the module refuses the body.
  it('answers an unknown Content-Encoding with 415 (Express) or 400 (Fastify) and a broken gzip body with 400, creating no device', async () => {
    const unknown = await unchanged(t, () =>
      t.http.post('/auth-token/').set('Content-Type', 'application/json').set('Content-Encoding', 'xyz').send('{}'),
    );
    expect(unknown.status).toBe(currentHttpAdapter() === 'express' ? 415 : 400);
    const gzip = await unchanged(t, () =>
      t.http.post('/auth-token/').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('{"username":"alice"}'),
    );
    expect(gzip.status).toBe(400);
  });

  it('still logs alice in afterwards (the refusals above were not luck), creating exactly one device', async () => {
    const before = await t.devices();
    const response = await t.http.post('/auth-token/').send(ALICE);
    expect(response.status).toBe(200);
    expect(await t.devices()).toHaveLength(before.length + 1);
  });

  it('accepts a 10 000-character X-Device-Model and a 5 000-character User-Agent, cutting both to 255 characters', async () => {
    const response = await t.http
      .post('/auth-token/')
      .set('X-Device-Model', `M${'m'.repeat(9_999)}`)
      .set('User-Agent', `U${'u'.repeat(4_999)}`)
      .send(ALICE);
    expect(response.status).toBe(200);
    const row = (await t.devices()).find((device) => device.id === response.body.device_id);
    expect(row?.name).toBe(`M${'m'.repeat(254)}`);
    expect(row?.details).toBe(`U${'u'.repeat(254)}`);

    const list = await t.http.get('/devices/').set('Authorization', `Bearer ${response.body.token}`);
    expect(list.status).toBe(200);
    const listed = list.body.find((device: { id: number }) => device.id === response.body.device_id);
    expect(listed.name).toHaveLength(255);
    expect(listed.details).toHaveLength(255);
  });

  it('accepts a long X-Device-Model of emoji (sent as UTF-8), keeping exactly 255 of them', async () => {
    const response = await loginWithRawHeaders(t, {
      'x-device-model': Buffer.from('📱'.repeat(1_000), 'utf8'),
      'user-agent': Buffer.from(`Приложение/1.0 ${'é'.repeat(2_000)}`, 'utf8'),
    });
    expect(response.status).toBe(200);
    const row = (await t.devices()).find((device) => device.id === response.body.device_id);
    expect(row?.name).toBe('📱'.repeat(255));
    expect(row?.details).toBe(`Приложение/1.0 ${'é'.repeat(255 - 15)}`);
  });

  it('decodes a short UTF-8 X-Device-Model', async () => {
    const response = await loginWithRawHeaders(t, { 'x-device-model': Buffer.from('Galaxy Café 📱', 'utf8') });
    expect(response.status).toBe(200);
    const row = (await t.devices()).find((device) => device.id === response.body.device_id);
    expect(row?.name).toBe('Galaxy Café 📱');
    expect(row?.details).toBe('');
  });

  it('stores an X-Device-Model of SQL as plain text', async () => {
    const model = "Pixel'); DROP TABLE jwt_devices_device; --";
    const response = await t.http.post('/auth-token/').set('X-Device-Model', model).send(ALICE);
    expect(response.status).toBe(200);
    expect((await t.devices()).find((device) => device.id === response.body.device_id)?.name).toBe(model);
  });
});

describe('Authorization headers that must be refused', () => {
  let t: TestApp;
  let alice: LoginBody;
  let aliceOther: LoginBody;
  let bob: LoginBody;
  let deleted: LoginBody;
  let aliceKey: Buffer;
  let bobKey: Buffer;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await login(t, ALICE);
    aliceOther = await login(t, ALICE);
    bob = await login(t, BOB);
    deleted = await login(t, ALICE);
    const removal = await t.http.delete(`/devices/${deleted.device_id}/`).set('Authorization', `Bearer ${alice.token}`);
    expect(removal.status).toBe(204);
    aliceKey = await deviceKey(t, alice.device_id);
    bobKey = await deviceKey(t, bob.device_id);
  });
  afterAll(() => t?.close());

  /** Every authenticated route, each aimed at something that would change if the request got through. */
  const attempts = (authorization: string | undefined) => {
    const withAuth = <T extends { set(name: string, value: string): T }>(request: T): T =>
      authorization === undefined ? request : request.set('Authorization', authorization);
    return [
      () => withAuth(t.http.get('/devices/')),
      () => withAuth(t.http.get('/devices')),
      () => withAuth(t.http.get('/me')),
      () => withAuth(t.http.delete(`/devices/${aliceOther.device_id}/`)),
      () => withAuth(t.http.delete('/device-logout/').set('Device-Id', String(aliceOther.device_id))),
    ];
  };

  async function expectRefusedEverywhere(authorization: string | undefined): Promise<void> {
    for (const attempt of attempts(authorization)) {
      expectError(await unchanged(t, attempt), 401);
    }
  }

  it('the hand-made tokens below are well made: the same recipe with the right key and claims is accepted', async () => {
    const handMade = signWith(aliceKey, claims(t, 1, String(alice.device_id)));
    const response = await t.http.get('/me').set('Authorization', `Bearer ${handMade}`);
    expect(response.status).toBe(200);
    expect(response.body.device).toEqual({ id: alice.device_id, userId: '1' });
    const jwtScheme = await t.http.get('/devices/').set('Authorization', `JWT ${alice.token}`);
    expect(jwtScheme.status).toBe(200);
  });

  it.each<[string, (s: { alice: LoginBody; bob: LoginBody; deleted: LoginBody; aliceKey: Buffer; bobKey: Buffer }) => string | undefined]>([
    ['no Authorization header', () => undefined],
    ['an empty Authorization header', () => ''],
    ['"Bearer" alone', () => 'Bearer'],
    ['"JWT" alone', () => 'JWT'],
    ['"Basic" credentials', () => `Basic ${Buffer.from('alice:alice-password').toString('base64')}`],
    ['"Token" (DRF) scheme with a valid JWT', (s) => `Token ${s.alice.token}`],
    ['a valid JWT without a scheme', (s) => s.alice.token],
    ['a scheme glued to a valid JWT', (s) => `Bearer${s.alice.token}`],
    ['a valid JWT followed by junk', (s) => `Bearer ${s.alice.token} junk`],
    ['garbage', () => 'garbage'],
    ['Bearer garbage', () => 'Bearer garbage'],
    ['Bearer a.b.c', () => 'Bearer a.b.c'],
    ['Bearer and a 7 000-character token', () => `Bearer ${'a'.repeat(7_000)}`],
    ['the permanent token as a bearer token', (s) => `Bearer ${s.alice.permanent_token}`],
    [
      'alg none with an empty signature',
      (s) => `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ user_id: 1, device_id: String(s.alice.device_id), exp: 4_102_444_800 })}.`,
    ],
    [
      'alg none with our header bytes and an empty signature',
      (s) => `Bearer ${s.alice.token.split('.').slice(0, 2).join('.')}.`,
    ],
    ['alg HS512, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), exp: 4_102_444_800 }, { alg: 'HS512', typ: 'JWT' })}`],
    ['a kid header, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), exp: 4_102_444_800 }, { alg: 'HS256', typ: 'JWT', kid: '1' })}`],
    ["a JWT signed with the module's global secret (device mode)", (s) => `Bearer ${signWith(TEST_JWT_SECRET, { username: 'alice', user_id: 1, device_id: String(s.alice.device_id), iat: 1_767_225_600, exp: 4_102_444_800 })}`],
    ['a plain-mode JWT (no device_id) signed with the global secret', () => `Bearer ${signWith(TEST_JWT_SECRET, { username: 'alice', user_id: 1, iat: 1_767_225_600, exp: 4_102_444_800 })}`],
    ['a JWT of a deleted device', (s) => `Bearer ${s.deleted.token}`],
    ['a JWT of a deleted device, JWT scheme', (s) => `JWT ${s.deleted.token}`],
    ["alice's token edited to bob's device_id (forged, old signature)", (s) => {
      const [header, payload, signature] = s.alice.token.split('.') as [string, string, string];
      const edited = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), device_id: String(s.bob.device_id) };
      return `Bearer ${header}.${b64url(edited)}.${signature}`;
    }],
    ["bob's token edited to alice's user_id (forged, old signature)", (s) => {
      const [header, payload, signature] = s.bob.token.split('.') as [string, string, string];
      const edited = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), user_id: 1, username: 'alice' };
      return `Bearer ${header}.${b64url(edited)}.${signature}`;
    }],
    ["bob's device_id with alice's user_id, signed with bob's device key", (s) => `Bearer ${signWith(s.bobKey, { username: 'alice', user_id: 1, device_id: String(s.bob.device_id), iat: 1_767_225_600, exp: 4_102_444_800 })}`],
    ["bob's device_id with alice's user_id, signed with alice's device key", (s) => `Bearer ${signWith(s.aliceKey, { username: 'alice', user_id: 1, device_id: String(s.bob.device_id), iat: 1_767_225_600, exp: 4_102_444_800 })}`],
    ...(['0', '-1', 'abc', '1.5', '', ' 1', '99999999999999999999'] as const).map(
      (deviceId): [string, (s: { alice: LoginBody; aliceKey: Buffer }) => string] => [
        `device_id ${JSON.stringify(deviceId)}, signed with alice's device key`,
        (s) => `Bearer ${signWith(s.aliceKey, { username: 'alice', user_id: 1, device_id: deviceId, iat: 1_767_225_600, exp: 4_102_444_800 })}`,
      ],
    ),
    ...([1e30, -1, 0, 1.5, null, true, [1], { id: 1 }] as const).map(
      (deviceId): [string, (s: { alice: LoginBody; aliceKey: Buffer }) => string] => [
        `device_id ${JSON.stringify(deviceId)} (not a string), signed with alice's device key`,
        (s) => `Bearer ${signWith(s.aliceKey, { username: 'alice', user_id: 1, device_id: deviceId, iat: 1_767_225_600, exp: 4_102_444_800 })}`,
      ],
    ),
    ['no device_id, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { username: 'alice', user_id: 1, iat: 1_767_225_600, exp: 4_102_444_800 })}`],
    ['no exp, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), iat: 1_767_225_600 })}`],
    ['a string exp, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), exp: '4102444800' })}`],
    ['an exp in the past, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), exp: 1_767_225_599 })}`],
    ['an nbf in the future, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), exp: 4_102_444_800, nbf: 4_102_444_000 })}`],
    ['a string nbf, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: 1, device_id: String(s.alice.device_id), exp: 4_102_444_800, nbf: 'now' })}`],
    ['no user_id, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { device_id: String(s.alice.device_id), exp: 4_102_444_800 })}`],
    ['an object user_id, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, { user_id: { toString: 1 }, device_id: String(s.alice.device_id), exp: 4_102_444_800 })}`],
    ['a payload that is an array, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, [1, String(s.alice.device_id)])}`],
    ['a payload that is null, signed with the device key', (s) => `Bearer ${signWith(s.aliceKey, 'null')}`],
    ['a token whose signature was altered', (s) => `Bearer ${replaceLast(s.alice.token.slice(0, -4))}${s.alice.token.slice(-4)}`],
    ['a token whose last signature character was altered', (s) => `Bearer ${replaceLast(s.alice.token)}`],
    ['a token with a non-canonical signature (same bytes)', (s) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = s.alice.token.at(-1)!;
      return `Bearer ${s.alice.token.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    }],
    ['a token with an extra segment', (s) => `Bearer ${s.alice.token}.${s.alice.token.split('.')[2]}`],
    ['a token with its signature cut short', (s) => `Bearer ${s.alice.token.slice(0, -1)}`],
  ])('%s → 401 on every authenticated route, nothing changed', async (_label, make) => {
    await expectRefusedEverywhere(make({ alice, bob, deleted, aliceKey, bobKey }));
  });

  it('a token in the query string instead of the header → 401', async () => {
    expectError(await unchanged(t, () => t.http.get(`/devices/?token=${alice.token}`)), 401);
    expectError(await unchanged(t, () => t.http.get(`/me?jwt=${alice.token}`)), 401);
  });

  it("bob's own valid token cannot log out alice's device (404, device kept)", async () => {
    expectError(await unchanged(t, () => t.http.delete(`/devices/${alice.device_id}/`).set('Authorization', `Bearer ${bob.token}`)), 404);
    expectError(
      await unchanged(t, () => t.http.delete('/device-logout/').set('Authorization', `Bearer ${bob.token}`).set('Device-Id', String(alice.device_id))),
      404,
    );
  });

  it('a user who no longer exists → 401 with their still-valid token', async () => {
    const carol = { id: 3, username: 'carol', password: 'carol-password' };
    t.users.all.push(carol);
    const carolLogin = await login(t, carol);
    t.users.remove('carol');
    await expectRefusedEverywhere(`Bearer ${carolLogin.token}`);
  });
});

describe('an expired JWT', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('works until 5 minutes have passed, then gets 401 on every route, changing nothing', async () => {
    t = await createTestApp();
    const alice = await login(t, ALICE);
    const other = await login(t, ALICE);
    t.clock.advance(5 * MINUTE - 1);
    expect((await t.http.get('/me').set('Authorization', `Bearer ${alice.token}`)).status).toBe(200);
    t.clock.advance(1);
    for (const send of [
      () => t.http.get('/me').set('Authorization', `Bearer ${alice.token}`),
      () => t.http.get('/devices/').set('Authorization', `JWT ${alice.token}`),
      () => t.http.delete(`/devices/${other.device_id}/`).set('Authorization', `Bearer ${alice.token}`),
      () => t.http.delete('/device-logout/').set('Authorization', `Bearer ${alice.token}`).set('Device-Id', String(other.device_id)),
    ]) {
      const response = await unchanged(t, send);
      expectError(response, 401);
      expect(response.body.message).toMatch(/expired/i);
    }
    t.clock.advance(10 * MINUTE);
    expectError(await unchanged(t, () => t.http.get('/me').set('Authorization', `Bearer ${alice.token}`)), 401);
  });
});

describe('DELETE /device-logout/ with hostile Device-Id headers', () => {
  let t: TestApp;
  let alice: LoginBody;
  let aliceOther: LoginBody;
  let bob: LoginBody;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await login(t, ALICE);
    aliceOther = await login(t, ALICE);
    bob = await login(t, BOB);
  });
  afterAll(() => t?.close());

  const logout = (deviceId?: string | string[]) => () => {
    const request = t.http.delete('/device-logout/').set('Authorization', `Bearer ${alice.token}`);
    // An array sends the header once per value (superagent's types only admit that for Cookie).
    return deviceId === undefined ? request : request.set('Device-Id', deviceId as string);
  };

  it.each<[string, string | string[] | undefined]>([
    ['missing', undefined],
    ['empty', ''],
    ['abc', 'abc'],
    ['0', '0'],
    ['00', '00'],
    ['-5', '-5'],
    ['+1', '+1'],
    ['1.5', '1.5'],
    ['1e3', '1e3'],
    ['0x10', '0x10'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['an SQL fragment', '1 OR 1=1'],
    ['a stacked SQL statement', '1; DROP TABLE jwt_devices_device'],
    ['JSON', '{"id":1}'],
    ['a UTF-8 full-width digit', utf8Header('１')],
    ['two ids', '1, 2'],
    ['the header twice', ['1', '2']],
    ['10 000 characters', 'x'.repeat(10_000)],
  ])('%s → 400, nothing deleted', async (_label, deviceId) => {
    expectError(await unchanged(t, logout(deviceId)), 400);
  });

  it.each<[string, () => string]>([
    ['99999999999999999999', () => '99999999999999999999'],
    ['2147483648 (one past the largest id)', () => '2147483648'],
    ['a positive id that does not exist', () => String(bob.device_id + 1_000)],
    ["bob's device", () => String(bob.device_id)],
  ])('%s → 404, nothing deleted', async (_label, deviceId) => {
    expectError(await unchanged(t, logout(deviceId())), 404);
  });

  it('a positive integer of 40 digits → 404 (a positive integer that does not exist), nothing deleted', async () => {
    expectError(await unchanged(t, logout('9'.repeat(40))), 404);
  });

  it("leaves bob's device usable after alice tried to log it out", async () => {
    expect((await t.devices()).some((device) => device.id === bob.device_id)).toBe(true);
    expect((await t.http.get('/me').set('Authorization', `Bearer ${bob.token}`)).status).toBe(200);
  });

  it('still logs out a device of alice given a good Device-Id (positive control)', async () => {
    const response = await t.http.delete('/device-logout/').set('Authorization', `Bearer ${alice.token}`).set('Device-Id', String(aliceOther.device_id));
    expect(response.status).toBe(204);
    expect((await t.devices()).map((device) => device.id)).toEqual([alice.device_id, bob.device_id].sort((a, b) => a - b));
  });
});

describe('DELETE /devices/:id/ with hostile ids', () => {
  let t: TestApp;
  let alice: LoginBody;
  let bob: LoginBody;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await login(t, ALICE);
    await login(t, ALICE);
    bob = await login(t, BOB);
  });
  afterAll(() => t?.close());

  const remove = (path: string) => () => t.http.delete(path).set('Authorization', `Bearer ${alice.token}`);

  it.each([
    ['abc', '/devices/abc/'],
    ['0', '/devices/0/'],
    ['-1', '/devices/-1/'],
    ['1.5', '/devices/1.5/'],
    ['1e3', '/devices/1e3/'],
    ['%00', '/devices/%00/'],
    ['%20 (a space)', '/devices/%20/'],
    ['%', '/devices/%/'],
    ['an invalid UTF-8 escape', '/devices/%C0%AF/'],
    ['a full-width digit', '/devices/%EF%BC%91/'],
    ['an encoded slash', '/devices/1%2F2/'],
    ['1;DROP TABLE jwt_devices_device', '/devices/1;DROP%20TABLE%20jwt_devices_device/'],
    ['1;DROP TABLE jwt_devices_device, encoded', `/devices/${encodeURIComponent('1;DROP TABLE jwt_devices_device')}/`],
    ["1' OR '1'='1", `/devices/${encodeURIComponent("1' OR '1'='1")}`],
    ['without the trailing slash', '/devices/abc'],
  ])('%s → 400, nothing deleted', async (label, path) => {
    // Fastify's router refuses URLs it cannot decode before any route runs.
    const byFramework = label === '%' || label === 'an invalid UTF-8 escape';
    (byFramework ? expectFrameworkError : expectError)(await unchanged(t, remove(path)), 400);
  });

  it.each<[string, () => string]>([
    ['99999999999999999999', () => '/devices/99999999999999999999/'],
    ['2147483648', () => '/devices/2147483648/'],
    ['a positive id that does not exist', () => `/devices/${bob.device_id + 1_000}/`],
    ["bob's device", () => `/devices/${bob.device_id}/`],
    ["bob's device, no trailing slash", () => `/devices/${bob.device_id}`],
    ['an empty id', () => '/devices//'],
  ])('%s → 404, nothing deleted', async (_label, path) => {
    expectError(await unchanged(t, remove(path())), 404);
  });

  it('a positive integer of 40 digits → 404 (a positive integer that does not exist), nothing deleted', async () => {
    expectError(await unchanged(t, remove(`/devices/${'9'.repeat(40)}/`)), 404);
  });

  it("leaves bob's device in place", async () => {
    expect((await t.devices()).filter((device) => device.userId === '2').map((device) => device.id)).toEqual([bob.device_id]);
  });
});

describe('POST /device-refresh-token/ with hostile Permanent-Token headers', () => {
  let t: TestApp;
  let alice: LoginBody;
  let bob: LoginBody;
  let bobHash: string;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await login(t, ALICE);
    bob = await login(t, BOB);
    bobHash = (await t.devices()).find((device) => device.id === bob.device_id)!.permanentTokenHash;
  });
  afterAll(() => t?.close());

  const refresh = (value?: string | string[]) => () => {
    const request = t.http.post('/device-refresh-token/');
    // An array sends the header once per value (superagent's types only admit that for Cookie).
    return value === undefined ? request : request.set('Permanent-Token', value as string);
  };

  it.each<[string, () => string | string[] | undefined]>([
    ['missing', () => undefined],
    ['empty', () => ''],
    ['10 000 characters', () => 'x'.repeat(10_000)],
    ['a random string', () => 'not-a-permanent-token'],
    ['a well-formed but unknown token', () => Buffer.alloc(32, 7).toString('base64url')],
    ["another device's stored token hash", () => bobHash],
    ["the stored hash in upper case", () => bobHash.toUpperCase()],
    ['a valid token with one character changed', () => replaceLast(alice.permanent_token)],
    ['a valid token cut short', () => alice.permanent_token.slice(0, -1)],
    ['a valid token with a character added', () => `${alice.permanent_token}A`],
    ['a valid token sent twice in one header', () => `${alice.permanent_token}, ${alice.permanent_token}`],
    ['a valid token sent as two headers', () => [alice.permanent_token, alice.permanent_token]],
    ['a valid token with a Bearer prefix', () => `Bearer ${alice.permanent_token}`],
    ['a JWT', () => alice.token],
    ['an SQL fragment', () => "' OR 1=1 --"],
    ['unicode (as UTF-8)', () => utf8Header('🔑'.repeat(20))],
  ])('%s → 400, nothing changed', async (_label, value) => {
    expectError(await unchanged(t, refresh(value())), 400);
  });

  it('a valid permanent token in the Authorization header instead → 400', async () => {
    expectError(await unchanged(t, () => t.http.post('/device-refresh-token/').set('Authorization', `Bearer ${alice.permanent_token}`)), 400);
  });

  it('accepts the real token afterwards, with the header name in any case (positive control)', async () => {
    for (const name of ['Permanent-Token', 'permanent-token', 'PERMANENT-TOKEN', 'pErMaNeNt-ToKeN']) {
      const response = await t.http.post('/device-refresh-token').set(name, alice.permanent_token);
      expect(response.status).toBe(200);
      expect(typeof response.body.token).toBe('string');
    }
  });
});

describe('the Permanent-Token header on every other route', () => {
  let t: TestApp;
  let alice: LoginBody;
  let aliceOther: LoginBody;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await login(t, ALICE);
    aliceOther = await login(t, ALICE);
  });
  afterAll(() => t?.close());

  const routes: [string, () => ReturnType<TestApp['http']['get']>][] = [
    ['POST /auth-token/ (valid credentials)', () => t.http.post('/auth-token/').send(ALICE)],
    ['POST /auth-token (valid credentials)', () => t.http.post('/auth-token').send(ALICE)],
    ['DELETE /device-logout/', () => t.http.delete('/device-logout/').set('Device-Id', String(aliceOther.device_id))],
    ['GET /devices/', () => t.http.get('/devices/')],
    ['GET /devices', () => t.http.get('/devices')],
    ['DELETE /devices/:id/', () => t.http.delete(`/devices/${aliceOther.device_id}/`)],
    ['GET /public', () => t.http.get('/public')],
    ['POST /public', () => t.http.post('/public').send({})],
    ['GET /me', () => t.http.get('/me')],
  ];
  const headerNames = ['Permanent-Token', 'permanent-token', 'PERMANENT-TOKEN', 'pErMaNeNt-tOkEn'];

  it.each(routes)('%s → 400, with or without a valid JWT, whatever the header case or value', async (_label, route) => {
    let cases = 0;
    for (const withJwt of [false, true]) {
      for (const [index, name] of headerNames.entries()) {
        const value = [() => alice.permanent_token, () => 'garbage', () => '', () => alice.token][index]!();
        const response = await unchanged(t, () => {
          const request = route().set(name, value);
          return withJwt ? request.set('Authorization', `Bearer ${alice.token}`) : request;
        });
        expectError(response, 400);
        expect(response.body.message).toMatch(/Permanent-Token/);
        cases += 1;
      }
    }
    expect(cases).toBe(8);
  });

  it('the same requests without the header go through (positive control)', async () => {
    expect((await t.http.get('/public')).status).toBe(200);
    expect((await t.http.post('/public').send({})).status).toBe(201);
    expect((await t.http.get('/me').set('Authorization', `Bearer ${alice.token}`)).status).toBe(200);
    expect((await t.http.get('/devices/').set('Authorization', `Bearer ${alice.token}`)).status).toBe(200);
  });
});

/** Mulberry32: a tiny seeded PRNG, so a failure here replays exactly. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('random hostile requests (seeded)', () => {
  const SEED = 0x5eed_2026;
  const CASES = 300;
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it(`${CASES} random requests: never a 5xx, and the device count changes only by successful logins and deletes`, async () => {
    const random = mulberry32(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const chance = (p: number): boolean => random() < p;

    const hostile: readonly string[] = [
      '',
      ' ',
      'A'.repeat(10_000),
      '9'.repeat(1_000),
      'é'.repeat(3_000),
      '📱'.repeat(500),
      'Ω≈ç√∫˜µ≤≥÷',
      '\u202eevil\u202c',
      '\u200b\u200c\u200d\ufeff',
      'Z̷̢͓̈́a̵̹̓l̸̡̛g̷̱̈o̶̗͐',
      '\ud800',
      "' OR 1=1 --",
      "1; DROP TABLE jwt_devices_device; --",
      '" OR ""="',
      "admin'--",
      '1 UNION SELECT * FROM jwt_devices_device',
      '{"username":"alice","password":"alice-password"}',
      '[]',
      'null',
      '{"__proto__":{"admin":true}}',
      '\u0001\u0002\u0003\u001b[2J\u007f',
      '\r\n\r\nGET / HTTP/1.1',
      '\t',
      '0',
      '-1',
      '1',
      '2',
      '3',
      '1.5',
      '1e3',
      '0x1',
      'NaN',
      'Infinity',
      '99999999999999999999',
      '2147483648',
      'Bearer',
      'Bearer ',
      'JWT x.y.z',
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..',
      `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ user_id: 1, device_id: '1', exp: 4_102_444_800 })}.`,
      `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${b64url({ user_id: 1, device_id: '1', exp: 4_102_444_800 })}.${'A'.repeat(43)}`,
      signWith(TEST_JWT_SECRET, { user_id: 1, device_id: '1', exp: 4_102_444_800 }),
      '../../etc/passwd',
      '%00',
      '%',
    ];
    /** Header values must be bytes Node's client will send: UTF-8 as latin1, no control characters but tab. */
    const asHeader = (text: string): string => utf8Header(text).replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

    const tokens: string[] = [];
    const permanentTokens: string[] = [];
    const deviceIds: number[] = [];
    const statuses = new Map<number, number>();
    const counted = () => t.dataSource.getRepository(t.deviceEntity).count();
    let expected = await counted();
    let logins = 0;
    let deletes = 0;
    let cases = 0;

    const hostileOrValid = (valid: readonly string[], p: number): string => (valid.length > 0 && chance(p) ? pick(valid) : pick(hostile));
    const randomValue = (): unknown =>
      pick<() => unknown>([
        () => pick(hostile),
        () => Math.floor(random() * 1e6) - 5e5,
        () => null,
        () => true,
        () => [pick(hostile)],
        () => ({ $ne: null }),
        () => ({ [pick(hostile)]: pick(hostile) }),
      ])();

    for (let i = 0; i < CASES; i += 1) {
      const route = pick(['login', 'refresh', 'logout', 'list', 'remove', 'publicGet', 'publicPost', 'me'] as const);
      let request;
      switch (route) {
        case 'login':
          request = t.http.post(pick(['/auth-token/', '/auth-token']));
          if (chance(0.25)) request = request.send(pick([ALICE, BOB]));
          else if (chance(0.3)) request = request.set('Content-Type', 'application/json').send(pick(hostile));
          else if (chance(0.2)) request = request.type('form').send(`username=${encodePath(pick(hostile))}&password=${encodePath(pick(hostile))}`);
          else request = request.send({ username: randomValue(), password: randomValue() });
          break;
        case 'refresh':
          request = t.http.post(pick(['/device-refresh-token/', '/device-refresh-token']));
          break;
        case 'logout':
          request = t.http.delete('/device-logout/');
          if (chance(0.8)) request = request.set('Device-Id', asHeader(hostileOrValid(deviceIds.map(String), 0.4)));
          break;
        case 'list':
          request = t.http.get(pick(['/devices/', '/devices']));
          break;
        case 'remove': {
          const id = hostileOrValid(deviceIds.map(String), 0.4);
          request = t.http.delete(`/devices/${chance(0.8) ? encodePath(id) : id.replace(/[^\x21-\x7e]/g, '')}/`);
          break;
        }
        case 'publicGet':
          request = t.http.get('/public');
          break;
        case 'publicPost':
          request = t.http.post('/public').send({ value: randomValue() });
          break;
        case 'me':
          request = t.http.get('/me');
          break;
      }
      if (chance(0.6)) {
        const scheme = pick(['Bearer ', 'JWT ', 'bearer ', '', 'Basic ']);
        request = request.set('Authorization', asHeader(`${scheme}${hostileOrValid(tokens, 0.6)}`));
      }
      if (chance(route === 'refresh' ? 0.85 : 0.15)) request = request.set('Permanent-Token', asHeader(hostileOrValid(permanentTokens, 0.5)));
      if (chance(0.3)) request = request.set('X-Device-Model', asHeader(pick(hostile)));
      if (chance(0.3)) request = request.set('User-Agent', asHeader(pick(hostile)));

      const response = await request;
      cases += 1;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      expect(response.status, `case ${i}: ${route} → ${response.status} ${JSON.stringify(response.body)}`).toBeLessThan(500);
      if (response.status >= 400 && /json/.test(response.headers['content-type'] ?? '')) {
        expect(response.body.statusCode, `case ${i}`).toBe(response.status);
      }

      if (route === 'login' && response.status === 200) {
        expected += 1;
        logins += 1;
        tokens.push(response.body.token);
        permanentTokens.push(response.body.permanent_token);
        deviceIds.push(response.body.device_id);
      }
      if (route === 'refresh' && response.status === 200) tokens.push(response.body.token);
      if ((route === 'logout' || route === 'remove') && response.status === 204) {
        expected -= 1;
        deletes += 1;
      }
      expect(await counted(), `case ${i}: ${route} → ${response.status}`).toBe(expected);
    }

    expect(cases).toBe(CASES);
    // The run exercised both sides: some requests got through, most were refused.
    expect(logins).toBeGreaterThan(0);
    expect(deletes).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(statuses.get(401)).toBeGreaterThan(0);
  });
});
