import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_TABLE, deviceEntityFor, JWT_DEVICES_MIGRATIONS } from '../lib/index.js';
import { currentDatabaseKind, type DatabaseKind } from './support/databases.js';
import { createFreshServerDatabase, type FreshServerDatabase } from './support/server-databases.js';

/**
 * The shipped migrations as a user runs them: the package built by its own `build` script, a
 * DataSource file written as the README shows, and the real `typeorm` CLI in a child process.
 *
 * Where the "user's app" lives: a temp dir under the repo, `node_modules/.cache/jwt-devices-cli-*`
 * (git-ignored, removed in afterAll), laid out as an app that installed the package:
 *
 *   package.json                         {"type": "module"}: the app is ESM, so data-source.js is ESM
 *   data-source.js                       the README's data-source.ts as tsc emits it (also .mjs, .cjs);
 *                                        it imports 'nestjs-jwt-devices' by name
 *   node_modules/nestjs-jwt-devices/     package.json, README.md, LICENSE and dist/ (what npm installs)
 *
 * The package's own dependencies (typeorm, @nestjs/*, the drivers) resolve upwards to the repo's
 * node_modules, as hoisted dependencies do. Two things rule out the simpler layouts: a file under
 * node_modules cannot import the package by its own name (Node's self-reference stops at a
 * node_modules boundary: ERR_MODULE_NOT_FOUND), and a dir outside the repo cannot resolve 'typeorm'.
 *
 * The build goes straight into that package dir (`npm run build -- --outDir …`) instead of the shared
 * dist/: every e2e project runs this file, and the example's e2e test starts a server from dist/, so
 * several tsc runs rewriting dist/ at once could hand a half-written file to someone's import.
 */

const ROOT = resolve(import.meta.dirname, '..');
const TYPEORM_CLI = join(ROOT, 'node_modules', '.bin', 'typeorm');
const MIGRATIONS = JWT_DEVICES_MIGRATIONS.map((migration) => migration.name);
const kind = currentDatabaseKind();

interface Run {
  code: number;
  output: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(command, args, { ...options, env: { ...process.env, ...options.env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolveRun({ code, output: `$ ${command} ${args.join(' ')}\n${stdout}${stderr}` });
    });
  });
}

/** The DataSource `type` of the Vitest project's database. */
const DRIVER_TYPE: Record<DatabaseKind, string> = { postgres: 'postgres', mariadb: 'mariadb', sqlite: 'better-sqlite3' };

/**
 * README, "Migrations": the `// data-source.ts` block, taken from the README itself so the test follows
 * it, adapted to the project's database (the README's example is PostgreSQL: its `'postgres'` literals
 * become the driver type and, on SQLite, `url:` becomes a file `database:`), then compiled as tsc
 * compiles it for an ESM or a CommonJS app.
 */
function readmeDataSource(module: 'esm' | 'cjs'): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const migrations = readme.slice(readme.indexOf('## Migrations'));
  const block = /```ts\n(\/\/ data-source\.ts\n[\s\S]*?)```/.exec(migrations)?.[1];
  if (!block) throw new Error('README.md, "Migrations": no ```ts block starting with // data-source.ts');
  if (!block.includes("type: 'postgres'") || !block.includes('url: process.env.DATABASE_URL')) {
    throw new Error(`README.md's data-source.ts no longer has type: 'postgres' and url: process.env.DATABASE_URL; adapt this test:\n${block}`);
  }
  let source = block.replaceAll("'postgres'", `'${DRIVER_TYPE[kind]}'`);
  if (kind === 'sqlite') source = source.replace('url: process.env.DATABASE_URL', 'database: process.env.DATABASE_PATH');
  return ts.transpileModule(source, {
    compilerOptions: {
      module: module === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
}

let project: string;
let dataSourceFile: string;
let cliEnv: NodeJS.ProcessEnv;
/** The database as TypeORM options, for in-process connections. */
let connection: ConstructorParameters<typeof DataSource>[0];
let server: FreshServerDatabase | undefined;
let build: Run;

beforeAll(async () => {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  project = mkdtempSync(join(cache, 'jwt-devices-cli-'));
  const installed = join(project, 'node_modules', 'nestjs-jwt-devices');
  mkdirSync(installed, { recursive: true });
  build = await run('npm', ['run', '--silent', 'build', '--', '--outDir', join(installed, 'dist')], { cwd: ROOT });
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(ROOT, file), join(installed, file));

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'cli-user-app', private: true, type: 'module' }, null, 2));
  dataSourceFile = join(project, 'data-source.js');
  writeFileSync(dataSourceFile, readmeDataSource('esm'));
  writeFileSync(join(project, 'data-source.mjs'), readmeDataSource('esm'));
  writeFileSync(join(project, 'data-source.cjs'), readmeDataSource('cjs'));

  if (kind === 'sqlite') {
    const path = join(project, 'app.sqlite');
    cliEnv = { DATABASE_PATH: path };
    connection = { type: 'better-sqlite3', database: path };
  } else {
    server = await createFreshServerDatabase(kind);
    const url = server.url(kind === 'postgres' ? 'postgres' : 'mysql');
    cliEnv = { DATABASE_URL: url };
    connection = { type: kind, url };
  }
}, 180_000);

