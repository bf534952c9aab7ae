import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';

/** The databases the e2e suite runs on. Vitest runs one project per kind (see vitest.config.ts). */
export type DatabaseKind = 'sqlite' | 'postgres' | 'mariadb';

/** A server's connection settings: TEST_<NAME>_HOST/PORT/USER/PASSWORD/DATABASE, else the CI machine's. */
function server(name: string, port: number, username: string) {
  const env = (key: string, fallback: string) => process.env[`TEST_${name}_${key}`] ?? fallback;
  return {
    host: env('HOST', '127.0.0.1'),
    port: Number(env('PORT', String(port))),
    username: env('USER', username),
    password: env('PASSWORD', ''),
    database: env('DATABASE', 'test'),
  };
}

/** Connection settings, from the environment with the CI machine's defaults. */
export const DATABASE_SERVERS = {
  postgres: server('POSTGRES', 5432, 'postgres'),
  mariadb: server('MARIADB', 3306, 'root'),
} as const;

/** The database kind of the running Vitest project. */
export function currentDatabaseKind(): DatabaseKind {
  const kind = process.env.TEST_DATABASE ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres' && kind !== 'mariadb') throw new Error(`Unknown TEST_DATABASE "${kind}"`);
  return kind;
}

/** A fresh, empty database (a schema on PostgreSQL) that no other test sees; `drop()` removes it. */
export interface TestDatabase {
  readonly kind: DatabaseKind;
  /** Connection options for TypeORM, without entities or migrations. */
  readonly options: TypeOrmModuleOptions & DataSourceOptions;
  drop(): Promise<void>;
}

/**
 * @param shared a database that several DataSources (two app instances, or a migration run and then an
 * app) open one after the other: on SQLite a file in a temp dir, which `drop()` deletes, rather than
 * `:memory:`, which each connection sees empty. Server databases are shared anyway.
 */
export async function createTestDatabase(kind: DatabaseKind = currentDatabaseKind(), { shared = false } = {}): Promise<TestDatabase> {
  if (kind === 'sqlite' && shared) {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-devices-test-'));
    return { kind, options: { type: 'better-sqlite3', database: join(dir, 'app.sqlite') }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (kind === 'sqlite') {
    return { kind, options: { type: 'better-sqlite3', database: ':memory:' }, drop: async () => undefined };
  }
  const name = `jwt_devices_test_${randomBytes(6).toString('hex')}`;
  const server = DATABASE_SERVERS[kind];
  const admin = new DataSource({ type: kind, ...server, synchronize: false });
  await admin.initialize();
  try {
    await admin.query(kind === 'postgres' ? `CREATE SCHEMA "${name}"` : `CREATE DATABASE \`${name}\``);
  } finally {
    await admin.destroy();
  }
  const options = (kind === 'postgres' ? { type: kind, ...server, schema: name } : { type: kind, ...server, database: name, timezone: 'Z' }) as TestDatabase['options'];
  return {
    kind,
    options,
    async drop() {
      const dropper = new DataSource({ type: kind, ...server });
      await dropper.initialize();
      try {
        await dropper.query(kind === 'postgres' ? `DROP SCHEMA "${name}" CASCADE` : `DROP DATABASE \`${name}\``);
      } finally {
        await dropper.destroy();
      }
    },
  };
}
