import { createHash } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFreshServerDatabase, type FreshServerDatabase, serverAddress, serverReachable, type ServerKind } from '../../../test/support/server-databases.js';
import { currentHttpAdapter, startApp } from '../../../test/support/test-app.js';
import { AppModule, type EntityRegistration } from '../../src/app.module.js';
import { readConfig, readDatabaseUrl } from '../../src/config.js';

/**
 * The example app on a network database, configured exactly as `DATABASE_URL=postgres://…`,
 * `mysql://…` or `mariadb://…` configures it, each on a fresh database: the docs/CONTRACT.md flow must give
 * the same answers as on SQLite. vitest.config.ts runs example tests only in the e2e:sqlite project,
 * so the example-<family>.e2e-spec.ts files loop over the network databases themselves, through
 * `describeExampleOn`. A server that does not answer skips its block (the reason is in the title),
 * except under CI=true, where the block runs and fails.
 *
 * One spec file per device-entity family, because `@nestjs/typeorm` keeps `autoLoadEntities`
 * registrations in one process-wide list: an app on PostgreSQL leaves `PostgresDevice` there for a
 * later MySQL app in the same process. Vitest runs each file in its own process. The SQLite reference
 * app starts with `'listed'` entities, so it registers nothing there.
 */

/** A `DATABASE_URL` scheme, the server that serves it, and the TypeORM type `readDatabaseUrl` must read. */
export interface ExampleTarget {
  readonly scheme: string;
  readonly server: ServerKind;
  readonly type: string;
}

interface Step {
  step: string;
  status: number;
  body: unknown;
}

async function startExample(databaseUrl: string, entities: EntityRegistration = 'autoLoadEntities'): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(readConfig({ DATABASE_URL: databaseUrl }), entities)] }).compile();
  return startApp(moduleRef, ['error']);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** A response body with its secrets and timestamps replaced by their shape, after checking the shape. */
export function normalize(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => normalize(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, normalize(item, name)]));
  }
  if (key === 'token') {
    expect(value).toMatch(JWT);
    return '<jwt>';
  }
  if (key === 'permanent_token') {
    expect(value).toMatch(/^([\w-]{22}\.)?[\w-]{43,}$/);
    return '<permanent token>';
  }
  if (key === 'created' || key === 'last_request_datetime') {
    expect(value).toMatch(ISO_8601);
    return '<ISO-8601>';
  }
  return value;
}

/**
 * docs/CONTRACT.md, end to end, as a drf-jwt-devices client sees it. Asserts the contract on the way and
 * returns every answer (normalized), to compare databases.
 */
