import { createHmac, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { EntitySubscriberInterface } from 'typeorm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DevicesService } from '../lib/index.js';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';
import { ALICE, BOB, createTestApp, currentHttpAdapter, login, type TestApp } from './support/test-app.js';
import { QueryCounter } from './support/query-counter.js';
import { REDIS_URL, redisReachable, testChannel } from './support/redis.js';
import { within } from './support/timing.js';

// "Security round 2": the fixes of issue items 6, 7, 8, 10, 11, 13 and 14, pinned through HTTP.

let t: TestApp;
afterEach(async () => {
  const app = t;
  t = undefined as never; // the two-instance suite below makes its own apps
  await app?.close();
});

const jwt = (token: string) => ({ Authorization: `JWT ${token}` });
const me = (app: TestApp, token: string) => app.http.get('/me').set(jwt(token));


/** The only JWT header the module accepts, and a hand-built HS256 JWT whose payload is `payloadJson`, byte for byte. */
const JWT_HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
function handBuiltJwt(payloadJson: string, key: Parameters<typeof createHmac>[1]): string {
  const signingInput = `${JWT_HEADER}.${Buffer.from(payloadJson).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

describe('item 10: token responses are not cached', () => {
  const noStore = (response: { headers: Record<string, string> }) => {
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['pragma']).toBe('no-cache');
  };

  it('POST /auth-token/ and POST /device-refresh-token/ answer with Cache-Control: no-store and Pragma: no-cache', async () => {
    t = await createTestApp();
    const loggedIn = await t.http.post('/auth-token/').send(ALICE).expect(200);
    noStore(loggedIn);
    noStore(await t.http.post('/device-refresh-token/').set('Permanent-Token', loggedIn.body.permanent_token).expect(200));
  });

  it('so does a rotating refresh (permanentTokenRotation: true), which hands out the next permanent token', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true } });
    const loggedIn = await t.http.post('/auth-token/').send(ALICE).expect(200);
    noStore(loggedIn);
    const refreshed = await t.http.post('/device-refresh-token/').set('Permanent-Token', loggedIn.body.permanent_token).expect(200);
    expect(typeof refreshed.body.permanent_token).toBe('string');
    noStore(refreshed);
  });

  it('so does a plain-mode login (permanentTokenAuth: false)', async () => {
    t = await createTestApp({ options: { permanentTokenAuth: false } });
    const loggedIn = await t.http.post('/auth-token/').send(ALICE).expect(200);
    expect(Object.keys(loggedIn.body)).toEqual(['token']);
    noStore(loggedIn);
  });
});

describe('item 11: login takes JSON only, unless allowFormLogin', () => {
  const fastify = currentHttpAdapter() === 'fastify';
  const FORM = 'username=alice&password=alice-password';

  it('refuses form, multipart and text/plain bodies with 415 naming JSON, creating no device; JSON with parameters and +json types get through', async () => {
    t = await createTestApp();
    const refused = {
      'application/x-www-form-urlencoded': await t.http.post('/auth-token/').type('form').send(FORM),
      'multipart/form-data': await t.http.post('/auth-token/').field('username', ALICE.username).field('password', ALICE.password),
      'text/plain': await t.http.post('/auth-token/').set('Content-Type', 'text/plain').send(JSON.stringify(ALICE)),
    };
    for (const [type, response] of Object.entries(refused)) {
      expect({ type, status: response.status }).toEqual({ type, status: 415 });
      if (fastify && type === 'multipart/form-data') {
        // Fastify has no multipart parser: it answers its own 415 before any route or guard runs.
        expect(response.body, response.text).toMatchObject({ statusCode: 415, message: expect.any(String) });
        continue;
      }
      expect(response.body, `${type}: ${response.text}`).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type', message: expect.stringMatching(/JSON/) });
    }
    expect(await t.devices()).toEqual([]);

    // Not refused by the module: application/json with parameters logs in...
    const withCharset = await t.http.post('/auth-token/').set('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(ALICE));
    expect(withCharset.status, withCharset.text).toBe(200);
    expect((await t.devices()).map(({ id }) => id)).toEqual([withCharset.body.device_id]);
    // ...and an application/*+json type is not refused as "not JSON". Neither adapter parses it by
    // default: Express leaves the body empty (the module's 400 for missing credentials); Fastify has no
    // parser for it and answers its own 415 before the route runs.
    const plusJson = await t.http.post('/auth-token/').set('Content-Type', 'application/vnd.api+json').send(JSON.stringify(ALICE));
    if (fastify) {
      expect(plusJson.status, plusJson.text).toBe(415);
      expect(plusJson.body.message).not.toMatch(/Send the credentials as JSON/);
    } else {
      expect(plusJson.status, plusJson.text).toBe(400);
      expect(plusJson.body).toMatchObject({ statusCode: 400, message: 'Must include "username" and "password".' });
    }
    expect(await t.devices()).toHaveLength(1);
  });

  it('allowFormLogin decides: the form login refused by default succeeds with allowFormLogin: true; other non-JSON bodies then get a 4xx, never a 5xx', async () => {
    t = await createTestApp();
    const refused = await t.http.post('/auth-token/').type('form').send(FORM);
    expect(refused.status, refused.text).toBe(415);
    await t.close();
    t = undefined as never;

    // Both adapters parse urlencoded bodies (Nest registers @fastify/formbody on Fastify).
    t = await createTestApp({ options: { allowFormLogin: true } });
    const form = await t.http.post('/auth-token/').type('form').send(FORM);
    expect(form.status, form.text).toBe(200);
    expect((await t.devices()).map(({ id }) => id)).toEqual([form.body.device_id]);
    expect((await me(t, form.body.token)).status).toBe(200);

    const multipart = await t.http.post('/auth-token/').field('username', ALICE.username).field('password', ALICE.password);
    const text = await t.http.post('/auth-token/').set('Content-Type', 'text/plain').send(JSON.stringify(ALICE));
    // Neither adapter parses these bodies into credentials: the module's 400 for missing credentials, or
    // (multipart on Fastify, which has no multipart parser) Fastify's own 415.
    expect(multipart.status, multipart.text).toBe(fastify ? 415 : 400);
    expect(text.status, text.text).toBe(400);
    expect(await t.devices()).toHaveLength(1);
  });
});

describe('item 8: DELETE /devices/<another user’s id>/ has no effect at all', () => {
  it('answers 404, leaves the row as it was, and keeps the other user’s device cached (0 statements for its next request)', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ options: { deviceCacheTtl: '1h' }, typeorm: { logger: counter, logging: true } });
    const alice = await login(t, ALICE);
    const bob = await login(t, BOB);
    expect(await counter.during(() => me(t, bob.token).expect(200))).toEqual([]); // bob's device is cached
    const bobRow = (await t.devices()).find(({ id }) => id === bob.device_id);

    const attempt = await t.http.delete(`/devices/${bob.device_id}/`).set(jwt(alice.token));
    expect(attempt.status, attempt.text).toBe(404);

    expect((await t.devices()).find(({ id }) => id === bob.device_id)).toEqual(bobRow);
    const queries = await counter.during(async () => expect((await me(t, bob.token)).status).toBe(200));
    expect(queries, 'bob’s device was dropped from the cache by alice’s attempt').toEqual([]);
  });
});

const kind = currentDatabaseKind();
const redisUp = await redisReachable();

// Two instances of one app must share a database: SQLite in memory cannot (as in multi-instance.e2e-spec.ts).
describe.runIf(kind !== 'sqlite' && redisUp)(`item 8 on two app instances sharing ${kind} and Redis (needs a network database and Redis)`, () => {
  let database: TestDatabase;
  let apps: TestApp[] = [];
  let listener: Redis | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    return () => database.drop();
  });
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    listener?.disconnect();
    apps = [];
    listener = undefined;
  });

  it('alice naming bob’s device on A publishes nothing: bob’s cached JWT keeps working on B without a query', async () => {
    const channel = testChannel();
    const published: number[][] = [];
    listener = new Redis(REDIS_URL);
    listener.on('message', (_channel: string, message: string) => published.push(JSON.parse(message) as number[]));
    await listener.subscribe(channel);

    const counterB = new QueryCounter();
    const options = { redis: { url: REDIS_URL, channel }, deviceCacheTtl: '1h' as const };
    const a = await createTestApp({ sharedDatabase: database, options });
    const b = await createTestApp({ sharedDatabase: database, options, typeorm: { logger: counterB, logging: true } });
    apps.push(a, b);
    await new Promise((resolve) => setTimeout(resolve, 300)); // both subscribed

    const alice = await login(a, ALICE);
    const aliceSpare = await login(a, ALICE);
    const bob = await login(a, BOB);
    await me(b, bob.token).expect(200); // B caches bob's device
    await me(b, aliceSpare.token).expect(200); // and alice's spare one
    expect(await counterB.during(() => me(b, bob.token).expect(200))).toEqual([]);
    const bobRow = (await a.devices()).find(({ id }) => id === bob.device_id);

    const attempt = await a.http.delete(`/devices/${bob.device_id}/`).set(jwt(alice.token));
    expect(attempt.status, attempt.text).toBe(404);
    // A real sign-out after it: once B has heard of this one, it has heard of anything published before.
    await a.http.delete(`/devices/${aliceSpare.device_id}/`).set(jwt(alice.token)).expect(204);
    await within(2_000, async () => published.some((ids) => ids.includes(aliceSpare.device_id)));
    await within(2_000, async () => (await me(b, aliceSpare.token)).status === 401);

    expect(published, 'revocations published on the channel').toEqual([[aliceSpare.device_id]]);
    expect((await a.devices()).find(({ id }) => id === bob.device_id)).toEqual(bobRow);
    const queries = await counterB.during(async () => expect((await me(b, bob.token)).status).toBe(200));
    expect(queries, 'B dropped bob’s device from its cache').toEqual([]);
    expect((await me(a, bob.token)).status).toBe(200);
  });
});

describe('item 7: a forged JWT naming a real device displaces nothing', () => {
  it('is refused with 401 and leaves the one cached device (deviceCacheSize: 1) cached', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ options: { deviceCacheSize: 1 }, typeorm: { logger: counter, logging: true } });
    const bob = await login(t, BOB);
    const alice = await login(t, ALICE); // alice's device now holds the only cache entry
    expect(await counter.during(() => me(t, alice.token).expect(200))).toEqual([]);

    const [, payload] = bob.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ user_id: 2, device_id: String(bob.device_id) });
    const forged = handBuiltJwt(JSON.stringify(claims), randomBytes(32));
    expect(forged.split('.')[0]).toBe(bob.token.split('.')[0]);
    const refused = await me(t, forged);
    expect(refused.status, refused.text).toBe(401);

    const queries = await counter.during(async () => expect((await me(t, alice.token)).status).toBe(200));
    expect(queries, 'the forged token pushed alice’s device out of the cache').toEqual([]);
    expect((await me(t, bob.token)).status).toBe(200);
  });
});

describe('item 6: devicesPerUser: 1 and two logins at once', () => {
  it('never answers 200 with a dead token: one login wins, the other gets 409, one device remains (10 rounds)', async () => {
    t = await createTestApp({ options: { devicesPerUser: 1 } });
    // Pins the interleaving that matters: both logins have inserted their device before either looks at
    // the user's devices (a subscriber holds each INSERT until the other one is done too). Without it,
    // one login often finishes before the other starts, and then the later login rightly evicts the
    // earlier one: that is devicesPerUser, not a race.
    let held: Array<() => void> = [];
    const subscriber: EntitySubscriberInterface = {
      listenTo: () => t.deviceEntity,
      afterInsert: () =>
        new Promise<void>((resolve) => {
          held.push(resolve);
          if (held.length === 2) {
            held.forEach((release) => release());
            held = [];
          }
        }),
    };
    (t.dataSource.subscribers as EntitySubscriberInterface[]).push(subscriber);

    for (let round = 1; round <= 10; round++) {
      const responses = await Promise.all([1, 2].map(() => t.http.post('/auth-token/').send(ALICE)));
      const statuses = responses.map(({ status }) => status);
      const winners = responses.filter(({ status }) => status === 200);
      expect(winners.length, `round ${round}: statuses ${statuses}`).toBeGreaterThanOrEqual(1);
      for (const response of responses.filter(({ status }) => status !== 200)) {
        expect(response.status, `round ${round}: ${response.text}`).toBe(409);
        expect(response.body).toMatchObject({ statusCode: 409, message: expect.stringMatching(/\w/) });
      }
      for (const winner of winners) {
        expect((await me(t, winner.body.token)).status, `round ${round}: statuses ${statuses}; a 200's JWT is dead`).toBe(200);
      }
      const rows = await t.devices();
      expect(rows.map(({ id }) => id), `round ${round}: statuses ${statuses}`).toHaveLength(1);
      expect(winners.map(({ body }) => body.device_id)).toContain(rows[0]!.id);
    }
  });
});

