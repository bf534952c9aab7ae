import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { currentDatabaseKind, DATABASE_SERVERS } from './support/databases.js';
import { SECOND } from './support/fake-clock.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { ALICE, createTestApp, login, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';

// The app reaches its database through a TCP proxy of the test's own; cutting the proxy is a database
// outage (server down, network split, connections killed) without touching the shared server. During
// it, every route that needs the database must say 503 "try again", not 500 and not 401 "log in
// again"; afterwards the app must heal by itself, with no device lost or duplicated.

const kind = currentDatabaseKind();

/** Longest any one response may take during the outage. */
const MAX_OUTAGE_RESPONSE_MS = 10_000;
/** How long the app may take to serve every route again once the database is back. */
const RECOVERY_DEADLINE_MS = 10_000;
/** The module's default `deviceCacheTtl`, made explicit: past it, a JWT needs a query again. */
const CACHE_TTL_MS = 5 * SECOND;

/** Pool and connect timeouts small enough that a dead database fails requests fast. */
function fastFailing(): Record<string, unknown> {
  return kind === 'postgres'
    ? { connectTimeoutMS: 1_000, extra: { connectionTimeoutMillis: 1_000, query_timeout: 5_000 } }
    : { connectTimeout: 1_000 };
}

interface Outcome {
  route: string;
  status: number;
  ms: number;
  body: unknown;
  text: string;
}

/** Every log line the app writes, whatever the level, as text (objects and errors inspected deeply). */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private capture(level: string, args: unknown[]): void {
    this.lines.push(`${level} ${args.filter((arg) => arg !== undefined).map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 6 }))).join(' ')}`);
  }
  log = (...args: unknown[]) => this.capture('log', args);
  error = (...args: unknown[]) => this.capture('error', args);
  warn = (...args: unknown[]) => this.capture('warn', args);
  debug = (...args: unknown[]) => this.capture('debug', args);
  verbose = (...args: unknown[]) => this.capture('verbose', args);
  fatal = (...args: unknown[]) => this.capture('fatal', args);
}

