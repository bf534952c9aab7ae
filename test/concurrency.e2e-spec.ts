import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { EntitySubscriberInterface, Logger as TypeOrmLogger } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEVICE_TABLE } from '../lib/index.js';
import { currentDatabaseKind } from './support/databases.js';
import { DAY, MINUTE } from './support/fake-clock.js';
import { ALICE, createTestApp, login, type TestApp } from './support/test-app.js';

// Many requests at once, through real HTTP, on one app: what a busy client fleet does to the device
// table. On SQLite the statements are serialised anyway; on PostgreSQL and MariaDB they run on a pool
// of connections and really interleave.
//
// Bursts go out with fetch over keep-alive connections opened beforehand (warmUp): superagent builds
// requests one after the other and new connections need a handshake each, which spreads a "parallel"
// burst out so much that the first refresh has written before the second has read.

const kind = currentDatabaseKind();

let t: TestApp;
/** `http://127.0.0.1:<port>` of the app's listening server. */
let base: string;
/** Every SQL statement the app's DataSource ran, in order (reset before each measured step). */
const statements: string[] = [];
const sqlLogger: TypeOrmLogger = {
  logQuery: (query) => void statements.push(query),
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

beforeEach(async () => {
  statements.length = 0;
  t = await createTestApp({ typeorm: { logger: sqlLogger } });
  // One listening server for all requests of a test, so a burst really is parallel connections.
  await t.app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
});

const jwt = (token: string) => ({ Authorization: `JWT ${token}` });

/** One HTTP exchange, as far as the tests look at it. */
interface Reply {
  status: number;
  /** Parsed JSON, or `undefined`. */
  body: any;
  text: string;
}

/** Sends one request with fetch (see the note at the top) and reads the whole answer. */
async function send(method: string, path: string, headers: Record<string, string> = {}, json?: unknown): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: json === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/** Opens `connections` keep-alive connections to the app, so that a burst does not wait on handshakes. */
async function warmUp(connections: number): Promise<void> {
  const replies = await Promise.all(Array.from({ length: connections }, () => send('GET', '/public')));
  expect(replies.every(({ status }) => status === 200), 'warm-up requests').toBe(true);
}

const refresh = (permanentToken: string) => send('POST', '/device-refresh-token/', { 'Permanent-Token': permanentToken });
const me = (token: string) => send('GET', '/me', jwt(token));

/** `{status: count}` of a batch of replies. */
function tally(replies: readonly Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of replies) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
const serverErrors = (replies: readonly Reply[]) => replies.filter(({ status }) => status >= 500).length;

const isUpdateOfDevices = (sql: string) => /^\s*UPDATE\b/i.test(sql) && sql.includes(DEVICE_TABLE);
const isDeleteOfDevices = (sql: string) => /^\s*DELETE\b/i.test(sql) && sql.includes(DEVICE_TABLE);

/**
 * Installs a row-level AFTER UPDATE trigger on the device table that counts rows really written, so
 * "written once" is measured by the database itself, not inferred from statements sent.
 * @returns a function reading the count.
 */
async function countRowUpdates(app: TestApp): Promise<() => Promise<number>> {
  const q = (sql: string) => app.dataSource.query(sql);
  if (kind === 'postgres') {
    const schema = `"${(app.database.options as { schema: string }).schema}"`;
    await q(`CREATE TABLE ${schema}.test_row_updates (n integer NOT NULL)`);
    await q(`INSERT INTO ${schema}.test_row_updates (n) VALUES (0)`);
    await q(
      `CREATE FUNCTION ${schema}.test_count_row_update() RETURNS trigger LANGUAGE plpgsql AS ` +
        `$$ BEGIN UPDATE ${schema}.test_row_updates SET n = n + 1; RETURN NULL; END $$`,
    );
    await q(
      `CREATE TRIGGER test_count_row_updates AFTER UPDATE ON ${schema}."${DEVICE_TABLE}" ` +
        `FOR EACH ROW EXECUTE FUNCTION ${schema}.test_count_row_update()`,
    );
    return async () => Number((await q(`SELECT n FROM ${schema}.test_row_updates`))[0].n);
  }
  await q('CREATE TABLE test_row_updates (n integer NOT NULL)');
  await q('INSERT INTO test_row_updates (n) VALUES (0)');
  await q(
    kind === 'sqlite'
      ? `CREATE TRIGGER test_count_row_updates AFTER UPDATE ON "${DEVICE_TABLE}" FOR EACH ROW BEGIN UPDATE test_row_updates SET n = n + 1; END`
      : `CREATE TRIGGER test_count_row_updates AFTER UPDATE ON \`${DEVICE_TABLE}\` FOR EACH ROW UPDATE test_row_updates SET n = n + 1`,
  );
  return async () => Number((await q('SELECT n FROM test_row_updates'))[0].n);
}

describe(`concurrent requests on one app (${kind})`, () => {
  it('100 parallel refreshes of one permanent token: all 200, every JWT works, one row, last_request_datetime written once', async ({
    annotate,
  }) => {
    const { permanent_token, device_id } = await login(t);
    const rowUpdates = await countRowUpdates(t);
    // Past the 30-minute accuracy window: a write of last_request_datetime is due.
    t.clock.advance(31 * MINUTE);
    await warmUp(100);
    statements.length = 0;

    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 100 }, () => refresh(permanent_token)));
    const elapsed = Math.round(performance.now() - started);
    const updateStatements = statements.filter(isUpdateOfDevices).length;
    const counts = tally(responses);
    expect(counts, `statuses of 100 parallel refreshes: ${JSON.stringify(counts)}`).toEqual({ 200: 100 });

    const tokens = responses.map(({ body }) => body.token as string);
    const checks = await Promise.all(tokens.map(me));
    expect(tally(checks), 'GET /me with each of the 100 refreshed JWTs').toEqual({ 200: 100 });
    expect(new Set(checks.map(({ body }) => body.device.id))).toEqual(new Set([device_id]));

    const rows = await t.devices();
    expect(rows.map(({ id }) => id), 'device rows after the burst').toEqual([device_id]);
    expect(rows[0]!.lastRequestDatetime.getTime(), 'last_request_datetime moved to the time of the refreshes').toBe(t.clock.now());
    const written = await rowUpdates();
    expect(written, `rows written by ${updateStatements} UPDATE statement(s) sent`).toBe(1);
    await annotate(
      `100 refreshes in ${elapsed} ms: ${counts[200] ?? 0} × 200, ${serverErrors(responses)} × 5xx; ` +
        `${updateStatements} conditional UPDATE(s) sent, ${written} row write(s); 100/100 JWTs accepted`,
      'numbers',
    );
  });

  it('200 parallel logins: 200 × 200, 200 distinct device ids and permanent tokens, 200 rows', async ({ annotate }) => {
    await warmUp(200);
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => send('POST', '/auth-token/', { 'X-Device-Model': `device ${i}` }, ALICE)));
    const elapsed = Math.round(performance.now() - started);
    const counts = tally(responses);
    expect(counts, `statuses of 200 parallel logins: ${JSON.stringify(counts)}`).toEqual({ 200: 200 });

    const ids = responses.map(({ body }) => body.device_id as number);
    const permanentTokens = new Set(responses.map(({ body }) => body.permanent_token as string));
    expect(new Set(ids).size, 'distinct device ids').toBe(200);
    expect(permanentTokens.size, 'distinct permanent tokens').toBe(200);

    const rows = await t.devices();
    expect(rows, 'device rows').toHaveLength(200);
    expect(rows.map(({ id }) => id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    // Each response names the row its own request created.
    const nameById = new Map(rows.map(({ id, name }) => [id, name]));
    expect(ids.map((id) => nameById.get(id))).toEqual(ids.map((_, i) => `device ${i}`));
    await annotate(
      `200 logins in ${elapsed} ms: ${counts[200] ?? 0} × 200, ${serverErrors(responses)} × 5xx; ` +
        `${new Set(ids).size} device ids, ${permanentTokens.size} permanent tokens, ${rows.length} rows`,
      'numbers',
    );
  });

  it('refreshes racing the logout of their device: the device ends gone, no 5xx, and its JWTs 401 afterwards', async ({ annotate }) => {
    const ROUNDS = 6;
    const REFRESHES = 20;
    const bystander = await login(t, ALICE, { 'X-Device-Model': 'bystander' });
    const totals: Record<number, number> = {};
    const leaks: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const victim = await login(t, ALICE, { 'X-Device-Model': `victim ${round}` });
      const logout = () => send('DELETE', '/device-logout/', { ...jwt(victim.token), 'Device-Id': String(victim.device_id) });
      await warmUp(REFRESHES + 1);
      // The logout goes out in the middle of the refreshes.
      const requests = Array.from({ length: REFRESHES + 1 }, (_, i) => (i === REFRESHES / 2 ? logout() : refresh(victim.permanent_token)));
      const responses = await Promise.all(requests);
      const logoutResponse = responses[REFRESHES / 2]!;
      const refreshes = responses.filter((_, i) => i !== REFRESHES / 2);
      for (const [status, count] of Object.entries(tally(responses))) totals[Number(status)] = (totals[Number(status)] ?? 0) + count;

      expect(logoutResponse.status, `round ${round}: DELETE /device-logout/`).toBe(204);
      expect(
        refreshes.filter(({ status }) => status !== 200 && status !== 400).map(({ status, body }) => `${status} ${JSON.stringify(body)}`),
        `round ${round}: refresh statuses other than 200/400`,
      ).toEqual([]);

      const rows = await t.devices();
      expect(rows.map(({ id }) => id), `round ${round}: rows after the race`).toEqual([bystander.device_id]);
      expect((await refresh(victim.permanent_token)).status, `round ${round}: refresh after the race`).toBe(400);

      // Every JWT that device ever got, at login or from a refresh that won the race, is dead now.
      const jwts = [victim.token, ...refreshes.filter(({ status }) => status === 200).map(({ body }) => body.token as string)];
      const checks = await Promise.all(jwts.map(me));
      checks.forEach(({ status }, i) => {
        if (status !== 401) leaks.push(`round ${round}: ${i === 0 ? 'login JWT' : `JWT of refresh #${i}`} → ${status}`);
      });
    }
    const summary = `${ROUNDS} rounds × (${REFRESHES} refreshes + 1 logout): statuses ${JSON.stringify(totals)}`;
    await annotate(`${summary}; JWTs of logged-out devices still accepted: ${leaks.length}`, 'numbers');
    expect(Object.keys(totals).map(Number).filter((status) => status >= 500), summary).toEqual([]);
    expect(leaks, `JWTs of a logged-out device must be refused with 401 (${summary})`).toEqual([]);
    // The bystander device was never touched.
    expect((await me(bystander.token)).status).toBe(200);
  });

  it.each(['POST /device-refresh-token/', 'GET /me'] as const)(
    '%s that read the device row just before the device was logged out does not revive its JWTs (held, deterministic)',
    async (route) => {
      // The race above, made deterministic: a TypeORM subscriber holds the request right after its
      // SELECT of the device row has returned, while another device logs this one out, then lets it go on.
      let hold: (() => Promise<void>) | undefined;
      const subscriber: EntitySubscriberInterface = {
        listenTo: () => t.deviceEntity,
        afterLoad: () => {
          const held = hold;
          hold = undefined;
          return held?.();
        },
      };
      (t.dataSource.subscribers as EntitySubscriberInterface[]).push(subscriber);

      const victim = await login(t, ALICE, { 'X-Device-Model': 'victim' });
      const other = await login(t, ALICE, { 'X-Device-Model': 'other' });
      // Past the key cache's lifetime (5 s by default), so that the JWT check reads the row too; the
      // JWTs (5 min) are still valid.
      t.clock.advance(4 * MINUTE);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const read = new Promise<void>((resolve) => {
        hold = () => {
          resolve();
          return released;
        };
      });
      const held = route === 'GET /me' ? me(victim.token) : refresh(victim.permanent_token);
      let answer: Reply;
      try {
        const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
        expect(await Promise.race([read.then(() => 'read' as const), timedOut]), `${route} never loaded the device row as an entity`).toBe('read');
        const logout = await send('DELETE', `/devices/${victim.device_id}/`, jwt(other.token));
        expect(logout.status, logout.text).toBe(204);
        expect((await me(victim.token)).status, 'victim JWT right after the logout').toBe(401);
      } finally {
        release();
        answer = await held;
      }
      // It read the row before the logout, so its own answer may go either way; it must not bring the device back.
      expect([200, 400, 401], `the held request answered ${answer.status} ${answer.text}`).toContain(answer.status);

      expect((await t.devices()).map(({ id }) => id), 'rows').toEqual([other.device_id]);
      expect((await me(victim.token)).status, 'victim login JWT once the held request has answered').toBe(401);
      if (route !== 'GET /me' && answer.status === 200) {
        expect((await me(answer.body.token)).status, 'JWT the held refresh handed out').toBe(401);
      }
    },
  );

  it('20 refreshes racing on an expired permanent token: all 400, the device deleted once, no error', async ({ annotate }) => {
    const errors = vi.spyOn(Logger.prototype, 'error');
    const expired = await login(t, ALICE, { 'X-Device-Model': 'expired' });
    t.clock.advance(7 * DAY + MINUTE);
    const fresh = await login(t, ALICE, { 'X-Device-Model': 'fresh' });
    await warmUp(20);
    statements.length = 0;

    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(expired.permanent_token)));
    const deleteStatements = statements.filter(isDeleteOfDevices).length;
    const counts = tally(responses);
    expect(counts, `statuses of 20 refreshes of an expired token: ${JSON.stringify(counts)}`).toEqual({ 400: 20 });
    for (const { body } of responses) expect(body).toMatchObject({ statusCode: 400, message: expect.any(String) });

    const rows = await t.devices();
    expect(rows.map(({ id }) => id), 'only the fresh device is left').toEqual([fresh.device_id]);
    expect(errors.mock.calls.map((args) => String(args[0])), 'errors logged').toEqual([]);
    expect((await refresh(fresh.permanent_token)).status, 'the fresh device still refreshes').toBe(200);
    await annotate(
      `20 refreshes of a token idle 7 d 1 min: ${JSON.stringify(counts)}, ${serverErrors(responses)} × 5xx; ` +
        `${deleteStatements} conditional DELETE(s) sent, ${rows.length} row left (the fresh device)`,
      'numbers',
    );
  });

  it('writes last_request_datetime with one conditional UPDATE (id and last_request_datetime < cutoff), and not at all inside the window', async ({
    annotate,
  }) => {
    const { permanent_token } = await login(t);

    // Right after login: inside the window, no write.
    statements.length = 0;
    expect((await refresh(permanent_token)).status).toBe(200);
    expect(statements.filter(isUpdateOfDevices), 'UPDATEs of a refresh right after login').toEqual([]);

    t.clock.advance(31 * MINUTE);
    statements.length = 0;
    expect((await refresh(permanent_token)).status).toBe(200);
    const due = [...statements];
    const updates = due.filter((sql) => /^\s*UPDATE\b/i.test(sql));
    expect(updates, `UPDATEs of a refresh 31 min later, among: ${due.join(' | ')}`).toHaveLength(1);
    const [update] = updates as [string];
    expect(update).toContain(DEVICE_TABLE);
    const where = update.slice(update.search(/\bWHERE\b/i));
    expect(where, update).toMatch(/^WHERE\b/i);
    expect(where, update).toMatch(/["`]?\bid\b["`]?\s*=/);
    expect(where, update).toMatch(/["`]?\blast_request_datetime\b["`]?\s*</);
    // Not read-modify-write: no lock, no transaction around it.
    expect(due.filter((sql) => /\bFOR UPDATE\b|^\s*(START TRANSACTION|BEGIN)\b/i.test(sql)), 'locks or transactions').toEqual([]);

    // Inside the window again: 10 minutes after the write, no UPDATE.
    t.clock.advance(10 * MINUTE);
    statements.length = 0;
    expect((await refresh(permanent_token)).status).toBe(200);
    expect(statements.filter(isUpdateOfDevices), 'UPDATEs of a refresh 10 min after the write').toEqual([]);
    await annotate(`refresh due a write: ${due.length} statement(s), 1 UPDATE: ${update}`, 'sql');
  });
});