describe('item 6: a login overtaken by a newer one', () => {
  it('answers 409, not a dead 200, when a newer login of the user evicted its device before it looked (devicesPerUser: 1)', async () => {
    t = await createTestApp({ options: { devicesPerUser: 1 } });
    // The first login is held right after its INSERT while a second login runs from start to end (and
    // evicts the first device); then the first one goes on and reads the user's devices.
    let inserts = 0;
    let firstInserted!: () => void;
    let releaseFirst!: () => void;
    const inserted = new Promise<'inserted'>((resolve) => (firstInserted = () => resolve('inserted')));
    const released = new Promise<void>((resolve) => (releaseFirst = resolve));
    const subscriber: EntitySubscriberInterface = {
      listenTo: () => t.deviceEntity,
      afterInsert: () => {
        if (++inserts !== 1) return undefined;
        firstInserted();
        return released;
      },
    };
    (t.dataSource.subscribers as EntitySubscriberInterface[]).push(subscriber);

    const first = t.http.post('/auth-token/').send(ALICE).then((response) => response);
    let second: Awaited<ReturnType<typeof me>> | undefined;
    try {
      const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
      expect(await Promise.race([inserted, timedOut]), 'the first login never inserted its device').toBe('inserted');
      second = await t.http.post('/auth-token/').send(ALICE);
      expect(second.status, second.text).toBe(200);
    } finally {
      releaseFirst();
    }
    const overtaken = await first;
    expect((await t.devices()).map(({ id }) => id), 'rows').toEqual([second!.body.device_id]);
    expect((await me(t, second!.body.token)).status, 'the newer login’s JWT').toBe(200);
    if (overtaken.status === 200) {
      expect((await me(t, overtaken.body.token)).status, `the overtaken login answered 200 (device ${overtaken.body.device_id}) with this JWT`).toBe(200);
    }
    expect(overtaken.status, overtaken.text).toBe(409);
    expect(overtaken.body).toMatchObject({ statusCode: 409, message: expect.stringMatching(/log in again/i) });
  });
});