const tally = (outcomes: readonly Outcome[]) =>
  outcomes.reduce<Record<string, number>>((counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

describe.runIf(kind !== 'sqlite')(`database outage through a TCP proxy (${kind}) — needs PostgreSQL or MariaDB: SQLite has no connection to cut`, () => {
  let proxy: TcpProxy;
  let t: TestApp;
  /** A connection to the real server, around the proxy, to read what is stored. */
  let direct: DataSource;
  let a: Awaited<ReturnType<typeof login>>;
  let b: Awaited<ReturnType<typeof login>>;
  let aRefreshed: string;
  let rowsBefore: string[];
  const outage: Outcome[] = [];
  const logger = new CapturingLogger();
  /** Every JWT and permanent token any response of this file handed out. */
  const issued = new Set<string>();

  const jwt = (token: string) => ({ Authorization: `JWT ${token}` });
  /** The stored devices, read around the proxy: id, token hash, secret, name and times. */
  async function storedRows(): Promise<string[]> {
    const rows = await direct.getRepository(t.deviceEntity).find({ order: { id: 'ASC' } });
    return rows.map((row) =>
      [row.id, row.userId, row.permanentTokenHash, row.jwtSecret, row.name, row.created.toISOString(), row.lastRequestDatetime.toISOString()].join(' '),
    );
  }
  async function timed(route: string, send: () => PromiseLike<Response>): Promise<Outcome> {
    const started = performance.now();
    const response = await send();
    for (const key of ['token', 'permanent_token']) if (typeof response.body?.[key] === 'string') issued.add(response.body[key]);
    return { route, status: response.status, ms: Math.round(performance.now() - started), body: response.body, text: response.text };
  }
  const routes = {
    login: () => timed('POST /auth-token/', () => t.http.post('/auth-token/').send(ALICE)),
    refresh: () => timed('POST /device-refresh-token/', () => t.http.post('/device-refresh-token/').set('Permanent-Token', a.permanent_token)),
    list: () => timed('GET /devices/', () => t.http.get('/devices/').set(jwt(aRefreshed))),
    logout: () => timed('DELETE /device-logout/', () => t.http.delete('/device-logout/').set({ ...jwt(aRefreshed), 'Device-Id': String(b.device_id) })),
    remove: () => timed('DELETE /devices/:id/', () => t.http.delete(`/devices/${b.device_id}/`).set(jwt(aRefreshed))),
    me: () => timed('GET /me', () => t.http.get('/me').set(jwt(b.token))),
  };

  /**
   * Polls refresh, device list and GET /me until all three answer 200, for at most
   * {@link RECOVERY_DEADLINE_MS}; every answer meanwhile must be 200 or 503.
   */
  async function recover(): Promise<{ recovered: boolean; ms: number; polls: Record<string, number> }> {
    const started = performance.now();
    const polls: Record<string, number> = {};
    while (performance.now() - started < RECOVERY_DEADLINE_MS) {
      const attempt = [await routes.refresh(), await routes.list(), await routes.me()];
      for (const { status } of attempt) polls[status] = (polls[status] ?? 0) + 1;
      expect(attempt.filter(({ status }) => status !== 200 && status !== 503).map(({ route, status }) => `${route} → ${status}`), 'while recovering').toEqual([]);
      if (attempt.every(({ status }) => status === 200)) return { recovered: true, ms: Math.round(performance.now() - started), polls };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { recovered: false, ms: Math.round(performance.now() - started), polls };
  }

  beforeAll(async () => {
    proxy = await startTcpProxy(DATABASE_SERVERS[kind as Exclude<typeof kind, 'sqlite'>]);
    t = await createTestApp({
      options: { deviceCacheTtl: CACHE_TTL_MS / SECOND },
      typeorm: { host: proxy.host, port: proxy.port, ...fastFailing() },
    });
    await t.app.listen(0, '127.0.0.1');
    direct = await new DataSource({ ...t.database.options, entities: [t.deviceEntity] }).initialize();
    // From here to the last test, whatever the app logs is captured (and checked for secrets).
    t.app.useLogger(logger);
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logger.lines.push(`console.${method} ${inspect(args, { depth: 6 })}`));
    }
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    proxy?.restore();
    await direct?.destroy();
    await t?.close();
    await proxy?.close();
  });

  it('works through the proxy while the database is up', async () => {
    a = await login(t, ALICE, { 'X-Device-Model': 'phone' });
    b = await login(t, ALICE, { 'X-Device-Model': 'laptop' });
    const refreshed = await t.http.post('/device-refresh-token/').set('Permanent-Token', a.permanent_token);
    expect(refreshed.status).toBe(200);
    aRefreshed = refreshed.body.token;
    const listed = await t.http.get('/devices/').set(jwt(aRefreshed));
    expect(listed.status).toBe(200);
    expect(listed.body.map(({ id }: { id: number }) => id)).toEqual([a.device_id, b.device_id]);
    expect((await t.http.get('/me').set(jwt(b.token))).status).toBe(200);
    rowsBefore = await storedRows();
    expect(rowsBefore).toHaveLength(2);
    expect(proxy.stats.forwarded, 'the app connects through the proxy').toBeGreaterThan(0);
  });

  it('answers 200 or 503 to every request caught in flight by a cut, and heals by itself', async ({ annotate }) => {
    expect(rowsBefore, 'the previous test set the scene').toHaveLength(2);
    // A little latency keeps the queries on the wire long enough for the cut to catch them.
    proxy.setLatency(25);
    const burst = Promise.all(Array.from({ length: 10 }, () => [routes.refresh(), routes.list()]).flat());
    const waitStarted = performance.now();
    while (proxy.stats.inFlight === 0 && performance.now() - waitStarted < 5_000) await new Promise((resolve) => setImmediate(resolve));
    expect(proxy.stats.inFlight, 'bytes on the wire when cutting').toBeGreaterThan(0);
    proxy.cut();
    proxy.setLatency(0);
    const caught = await burst;
    const counts = tally(caught);
    const slowest = Math.max(...caught.map(({ ms }) => ms));
    proxy.restore();
    const { recovered, ms: recoveryMs, polls } = await recover();
    await annotate(
      `${caught.length} requests (refresh, device list) cut in flight: statuses ${JSON.stringify(counts)}, slowest ${slowest} ms; ` +
        `recovered ${recoveryMs} ms after restore (polls ${JSON.stringify(polls)})`,
      'numbers',
    );
    expect(caught.filter(({ status }) => status !== 200 && status !== 503).map(({ route, status, text }) => `${route} → ${status} ${text}`)).toEqual([]);
    expect(counts[503] ?? 0, `requests that lost their query to the cut (${JSON.stringify(counts)})`).toBeGreaterThan(0);
    expect(slowest, 'slowest response (ms)').toBeLessThan(MAX_OUTAGE_RESPONSE_MS);
    expect(recovered, `recovery within ${RECOVERY_DEADLINE_MS} ms (polls ${JSON.stringify(polls)})`).toBe(true);
    // Refreshes inside the accuracy window and listings write nothing: the rows are as they were.
    expect(await storedRows()).toEqual(rowsBefore);
  });

  it('answers 503 {statusCode, message} on every route that needs the database while it is cut: fast, never 500, never a token', async ({
    annotate,
  }) => {
    expect(rowsBefore, 'the previous test set the scene').toHaveLength(2);
    proxy.cut();
    // Devices a and b are in the key cache: the guard passes, the service's own query fails.
    for (const send of [routes.login, routes.refresh, routes.list, routes.logout, routes.remove]) outage.push(await send());
    // Past the cache's TTL nothing is cached: the guards need a query too, for the app's route as well.
    t.clock.advance(CACHE_TTL_MS + SECOND);
    for (const send of [routes.me, routes.list, routes.logout, routes.remove, routes.refresh, routes.login]) outage.push(await send());
    // A burst, so the pool meets the outage with many waiters at once.
    outage.push(...(await Promise.all(Array.from({ length: 8 }, () => [routes.login(), routes.refresh(), routes.me(), routes.list()]).flat())));

    const counts = tally(outage);
    const slowest = Math.max(...outage.map(({ ms }) => ms));
    await annotate(
      `${outage.length} requests while cut: statuses ${JSON.stringify(counts)}, 5xx other than 503: ` +
        `${outage.filter(({ status }) => status >= 500 && status !== 503).length}, slowest ${slowest} ms; ` +
        `proxy refused ${proxy.stats.refused} and severed ${proxy.stats.severed} connection(s)`,
      'numbers',
    );
    expect(
      outage.filter(({ status }) => status !== 503).map(({ route, status, text }) => `${route} → ${status} ${text}`),
      `statuses while cut: ${JSON.stringify(counts)}`,
    ).toEqual([]);
    for (const { route, body, text } of outage) {
      expect(body, route).toMatchObject({ statusCode: 503, message: expect.stringMatching(/unavailable|try again/i) });
      expect(text.toLowerCase(), `${route}: the body must not talk about tokens`).not.toContain('token');
    }
    expect(slowest, `slowest response during the outage (ms), of ${outage.length}`).toBeLessThan(MAX_OUTAGE_RESPONSE_MS);
    expect(proxy.stats.refused, 'the app tried to reconnect and was refused').toBeGreaterThan(0);
  });

  it('serves every route again by itself once the database is back, with the same rows as before the outage', async ({ annotate }) => {
    expect(outage.length, 'the outage test ran').toBeGreaterThan(0);
    proxy.restore();
    const { recovered, ms: recoveryMs, polls } = await recover();
    expect(recovered, `refresh, device list and GET /me all 200 within ${RECOVERY_DEADLINE_MS} ms (polls: ${JSON.stringify(polls)})`).toBe(true);

    // Nothing the outage refused was half-done: no device lost, added or changed.
    expect(await storedRows(), 'rows after the outage').toEqual(rowsBefore);

    // The routes that write work again too.
    const loggedIn = await routes.login();
    expect(loggedIn.status, loggedIn.text).toBe(200);
    const c = loggedIn.body as { token: string; device_id: number };
    const loggedOut = await t.http.delete('/device-logout/').set({ ...jwt(c.token), 'Device-Id': String(c.device_id) });
    expect(loggedOut.status, loggedOut.text).toBe(204);
    expect(await storedRows(), 'rows after a login and its logout').toEqual(rowsBefore);
    await annotate(`recovered ${recoveryMs} ms after restore; statuses while polling ${JSON.stringify(polls)}; rows unchanged (${rowsBefore.length})`, 'numbers');
  });

  it('logged the outage and the recovery without any permanent token, JWT, token hash or device secret', async ({ annotate }) => {
    expect(outage.length, 'the outage test ran').toBeGreaterThan(0);
    // The capture ran from the cut through the recovery; back to what the test app logs normally.
    t.app.useLogger(new ConsoleLogger({ logLevels: ['error', 'warn'] }));
    vi.restoreAllMocks();
    const rows = await direct.getRepository(t.deviceEntity).find();
    const secrets = new Map<string, string>();
    for (const [name, token] of [['a', a], ['b', b]] as const) {
      secrets.set(`permanent token of ${name}`, token.permanent_token);
      secrets.set(`JWT of ${name}`, token.token);
      secrets.set(`JWT signature of ${name}`, token.token.split('.')[2]!);
      secrets.set(`token hash of ${name}`, createHash('sha256').update(token.permanent_token).digest('hex'));
    }
    secrets.set('refreshed JWT of a', aRefreshed);
    [...issued].forEach((token, i) => secrets.set(`token #${i + 1} handed out by a response`, token));
    for (const row of rows) {
      secrets.set(`stored hash of device ${row.id}`, row.permanentTokenHash);
      secrets.set(`jwt_secret of device ${row.id}`, row.jwtSecret);
      const key = createHmac('sha256', TEST_JWT_SECRET).update(row.jwtSecret, 'utf8').digest();
      secrets.set(`signing key (hex) of device ${row.id}`, key.toString('hex'));
      secrets.set(`signing key (base64url) of device ${row.id}`, key.toString('base64url'));
    }
    const leaks = logger.lines.flatMap((line) =>
      [...secrets].filter(([, secret]) => line.toLowerCase().includes(secret.toLowerCase())).map(([what]) => `${what} in: ${line}`),
    );
    await annotate(`${logger.lines.length} log line(s) during the outage, e.g. ${JSON.stringify(logger.lines[0] ?? '')}`, 'logs');
    expect(logger.lines.length, 'the outage was logged (and the capture works)').toBeGreaterThan(0);
    expect(leaks, `checked ${logger.lines.length} line(s) against ${secrets.size} secrets`).toEqual([]);
  });
});
