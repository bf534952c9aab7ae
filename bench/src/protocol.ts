/**
 * What the benchmark's parent (load generator, bench/src/run.ts) and its server children
 * (bench/src/server.ts) say to each other over the IPC channel of `child_process.fork`. The side
 * channel carries the server's CPU counters, so reading them costs the measured routes nothing.
 */

export type Adapter = 'express' | 'fastify';

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string; /** `journal_mode = WAL` (TypeORM's `enableWAL`); off by default, as in TypeORM. */ wal: boolean }
  | { kind: 'postgres'; host: string; port: number; user: string; password: string; database: string; schema: string };

/** A database of the report: SQLite in TypeORM's default journal mode, SQLite in WAL mode, PostgreSQL. */
export type DatabaseKind = 'sqlite' | 'sqlite-wal' | 'postgres';

export interface ServerConfig {
  adapter: Adapter;
  database: DatabaseConfig;
  /** Device rows inserted with one SQL statement before the server listens (the bench's own device comes on top). */
  fillerRows: number;
}

/** Secret of the module (`jwtSecret`) and of the passport-jwt baselines: one secret, so the JWTs cost the same to check. */
export const JWT_SECRET = 'nestjs-jwt-devices-benchmark-secret-0123456789';

/** The one user: `validateUser` compares these strings, `findUser` returns `{ id }`. */
export const BENCH_USER = { id: '1', username: 'bench', password: 'bench-password' } as const;

export type ToServer =
  | { type: 'usage'; id: number }
  | { type: 'prune'; id: number; keepUpToId: number }
  | { type: 'stop' };

export interface Usage {
  /** `process.cpuUsage()`, µs. */
  user: number;
  system: number;
  /** SQL statements the server has sent so far (counted by a TypeORM logger). */
  queries: number;
  /** `process.hrtime.bigint()` in µs, as a string: the clock `--cpu-prof` timestamps use. */
  monotonicUs: string;
}

export type FromServer =
  | { type: 'ready'; port: number; seedMs: number; databaseVersion: string }
  | ({ type: 'usage'; id: number } & Usage)
  | { type: 'pruned'; id: number }
  | { type: 'failed'; message: string };