/**
 * Logs alice in with `X-Device-Model` sent as exactly `model`'s bytes, over a raw socket. (Node's HTTP
 * client, which supertest uses, writes the head of a request that has a string body as UTF-8, so a
 * header string of Latin-1 characters would reach the server as their UTF-8 encoding, not as themselves.)
 */
async function loginWithModelBytes(app: TestApp, model: Buffer): Promise<{ status: number; body: { token: string; device_id: number } }> {
  const server = app.app.getHttpServer() as { listening: boolean; address(): AddressInfo };
  if (!server.listening) await app.app.listen(0, '127.0.0.1');
  const body = Buffer.from(JSON.stringify(ALICE));
  const head = `POST /auth-token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n`;
  const request = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from('X-Device-Model: ', 'latin1'), model, Buffer.from('\r\n\r\n', 'latin1'), body]);
  const response = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Not end(): a client that half-closes may lose its answer; the server closes (Connection: close).
    const socket = connect(server.address().port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
  });
  const [statusLine, ...rest] = response.split('\r\n');
  const text = rest.join('\r\n').split('\r\n\r\n').slice(1).join('\r\n\r\n');
  return { status: Number(statusLine!.split(' ')[1]), body: JSON.parse(text) };
}

describe('item 13: device names sent as Latin-1 or UTF-8 bytes', () => {
  it('lists "Ünïcødé" whether X-Device-Model came as Latin-1 or as UTF-8 bytes', async () => {
    t = await createTestApp();
    const latin1 = await loginWithModelBytes(t, Buffer.from('Ünïcødé', 'latin1'));
    expect(latin1.status).toBe(200);
    const utf8 = await loginWithModelBytes(t, Buffer.from('Ünïcødé', 'utf8'));
    expect(utf8.status).toBe(200);
    const listed = await t.http.get('/devices/').set(jwt(latin1.body.token)).expect(200);
    expect(listed.body.map((device: { id: number; name: string }) => [device.id, device.name])).toEqual([
      [latin1.body.device_id, 'Ünïcødé'],
      [utf8.body.device_id, 'Ünïcødé'],
    ]);
  });
});

