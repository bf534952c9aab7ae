import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LessThan, MoreThanOrEqual } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DevicesService } from '../lib/index.js';
import { currentDatabaseKind } from './support/databases.js';
import { DAY, HOUR } from './support/fake-clock.js';
import { ALICE, createTestApp, login, type TestApp } from './support/test-app.js';

/**
 * A device table of 1,000,000 rows: every lookup the module makes must use an index (checked with the
 * database's own plan, on the very SQL the module sends), and `purgeExpired()` must delete in bounded
 * batches, only expired devices. Also times a refresh and a cold JWT verification against an empty
 * table (reported as annotations: `--reporter=verbose`; not asserted).
 */

const kind = currentDatabaseKind();
const TABLE = 'jwt_devices_device';
const ROWS = 1_000_000;
const USERS = 10_000;
/** Generated user ids are '1000'…'10999', apart from the test users '1' (alice) and '2' (bob). */
const FIRST_USER_ID = 1_000;
const SPREAD_SECONDS = 30 * 86_400;
/** Row n's last_request_datetime is `ageOf(n)` seconds before the clock's start: a permutation spread over 30 days. */
const STRIDE = 7_919;
const ageOf = (n: number) => (n * STRIDE) % SPREAD_SECONDS;
const EXPIRATION = 30 * DAY;
/** Moving the clock 36 hours on expires the rows older than 28.5 days: a twentieth (about 50,000). */
const ADVANCE = 36 * HOUR;
const EXPIRED = (() => {
  let count = 0;
  for (let n = 1; n <= ROWS; n++) if (ageOf(n) > (EXPIRATION - ADVANCE) / 1_000) count++;
  return count;
})();
const FRESH = ROWS - EXPIRED + 1; // + alice's own device, refreshed at the start
const BATCH = 10_000;
const MAX_BATCHES = 3;
const PLACEHOLDER_SECRET = '0'.repeat(64);

interface Statement {
  query: string;
  parameters: unknown[];
}

interface Plan {
  /** The plan, one line per node/row, as the database prints it. */
  lines: string[];
  /** Indexes the plan reads (`PRIMARY KEY` for SQLite's rowid). */
  indexes: string[];
  /** Whether any step reads the whole device table. */
  fullScan: boolean;
}