export async function walkContract(app: INestApplication): Promise<{ transcript: Step[]; permanentTokens: string[] }> {
  const http = request(app.getHttpServer());
  const transcript: Step[] = [];
  const record = (step: string, response: request.Response, status: number) => {
    expect(response.status, `${step}: ${JSON.stringify(response.body)}`).toBe(status);
    transcript.push({ step, status: response.status, body: normalize(response.body) });
    return response;
  };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  record('health', await http.get('/health'), 200);

  const phone = record(
    'alice logs in from a phone',
    await http.post('/auth-token/').set({ 'X-Device-Model': 'Pixel 8', 'User-Agent': 'alice-phone/1.0' }).send({ username: 'alice', password: 'alice-password' }),
    200,
  ).body as { token: string; permanent_token: string; device_id: number };
  expect(Object.keys(phone)).toEqual(expect.arrayContaining(['token', 'permanent_token', 'device_id']));
  expect(Number.isInteger(phone.device_id)).toBe(true);
  const laptop = record(
    'alice logs in from a laptop',
    await http.post('/auth-token/').set('User-Agent', 'alice-laptop/2.0').send({ username: 'alice', password: 'alice-password' }),
    200,
  ).body as typeof phone;
  const bob = record(
    'bob logs in',
    await http.post('/auth-token/').set({ 'X-Device-Model': 'Nokia 3310', 'User-Agent': 'bob-client/0.1' }).send({ username: 'bob', password: 'bob-password' }),
    200,
  ).body as typeof phone;

  record('wrong password', await http.post('/auth-token/').send({ username: 'alice', password: 'bob-password' }), 400);
  record('no credentials', await http.post('/auth-token/').send({}), 400);
  record('malformed JSON', await http.post('/auth-token/').set('Content-Type', 'application/json').send('{"username": "alice", '), 400);

  expect(record('alice /me (Bearer)', await http.get('/me').set(bearer(phone.token)), 200).body).toEqual({ id: 1, username: 'alice', device_id: phone.device_id });
  expect(record('alice /me (JWT prefix)', await http.get('/me').set('Authorization', `JWT ${laptop.token}`), 200).body).toEqual({
    id: 1,
    username: 'alice',
    device_id: laptop.device_id,
  });
  expect(record('bob /me', await http.get('/me').set(bearer(bob.token)), 200).body).toEqual({ id: 2, username: 'bob', device_id: bob.device_id });
  record('/me without a token', await http.get('/me'), 401);
  record('/me with a forged token', await http.get('/me').set(bearer(`${phone.token.slice(0, -4)}AAAA`)), 401);

  const aliceDevices = record('alice lists her devices', await http.get('/devices/').set(bearer(phone.token)), 200).body as Record<string, unknown>[];
  expect(aliceDevices).toEqual([
    expect.objectContaining({ id: phone.device_id, name: 'Pixel 8', details: 'alice-phone/1.0' }),
    expect.objectContaining({ id: laptop.device_id, name: 'alice-laptop/2.0', details: '' }),
  ]);
  for (const device of aliceDevices) expect(Object.keys(device)).toEqual(expect.arrayContaining(['id', 'created', 'name', 'details', 'last_request_datetime']));
  expect(record('bob lists his devices', await http.get('/devices').set(bearer(bob.token)), 200).body).toEqual([
    expect.objectContaining({ id: bob.device_id, name: 'Nokia 3310', details: 'bob-client/0.1' }),
  ]);

  const refreshed = record('alice refreshes the phone', await http.post('/device-refresh-token/').set('Permanent-Token', phone.permanent_token), 200).body as {
    token: string;
  };
  expect(record('the refreshed JWT works', await http.get('/me').set(bearer(refreshed.token)), 200).body).toEqual({
    id: 1,
    username: 'alice',
    device_id: phone.device_id,
  });
  record('refresh without Permanent-Token', await http.post('/device-refresh-token/'), 400);
  record('refresh with an unknown token', await http.post('/device-refresh-token/').set('Permanent-Token', 'x'.repeat(43)), 400);

  record('Permanent-Token on GET /devices/', await http.get('/devices/').set(bearer(phone.token)).set('Permanent-Token', phone.permanent_token), 400);
  record('Permanent-Token on the app’s /health', await http.get('/health').set('Permanent-Token', phone.permanent_token), 400);
  record('Permanent-Token on the app’s /me', await http.get('/me').set(bearer(phone.token)).set('Permanent-Token', phone.permanent_token), 400);
  record(
    'Permanent-Token on POST /auth-token/',
    await http.post('/auth-token/').set('Permanent-Token', phone.permanent_token).send({ username: 'alice', password: 'alice-password' }),
    400,
  );
  record(
    'Permanent-Token on DELETE /device-logout/',
    await http.delete('/device-logout/').set(bearer(phone.token)).set({ 'Permanent-Token': phone.permanent_token, 'Device-Id': String(phone.device_id) }),
    400,
  );
  expect(record('…none of which had an effect', await http.get('/devices/').set(bearer(phone.token)), 200).body).toHaveLength(2);

  record('alice deletes bob’s device', await http.delete(`/devices/${bob.device_id}/`).set(bearer(phone.token)), 404);
  record('alice deletes a non-numeric id', await http.delete('/devices/abc/').set(bearer(phone.token)), 400);
  record('alice logs out without Device-Id', await http.delete('/device-logout/').set(bearer(phone.token)), 400);
  record('alice logs out Device-Id: abc', await http.delete('/device-logout/').set(bearer(phone.token)).set('Device-Id', 'abc'), 400);
  record('alice logs out bob’s device', await http.delete('/device-logout/').set(bearer(phone.token)).set('Device-Id', String(bob.device_id)), 404);
  expect(record('bob still has his device', await http.get('/devices/').set(bearer(bob.token)), 200).body).toHaveLength(1);

  record('alice logs out the phone', await http.delete('/device-logout/').set(bearer(phone.token)).set('Device-Id', String(phone.device_id)), 204);
  record('the phone’s JWT is refused at once', await http.get('/me').set(bearer(refreshed.token)), 401);
  record('the phone’s permanent token is refused', await http.post('/device-refresh-token/').set('Permanent-Token', phone.permanent_token), 400);
  expect(record('the laptop sees one device', await http.get('/devices/').set(bearer(laptop.token)), 200).body).toEqual([
    expect.objectContaining({ id: laptop.device_id }),
  ]);
  record('alice deletes the laptop', await http.delete(`/devices/${laptop.device_id}`).set(bearer(laptop.token)), 204);
  record('the laptop’s JWT is refused', await http.get('/devices/').set(bearer(laptop.token)), 401);
  expect(record('bob is untouched', await http.get('/me').set(bearer(bob.token)), 200).body).toEqual({ id: 2, username: 'bob', device_id: bob.device_id });

  return { transcript, permanentTokens: [phone.permanent_token, laptop.permanent_token, bob.permanent_token] };
}

