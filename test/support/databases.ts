import { randomBytes } from 'node:crypto';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';

/** The databases the e2e suite runs on. Vitest runs one project per kind (see vitest.config.ts). */
export type DatabaseKind = 'sqlite' | 'postgres' | 'mariadb';

/** Connection settings, from the environment with the CI machine's defaults. */
export const DATABASE_SERVERS = {
  postgres: {
    host: process.env.TEST_POSTGRES_HOST ?? '127.0.0.1',
    port: Number(process.env.TEST_POSTGRES_PORT ?? 5432),
    username: process.env.TEST_POSTGRES_USER ?? 'postgres',
    password: process.env.TEST_POSTGRES_PASSWORD ?? '',
    database: process.env.TEST_POSTGRES_DATABASE ?? 'test',
  },
  mariadb: {
    host: process.env.TEST_MARIADB_HOST ?? '127.0.0.1',
    port: Number(process.env.TEST_MARIADB_PORT ?? 3306),
    username: process.env.TEST_MARIADB_USER ?? 'root',
    password: process.env.TEST_MARIADB_PASSWORD ?? '',
    database: process.env.TEST_MARIADB_DATABASE ?? 'test',
  },
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

export async function createTestDatabase(kind: DatabaseKind = currentDatabaseKind()): Promise<TestDatabase> {
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
  const options = (kind === 'postgres' ? { type: kind, ...server, schema: name } : { type: kind, ...server, database: name }) as TestDatabase['options'];
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