describe(`${ROWS.toLocaleString('en')} devices (${kind})`, () => {
  let t: TestApp;
  let service: DevicesService;
  let alice: { token: string; permanent_token: string; device_id: number };
  const timings: Record<'empty' | 'full', { refresh: number; cold: number }> = {
    empty: { refresh: Number.NaN, cold: Number.NaN },
    full: { refresh: Number.NaN, cold: Number.NaN },
  };

  beforeAll(async () => {
    // deviceCacheSize 0: every JWT verification is the cold path (one primary-key read).
    t = await createTestApp({ options: { permanentTokenExpiration: EXPIRATION / 1_000, deviceCacheSize: 0 } });
    service = t.app.get(DevicesService);
    alice = await login(t, ALICE);
  });
  afterAll(async () => {
    await t?.close();
  });

  const esc = (name: string) => t.dataSource.driver.escape(name);
  function tableRef(): string {
    const metadata = t.dataSource.getMetadata(t.deviceEntity);
    return (metadata.schema ? `${esc(metadata.schema)}.` : '') + esc(metadata.tableName);
  }
  const repository = () => t.dataSource.getRepository(t.deviceEntity);

  /** The SQL the module sends to the device table while `work` runs, with its parameters. */
  async function capture<T>(work: () => Promise<T>): Promise<{ result: T; statements: Statement[] }> {
    const spy = vi.spyOn(t.dataSource.logger, 'logQuery');
    try {
      const result = await work();
      const statements = spy.mock.calls
        .map(([query, parameters]) => ({ query, parameters: Array.isArray(parameters) && parameters.length ? parameters : standIns(query) }))
        .filter(({ query }) => /^\s*(SELECT|UPDATE|DELETE)\b/i.test(query) && query.includes(TABLE));
      return { result, statements };
    } finally {
      spy.mockRestore();
    }
  }

  /**
   * The module's prepared statements are logged without their parameters (they hold hashes); a plan
   * does not depend much on the values, so a stand-in per placeholder will do.
   */
  function standIns(query: string): unknown[] {
    const placeholders = kind === 'postgres' ? new Set(query.match(/\$\d+/g) ?? []).size : (query.match(/\?/g) ?? []).length;
    // Values of a row that exists: MariaDB plans a lookup of a missing unique key as "impossible WHERE", naming no index.
    const value = /WHERE[\s\S]*permanent_token_hash/.test(query) ? createHash('sha256').update(alice.permanent_token).digest('hex') : String(alice.device_id);
    return Array.from({ length: placeholders }, () => value);
  }

  /** The database's own plan for a statement. */
  async function explain({ query, parameters }: Statement): Promise<Plan> {
    switch (kind) {
      case 'sqlite': {
        const rows: { detail: string }[] = await t.dataSource.query(`EXPLAIN QUERY PLAN ${query}`, parameters);
        const lines = rows.map((row) => row.detail);
        return {
          lines,
          indexes: lines.flatMap((line) => {
            const index = /USING (?:COVERING )?INDEX (\S+)/.exec(line)?.[1];
            return index ? [index] : /USING INTEGER PRIMARY KEY/.test(line) ? ['PRIMARY KEY'] : [];
          }),
          fullScan: lines.some((line) => /^SCAN /.test(line)),
        };
      }
      case 'postgres': {
        const rows: { 'QUERY PLAN': { Plan: PostgresPlanNode }[] }[] = await t.dataSource.query(`EXPLAIN (FORMAT JSON) ${query}`, parameters);
        const nodes: PostgresPlanNode[] = [];
        const walk = (node: PostgresPlanNode) => {
          nodes.push(node);
          for (const child of node.Plans ?? []) walk(child);
        };
        walk(rows[0]!['QUERY PLAN'][0]!.Plan);
        return {
          lines: nodes.map(
            (node) =>
              node['Node Type'] +
              (node['Index Name'] ? ` using ${node['Index Name']}` : '') +
              (node['Relation Name'] ? ` on ${node['Relation Name']}` : '') +
              (node['Index Cond'] ? ` (${abbreviate(node['Index Cond'])})` : ''),
          ),
          indexes: nodes.flatMap((node) => (node['Index Name'] ? [node['Index Name']] : [])),
          fullScan: nodes.some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === TABLE),
        };
      }
      case 'mariadb': {
        const rows: { table: string; type: string; key: string | null; rows: unknown; Extra: string | null }[] = await t.dataSource.query(
          `EXPLAIN ${query}`,
          parameters,
        );
        return {
          lines: rows.map((row) => `${row.table}: type=${row.type} key=${row.key ?? 'NULL'} rows=${String(row.rows)}${row.Extra ? ` ${row.Extra}` : ''}`),
          indexes: rows.flatMap((row) => (row.key ? [row.key] : [])),
          fullScan: rows.some((row) => row.type === 'ALL'),
        };
      }
    }
  }

  /** The primary key's index as plans name it. */
  async function primaryKeyIndex(): Promise<string> {
    if (kind === 'sqlite') return 'PRIMARY KEY';
    if (kind === 'mariadb') return 'PRIMARY';
    const rows: { name: string }[] = await t.dataSource.query(
      `SELECT i.relname AS name FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indisprimary AND ix.indrelid = $1::regclass`,
      [tableRef()],
    );
    return rows[0]!.name;
  }

  /** Explains the statement matching `lookup`, asserts it reads `index`, and that no statement scans the whole table. */
  async function expectIndexed(statements: Statement[], lookup: RegExp, index: string, annotate: (message: string) => Promise<unknown>) {
    const target = statements.filter(({ query }) => lookup.test(query));
    expect(target.map(({ query }) => query), `one statement matching ${lookup} among:\n${statements.map((s) => s.query).join('\n')}`).toHaveLength(1);
    const plan = await explain(target[0]!);
    await annotate(`plan: ${plan.lines.join(' | ')}`);
    expect(plan.indexes, plan.lines.join('\n')).toContain(index);
    for (const statement of statements) {
      const other = await explain(statement);
      expect(other.fullScan, `${statement.query}\n${other.lines.join('\n')}`).toBe(false);
    }
  }

  async function median(work: () => Promise<unknown>, runs = 50): Promise<number> {
    for (let i = 0; i < 5; i++) await work();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await work();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(runs / 2)]!;
  }

  async function measure(into: { refresh: number; cold: number }): Promise<void> {
    into.refresh = await median(async () => expect((await service.refresh(alice.permanent_token)).response.token).toBeTypeOf('string'));
    into.cold = await median(async () => expect((await service.authenticate(alice.token)).device.id).toBe(alice.device_id));
  }

  /** `column` of row n as SQL: user id, token hash, last_request_datetime (`base` minus seconds) and created (a bit earlier). */
  function bulkInsert(): { sql: string; parameters: unknown[] } {
    const metadata = t.dataSource.getMetadata(t.deviceEntity);
    const lastRequest = metadata.findColumnWithPropertyName('lastRequestDatetime')!;
    // The clock's "now" exactly as TypeORM writes a Date to this column, so the module reads these rows as its own.
    const base = t.dataSource.driver.preparePersistentValue(new Date(t.clock.now()), lastRequest);
    const columns = ['user_id', 'permanent_token_hash', 'jwt_secret', 'name', 'details', 'created', 'last_request_datetime'].map(esc).join(', ');
    const age = `((n * ${STRIDE}) % ${SPREAD_SECONDS})`;
    const before = `(n % 86400)`;
    switch (kind) {
      case 'sqlite':
        return {
          sql: `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${ROWS})
                INSERT INTO ${tableRef()} (${columns})
                SELECT CAST(${FIRST_USER_ID} + n % ${USERS} AS TEXT), jwt_devices_test_sha256(n), '${PLACEHOLDER_SECRET}', 'bulk', '',
                       strftime('%Y-%m-%d %H:%M:%f', ?, '-' || (${age} + ${before}) || ' seconds'),
                       strftime('%Y-%m-%d %H:%M:%f', ?, '-' || ${age} || ' seconds')
                FROM seq`,
          parameters: [base, base],
        };
      case 'postgres': {
        const type = t.dataSource.driver.normalizeType(lastRequest);
        return {
          sql: `INSERT INTO ${tableRef()} (${columns})
                SELECT (${FIRST_USER_ID} + n % ${USERS})::text, encode(sha256(n::text::bytea), 'hex'), '${PLACEHOLDER_SECRET}', 'bulk', '',
                       CAST($1 AS ${type}) - (${age} + ${before}) * interval '1 second',
                       CAST($1 AS ${type}) - ${age} * interval '1 second'
                FROM generate_series(1::bigint, ${ROWS}) AS n
                ORDER BY 2`, // hash order: the unique index grows at its right edge (~18 s instead of ~22 s)
          parameters: [base],
        };
      }
      case 'mariadb':
        return {
          sql: `INSERT INTO ${tableRef()} (${columns})
                SELECT CAST(${FIRST_USER_ID} + n % ${USERS} AS CHAR), SHA2(n, 256), '${PLACEHOLDER_SECRET}', 'bulk', '',
                       ? - INTERVAL (${age} + ${before}) SECOND,
                       ? - INTERVAL ${age} SECOND
                FROM (SELECT seq AS n FROM seq_1_to_${ROWS}) AS numbers
                ORDER BY UNHEX(SHA2(n, 256))`,
          // In hash order InnoDB appends to the unique index instead of splitting random pages (~15 s
          // instead of ~40 s). Sorted as bytes: \`ORDER BY 2\` under TypeORM's utf8mb4_unicode_ci connection
          // makes MariaDB 10.11 insert 424,037 of the 1,000,000 rows without an error or warning.
          parameters: [base, base],
        };
    }
  }

  it('times refresh and cold JWT verification on an empty table', async ({ annotate }) => {
    await measure(timings.empty);
    await annotate(`empty table: refresh ${timings.empty.refresh.toFixed(3)} ms, cold JWT verification ${timings.empty.cold.toFixed(3)} ms (medians of 50)`);
    expect(await repository().count()).toBe(1);
  });

  it(`inserts ${ROWS.toLocaleString('en')} devices with one INSERT … SELECT, ~${USERS} users, 30 days of last_request_datetime`, { timeout: 180_000 }, async ({ annotate }) => {
    if (kind === 'sqlite') {
      const sqlite = (t.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
      sqlite.function('jwt_devices_test_sha256', { deterministic: true }, (n: number) => createHash('sha256').update(String(n)).digest('hex'));
    }
    const { sql, parameters } = bulkInsert();
    const started = performance.now();
    await t.dataSource.query(sql, parameters);
    const inserted = performance.now() - started;
    await t.dataSource.query(kind === 'sqlite' ? 'ANALYZE' : kind === 'postgres' ? `ANALYZE ${tableRef()}` : `ANALYZE TABLE ${tableRef()}`);
    await annotate(`insert ${(inserted / 1_000).toFixed(1)} s, analyze ${((performance.now() - started - inserted) / 1_000).toFixed(1)} s`);

    expect(await repository().count()).toBe(ROWS + 1);
    const [stats] = await t.dataSource.query(
      `SELECT COUNT(DISTINCT ${esc('user_id')}) AS users, MIN(${esc('last_request_datetime')}) AS oldest, MAX(${esc('last_request_datetime')}) AS newest FROM ${tableRef()}`,
    );
    expect(Number(stats.users)).toBe(USERS + 1);
    // Read back through the entity: the module must see these timestamps as it sees its own.
    const oldest = await repository().findOne({ where: {}, order: { lastRequestDatetime: 'ASC' }, select: { id: true, lastRequestDatetime: true, permanentTokenHash: true } });
    expect(t.clock.now() - oldest!.lastRequestDatetime.getTime()).toBe((SPREAD_SECONDS - 1) * 1_000);
    expect(oldest!.permanentTokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await service.list(String(FIRST_USER_ID + 1_234))).devices).toHaveLength(ROWS / USERS);
  });

  it('refresh: the permanent_token_hash lookup uses its unique index', async ({ annotate }) => {
    const { statements } = await capture(() => service.refresh(alice.permanent_token));
    await expectIndexed(statements, /permanent_token_hash"?`?\s*=/, 'UQ_jwt_devices_device_permanent_token_hash', annotate);
  });

  it('cold JWT verification: the id lookup uses the primary key', async ({ annotate }) => {
    const { result, statements } = await capture(() => service.authenticate(alice.token));
    expect(result.device.id).toBe(alice.device_id);
    await expectIndexed(statements, /^SELECT[\s\S]*WHERE[\s\S]*\bid["`]?\s*=/, await primaryKeyIndex(), annotate);
  });

  it('device list: the user_id lookup uses its index', async ({ annotate }) => {
    const { result, statements } = await capture(() => service.list(String(FIRST_USER_ID + 42)));
    expect(result.devices).toHaveLength(ROWS / USERS);
    await expectIndexed(statements, /user_id["`]?\s*=/, 'IDX_jwt_devices_device_user_id', annotate);
  });

  it(`times refresh and cold JWT verification on ${ROWS.toLocaleString('en')} rows`, async ({ annotate }) => {
    await measure(timings.full);
    await annotate(
      `refresh ${timings.empty.refresh.toFixed(3)} ms (empty) → ${timings.full.refresh.toFixed(3)} ms (1M); ` +
        `cold JWT verification ${timings.empty.cold.toFixed(3)} ms (empty) → ${timings.full.cold.toFixed(3)} ms (1M) (medians of 50)`,
    );
    expect(Number.isFinite(timings.full.refresh) && Number.isFinite(timings.full.cold)).toBe(true);
  });

  /** Expired (last_request_datetime before the cutoff) and fresh devices, with a checksum of the fresh ones' ids. */
  async function census() {
    const cutoff = new Date(t.clock.now() - EXPIRATION);
    const [expired, fresh, freshIds] = await Promise.all([
      repository().count({ where: { lastRequestDatetime: LessThan(cutoff) } }),
      repository().count({ where: { lastRequestDatetime: MoreThanOrEqual(cutoff) } }),
      repository().sum('id', { lastRequestDatetime: MoreThanOrEqual(cutoff) }),
    ]);
    return { expired, fresh, freshIds: Number(freshIds) };
  }

  it(`purgeExpired({ batchSize: ${BATCH}, maxBatches: ${MAX_BATCHES} }) deletes at most ${BATCH * MAX_BATCHES} devices, only expired ones, through the last_request_datetime index`, { timeout: 120_000 }, async ({ annotate }) => {
    t.clock.advance(ADVANCE);
    const before = await census();
    expect({ expired: before.expired, fresh: before.fresh }).toEqual({ expired: EXPIRED, fresh: FRESH });

    const { result: purged, statements } = await capture(() => service.purgeExpired({ batchSize: BATCH, maxBatches: MAX_BATCHES }));
    expect(purged).toBeLessThanOrEqual(BATCH * MAX_BATCHES);
    expect(purged).toBe(BATCH * MAX_BATCHES); // there are more expired devices than that
    expect(await census()).toEqual({ expired: EXPIRED - purged, fresh: FRESH, freshIds: before.freshIds });

    const batches = statements.filter(({ query }) => /^\s*SELECT/i.test(query));
    expect(batches).toHaveLength(MAX_BATCHES);
    await expectIndexed([batches[0]!], /last_request_datetime["`]?\s*</, 'IDX_jwt_devices_device_last_request_datetime', annotate);
    const deletes = statements.filter(({ query }) => /^\s*DELETE/i.test(query));
    const deletePlan = await explain(deletes[0]!);
    await annotate(`batch DELETE plan: ${deletePlan.lines.join(' | ')}`);
    expect(deletePlan.fullScan, deletePlan.lines.join('\n')).toBe(false);
  });

  it('a full purgeExpired() leaves no expired device and every fresh one', { timeout: 120_000 }, async ({ annotate }) => {
    const before = await census();
    const started = performance.now();
    const purged = await service.purgeExpired();
    await annotate(`full purge of ${purged} devices: ${((performance.now() - started) / 1_000).toFixed(1)} s`);
    expect(purged).toBe(before.expired);
    expect(await census()).toEqual({ expired: 0, fresh: FRESH, freshIds: before.freshIds });
    expect(await repository().count()).toBe(FRESH);
  });
});

/** Plans quote parameter values: keep the shape, not 10,000 ids. */
function abbreviate(text: string, max = 100): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

interface PostgresPlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PostgresPlanNode[];
}

/** The part of better-sqlite3's Database used here (the package ships no types of its own). */
interface SqliteConnection {
  function(name: string, options: { deterministic: boolean }, implementation: (n: number) => string): void;
}