afterAll(async () => {
  await server?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

/** In-process connections opened by a test, closed after it (SQLite: so the CLI never meets an open handle). */
const opened: DataSource[] = [];
afterEach(async () => {
  for (const source of opened.splice(0)) if (source.isInitialized) await source.destroy();
});

async function open(entities: Function[] = []): Promise<DataSource> {
  const source = new DataSource({ ...connection, entities } as ConstructorParameters<typeof DataSource>[0]);
  opened.push(source);
  return source.initialize();
}

interface CatalogColumn {
  name: string;
  /** As the catalog spells it: information_schema DATA_TYPE, or SQLite's declared type without its width. */
  type: string;
  /** Declared width of a character column. */
  length: number | null;
  /** Fractional-second digits of a timestamp column (SQLite: as declared, if at all). */
  precision: number | null;
  /** MariaDB COLUMN_TYPE / PostgreSQL datetime_precision, for the report. */
  detail: string;
}

interface CatalogIndex {
  name: string;
  columns: string[];
  unique: boolean;
}

/** The table's columns, from the database's own catalog. */
async function catalogColumns(source: DataSource): Promise<CatalogColumn[]> {
  switch (kind) {
    case 'postgres': {
      const rows: { column_name: string; data_type: string; character_maximum_length: number | null; datetime_precision: number | null }[] =
        await source.query(
          `SELECT column_name, data_type, character_maximum_length, datetime_precision FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = $1`,
          [DEVICE_TABLE],
        );
      return rows.map((row) => ({
        name: row.column_name,
        type: row.data_type,
        length: row.character_maximum_length,
        precision: row.datetime_precision,
        detail: `${row.data_type}${row.datetime_precision === null ? '' : `, precision ${row.datetime_precision}`}`,
      }));
    }
    case 'mariadb': {
      const rows: {
        COLUMN_NAME: string;
        DATA_TYPE: string;
        COLUMN_TYPE: string;
        CHARACTER_MAXIMUM_LENGTH: string | number | null;
        DATETIME_PRECISION: string | number | null;
      }[] = await source.query(
          `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, DATETIME_PRECISION FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
          [DEVICE_TABLE],
        );
      return rows.map((row) => ({
        name: row.COLUMN_NAME,
        type: row.DATA_TYPE,
        length: row.CHARACTER_MAXIMUM_LENGTH === null ? null : Number(row.CHARACTER_MAXIMUM_LENGTH),
        precision: row.DATETIME_PRECISION === null ? null : Number(row.DATETIME_PRECISION),
        detail: row.COLUMN_TYPE,
      }));
    }
    case 'sqlite': {
      const rows: { name: string; type: string }[] = await source.query(`PRAGMA table_info("${DEVICE_TABLE}")`);
      return rows.map((row) => {
        const match = /^([^(]+?)\s*(?:\((\d+)\))?$/.exec(row.type)!;
        const type = match[1]!.toLowerCase();
        const size = match[2] ? Number(match[2]) : null;
        const character = /char/.test(type);
        return { name: row.name, type, length: character ? size : null, precision: character ? null : size, detail: row.type };
      });
    }
  }
}

/** The table's indexes, from the database's own catalog (PostgreSQL keeps them only in pg_catalog). */
async function catalogIndexes(source: DataSource): Promise<CatalogIndex[]> {
  switch (kind) {
    case 'postgres': {
      const rows: { name: string; columns: string[]; unique: boolean }[] = await source.query(
        `SELECT i.relname AS name, ix.indisunique AS unique, array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index ix
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
         WHERE n.nspname = current_schema() AND t.relname = $1
         GROUP BY i.relname, ix.indisunique`,
        [DEVICE_TABLE],
      );
      return rows;
    }
    case 'mariadb': {
      const rows: { INDEX_NAME: string; NON_UNIQUE: string | number; COLUMN_NAME: string }[] = await source.query(
        `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
        [DEVICE_TABLE],
      );
      const indexes = new Map<string, CatalogIndex>();
      for (const row of rows) {
        const index = indexes.get(row.INDEX_NAME) ?? { name: row.INDEX_NAME, columns: [], unique: Number(row.NON_UNIQUE) === 0 };
        index.columns.push(row.COLUMN_NAME);
        indexes.set(row.INDEX_NAME, index);
      }
      return [...indexes.values()];
    }
    case 'sqlite': {
      const list: { name: string; unique: number }[] = await source.query(`PRAGMA index_list("${DEVICE_TABLE}")`);
      const indexes: CatalogIndex[] = [];
      for (const { name, unique } of list) {
        const info: { seqno: number; name: string }[] = await source.query(`PRAGMA index_info("${name}")`);
        indexes.push({ name, unique: unique === 1, columns: info.sort((a, b) => a.seqno - b.seqno).map((column) => column.name) });
      }
      return indexes;
    }
  }
}

async function tableExists(source: DataSource): Promise<boolean> {
  const rows: unknown[] = await source.query(
    kind === 'sqlite'
      ? `SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`
      : kind === 'postgres'
        ? `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
        : `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [DEVICE_TABLE],
  );
  return rows.length === 1;
}

function column(columns: CatalogColumn[], name: string): CatalogColumn {
  const found = columns.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no column ${name} in ${DEVICE_TABLE}; columns: ${columns.map((c) => c.name).join(', ')}`);
  return found;
}

describe(`the typeorm CLI runs the shipped migrations from the README's data-source file (${kind})`, () => {
  it('npm run build emits the package', () => {
    expect(build.code, build.output).toBe(0);
  });

  it(`typeorm migration:run -d data-source.js exits 0 and runs ${MIGRATIONS.join(', ')}`, async () => {
    const result = await run(TYPEORM_CLI, ['migration:run', '-d', dataSourceFile], { cwd: project, env: cliEnv });
    expect(result.code, result.output).toBe(0);
    for (const name of MIGRATIONS) expect(result.output).toContain(`Migration ${name} has been executed successfully.`);
  });

  it('leaves no drift: a DataSource with entities: [the device entity] has no schema change to make', async () => {
    const source = await open([deviceEntityFor(DRIVER_TYPE[kind])]);
    const pending = (await source.driver.createSchemaBuilder().log()).upQueries.map((query) => query.query);
    expect(pending).toEqual([]);
  });

  it('permanent_token_hash is 64 characters wide (catalog)', async () => {
    const hash = column(await catalogColumns(await open()), 'permanent_token_hash');
    expect({ type: hash.type, length: hash.length }).toEqual({ type: kind === 'postgres' ? 'character varying' : 'varchar', length: 64 });
  });

  it('the hash has a unique index, user_id and last_request_datetime have indexes (catalog)', async () => {
    const indexes = (await catalogIndexes(await open())).map(({ columns, unique }) => ({ columns, unique }));
    expect(indexes).toEqual(
      expect.arrayContaining([
        { columns: ['permanent_token_hash'], unique: true },
        { columns: ['user_id'], unique: false },
        { columns: ['last_request_datetime'], unique: false },
      ]),
    );
  });

  it('created and last_request_datetime have the type and precision the device entity declares (catalog)', async ({ annotate }) => {
    const entity = deviceEntityFor(DRIVER_TYPE[kind]);
    const source = await open([entity]);
    const columns = await catalogColumns(source);
    const metadata = source.getMetadata(entity);
    for (const [name, property] of [['created', 'created'], ['last_request_datetime', 'lastRequestDatetime']] as const) {
      const declared = metadata.findColumnsWithPropertyPath(property)[0]!;
      const found = column(columns, name);
      await annotate(`${name}: ${found.detail}`);
      expect({ type: found.type, precision: found.precision }).toEqual({
        type: source.driver.normalizeType(declared),
        // SQLite keeps a declared type, not a precision: it stores what TypeORM writes (milliseconds).
        precision: kind === 'sqlite' ? found.precision : (declared.precision ?? null),
      });
    }
  });

  if (kind === 'postgres') {
    it('PostgreSQL: created and last_request_datetime are timestamp with time zone (instants, whatever the TimeZone of app or server)', async () => {
      const columns = await catalogColumns(await open());
      expect([column(columns, 'created').type, column(columns, 'last_request_datetime').type]).toEqual([
        'timestamp with time zone',
        'timestamp with time zone',
      ]);
    });
  }

  it.each(['data-source.js', 'data-source.mjs', 'data-source.cjs'])('typeorm migration:show -d %s loads it and lists the migrations as run', async (file) => {
    const result = await run(TYPEORM_CLI, ['migration:show', '-d', join(project, file)], { cwd: project, env: cliEnv });
    expect(result.code, result.output).toBe(0);
    for (const name of MIGRATIONS) expect(result.output).toMatch(new RegExp(`\\[X\\].*${name}`));
  });

  it('typeorm migration:revert -d data-source.js exits 0 (once per shipped migration) and the table is gone', async () => {
    for (const name of [...MIGRATIONS].reverse()) {
      const result = await run(TYPEORM_CLI, ['migration:revert', '-d', dataSourceFile], { cwd: project, env: cliEnv });
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain(`Migration ${name} has been reverted successfully.`);
    }
    expect(await tableExists(await open())).toBe(false);
  });
});