describe('item 14: invisible characters, an infinite exp, plain-mode sign-outs', () => {
  it('drops U+2028, U+2029, U+3164, U+00AD, U+061C and tag characters from a device name sent as UTF-8', async () => {
    t = await createTestApp();
    const name = 'A\u2028B\u2029C\u3164D\u00adE\u061cF\u{E0041}G';
    const { status, body } = await loginWithModelBytes(t, Buffer.from(name, 'utf8'));
    expect(status).toBe(200);
    const listed = await t.http.get('/devices/').set(jwt(body.token)).expect(200);
    expect(listed.body.map((device: { name: string }) => device.name)).toEqual(['ABCDEFG']);
  });

  it('refuses a validly signed JWT whose exp is 1e400 with 401', async () => {
    t = await createTestApp();
    const body = await login(t, ALICE);
    const key = await t.app.get(DevicesService).deviceKey(body.device_id);
    expect(key).toBeDefined();
    const iat = Math.floor(t.clock.now() / 1_000);
    const claims = (exp: string) => `{"username":"alice","user_id":1,"iat":${iat},"exp":${exp},"device_id":"${body.device_id}"}`;
    // The same token with an ordinary exp is accepted, so only the exp decides.
    expect((await me(t, handBuiltJwt(claims(String(iat + 60)), key!))).status).toBe(200);
    const infinite = await me(t, handBuiltJwt(claims('1e400'), key!));
    expect(infinite.status, infinite.text).toBe(401);
  });

  it('in plain mode (permanentTokenAuth: false) DELETE /devices/ and DELETE /devices/others/ answer 404 naming plain JWTs', async () => {
    t = await createTestApp({ options: { permanentTokenAuth: false } });
    const { token } = (await t.http.post('/auth-token/').send(ALICE).expect(200)).body;
    for (const path of ['/devices/', '/devices/others/']) {
      const response = await t.http.delete(path).set(jwt(token));
      expect(response.status, `${path}: ${response.text}`).toBe(404);
      expect(response.body).toMatchObject({ statusCode: 404, message: expect.stringMatching(/plain JWTs/) });
    }
    expect((await me(t, token)).status).toBe(200);
  });
});