/**
 * The answers on SQLite (same HTTP adapter), walked once per process: the reference every other
 * database must match. Its DataSource lists its entities (`'listed'`), so it leaves nothing in
 * `@nestjs/typeorm`'s process-wide `autoLoadEntities` list, and it is unaffected by what the target
 * apps left there.
 */
let sqliteTranscript: Promise<Step[]> | undefined;
export function referenceTranscript(): Promise<Step[]> {
  sqliteTranscript ??= (async () => {
    const app = await startExample('sqlite::memory:', 'listed');
    try {
      return (await walkContract(app)).transcript;
    } finally {
      await app.close();
    }
  })();
  return sqliteTranscript;
}

/**
 * Declares one block per target: the example app as users run it (`autoLoadEntities`) on a fresh
 * database, walked through CONTRACT.md and compared with SQLite. Targets in one file must share a
 * device-entity family (see the top of this file).
 */
export async function describeExampleOn(targets: readonly ExampleTarget[]): Promise<void> {
  const CI = Boolean(process.env.CI);
  const HTTP_ADAPTER = currentHttpAdapter();
  const servers = [...new Set(targets.map((target) => target.server))];
  const REACHABLE = new Map(await Promise.all(servers.map(async (server) => [server, await serverReachable(server)] as const)));

  describe.each(targets.map((target) => [target.scheme, target] as const))('example app, DATABASE_URL=%s://…', (scheme, { server, type }) => {
    const runnable = REACHABLE.get(server) || CI;
    const title = runnable
      ? `on ${server} at ${serverAddress(server)}, a fresh database (${HTTP_ADAPTER})`
      : `skipped: no ${server} server at ${serverAddress(server)} (CI=true would fail here)`;

    describe.runIf(runnable)(title, () => {
      let database: FreshServerDatabase | undefined;
      let app: INestApplication | undefined;

      beforeAll(async () => {
        database = await createFreshServerDatabase(server);
        app = await startExample(database.url(scheme));
      });
      afterAll(async () => {
        await app?.close();
        await database?.drop();
      });

      it(`readDatabaseUrl reads ${scheme}:// as TypeORM type "${type}"`, () => {
        expect(readDatabaseUrl(database!.url(scheme))).toMatchObject({ type });
      });

      it('walks the CONTRACT.md flow with the same answers as on SQLite, and stores only hashes of permanent tokens', async () => {
        const { transcript, permanentTokens } = await walkContract(app!);
        expect(transcript).toEqual(await referenceTranscript());

        const rows = await app!.get(DataSource).query('SELECT * FROM jwt_devices_device');
        expect(rows).toHaveLength(1); // bob's device
        const stored = JSON.stringify(rows);
        for (const token of permanentTokens) expect(stored).not.toContain(token);
        expect(stored).toContain(createHash('sha256').update(permanentTokens[2]!).digest('hex'));
      });
    });
  });
}
