import type { DataSource, Repository } from 'typeorm';
import type { DeviceRecord } from './device.entity.js';

/**
 * Runners of the device store's prepared statements on each driver's own connection (see
 * `DeviceStatements`): better-sqlite3, pg and mysql2. Anything else is left to TypeORM.
 */

/** A column's metadata (TypeORM does not export the class from its root). */
export type ColumnMetadata = Repository<DeviceRecord>['metadata']['columns'][number];

/** One statement built by TypeORM's query builder. */
export interface Statement {
  readonly sql: string;
  /** A name unique to this SQL text (pg's prepared statement name). */
  readonly name: string;
  /** The bind parameters in placeholder order: which value, converted as which column. */
  readonly parameters: ReadonlyArray<{ readonly name: string; readonly column: ColumnMetadata }>;
}

export interface WriteResult {
  readonly affected: number;
  readonly id?: unknown;
}

/** Runs a built statement on one driver's own connection. */
export interface DirectRunner {
  read(statement: Statement, values: unknown[]): Promise<Record<string, unknown> | undefined>;
  write(statement: Statement, values: unknown[]): Promise<WriteResult>;
}

/** The driver-specific runner, or `undefined` for drivers (and replicated set-ups) left to TypeORM. */
export function directRunner(dataSource: DataSource): DirectRunner | undefined {
  const options = dataSource.options as { type: string; replication?: unknown; connectorPackage?: string };
  if (options.replication) return undefined;
  const driver = dataSource.driver as unknown as Record<string, unknown>;
  switch (options.type) {
    case 'better-sqlite3':
      return betterSqlite3Runner(driver);
    case 'postgres':
      return pgRunner(driver);
    case 'mysql':
    case 'mariadb':
      return options.connectorPackage === 'mysql' ? undefined : mysql2Runner(driver);
    default:
      return undefined;
  }
}

interface SqliteDatabase {
  prepare(sql: string): { get(...values: unknown[]): unknown; run(...values: unknown[]): { changes: number; lastInsertRowid: number | bigint } };
}

function betterSqlite3Runner(driver: Record<string, unknown>): DirectRunner {
  // Prepared per connection: a DataSource destroyed and initialised again gets a new one.
  let cached: { database: unknown; prepared: Map<string, ReturnType<SqliteDatabase['prepare']>> } | undefined;
  const prepared = (statement: Statement) => {
    const database = driver.databaseConnection as SqliteDatabase;
    if (cached?.database !== database) cached = { database, prepared: new Map() };
    let found = cached.prepared.get(statement.sql);
    if (!found) cached.prepared.set(statement.sql, (found = database.prepare(statement.sql)));
    return found;
  };
  return {
    read: async (statement, values) => prepared(statement).get(...values) as Record<string, unknown> | undefined,
    write: async (statement, values) => {
      const { changes, lastInsertRowid } = prepared(statement).run(...values);
      return { affected: changes, id: lastInsertRowid };
    },
  };
}

interface PgPool {
  query(query: { name: string; text: string; values: unknown[] }): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
}

function pgRunner(driver: Record<string, unknown>): DirectRunner {
  const query = (statement: Statement, values: unknown[]) => {
    const pool = driver.master as PgPool | undefined;
    if (!pool) throw new Error('The PostgreSQL pool is closed');
    return pool.query({ name: statement.name, text: statement.sql, values });
  };
  return {
    read: async (statement, values) => (await query(statement, values)).rows[0],
    write: async (statement, values) => {
      const { rows, rowCount } = await query(statement, values);
      return { affected: rowCount ?? 0, id: rows[0]?.id };
    },
  };
}

interface Mysql2Pool {
  execute(sql: string, values: unknown[], done: (error: Error | null, result: unknown) => void): void;
}

function mysql2Runner(driver: Record<string, unknown>): DirectRunner | undefined {
  if (typeof (driver.pool as Partial<Mysql2Pool> | undefined)?.execute !== 'function') return undefined;
  const execute = (statement: Statement, values: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const pool = driver.pool as Mysql2Pool | undefined;
      if (!pool) return reject(new Error('The MySQL pool is closed'));
      pool.execute(statement.sql, values, (error, result) => (error ? reject(error) : resolve(result)));
    });
  return {
    read: async (statement, values) => ((await execute(statement, values)) as Array<Record<string, unknown>>)[0],
    write: async (statement, values) => {
      const result = await execute(statement, values);
      // MariaDB answers an INSERT … RETURNING with rows; otherwise an OkPacket.
      if (Array.isArray(result)) return { affected: result.length, id: (result[0] as Record<string, unknown> | undefined)?.id };
      const { affectedRows, insertId } = result as { affectedRows: number; insertId: number };
      return { affected: affectedRows, id: insertId };
    },
  };
}
