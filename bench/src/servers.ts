/**
 * Starting, talking to and stopping benchmark servers (child processes), and the databases they use:
 * a SQLite file per server in a temp dir, a fresh PostgreSQL schema per server (dropped at the end).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataSource } from 'typeorm';
import type { DatabaseConfig, DatabaseKind, FromServer, ServerConfig, ToServer, Usage } from './protocol.js';

const SERVER_JS = fileURLToPath(new URL('./server.js', import.meta.url));

/**
 * CPU pinning: on 2+ cores with `taskset` (util-linux), the load generator (this process) runs on
 * core 0 and every server (all its threads) on the other cores, so the two never take turns on one
 * core. `undefined` with the reason when it is not possible.
 */
export const pinning: { servers: string; loadGenerator: string } | { unavailable: string } = (() => {
  const cores = cpus().length;
  if (cores < 2) return { unavailable: `one core only` };
  try {
    execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  } catch (error) {
    return { unavailable: `taskset failed or is missing (${(error as Error).message.split('\n')[0]})` };
  }
  return { loadGenerator: '0', servers: cores === 2 ? '1' : `1-${cores - 1}` };
})();

function pin(pid: number | undefined): void {
  if (pid === undefined || !('servers' in pinning)) return;
  try {
    execFileSync('taskset', ['-a', '-cp', pinning.servers, String(pid)], { stdio: 'ignore' });
  } catch {
    // the server may have exited already; its start-up reports that
  }
}

export class ServerHandle {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (message: FromServer) => void; reject: (error: Error) => void }>();
  private exited = false;

  private constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly child: ChildProcess,
    readonly port: number,
    readonly seedMs: number,
    readonly databaseVersion: string,
  ) {
    child.on('message', (message: FromServer) => {
      if (message.type === 'failed') {
        console.error(`[${name}] ${message.message}`);
        for (const { reject } of this.waiting.values()) reject(new Error(`${name}: ${message.message}`));
        this.waiting.clear();
        return;
      }
      if ('id' in message) {
        this.waiting.get(message.id)?.resolve(message);
        this.waiting.delete(message.id);
      }
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const { reject } of this.waiting.values()) reject(new Error(`${name} exited (${signal ?? code})`));
      this.waiting.clear();
    });
  }

  /** Forks `node bench/dist/server.js` and waits until it listens. */
  static start(name: string, config: ServerConfig, execArgv: string[] = []): Promise<ServerHandle> {
    const child = fork(SERVER_JS, [], {
      execArgv,
      env: { ...process.env, BENCH_SERVER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name}: server exited (${code}) before it was ready`));
      child.once('exit', onExit);
      child.once('message', (message: FromServer) => {
        child.off('exit', onExit);
        if (message.type === 'ready') {
          pin(child.pid); // once it listens: every thread of its own (libuv pool, V8 workers) exists by then
          resolve(new ServerHandle(name, config, child, message.port, message.seedMs, message.databaseVersion));
        } else {
          child.kill('SIGKILL');
          reject(new Error(`${name}: ${message.type === 'failed' ? message.message : 'unexpected message'}`));
        }
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The server's CPU time and SQL statement count so far. */
  async usage(): Promise<Usage> {
    return (await this.ask({ type: 'usage', id: 0 })) as Usage;
  }

  /** Deletes the devices that logins created during a measurement (ids above `keepUpToId`). */
  async prune(keepUpToId: number): Promise<void> {
    await this.ask({ type: 'prune', id: 0, keepUpToId });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies ToServer);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private ask(message: ToServer & { id: number }): Promise<FromServer> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...message, id });
    });
  }
}

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Where PostgreSQL is looked for: BENCH_POSTGRES_* (or the test suite's TEST_POSTGRES_*), else the CI machine's defaults. */
export function postgresServer(env: NodeJS.ProcessEnv = process.env): PostgresServer {
  return {
    host: env.BENCH_POSTGRES_HOST ?? env.TEST_POSTGRES_HOST ?? '127.0.0.1',
    port: Number(env.BENCH_POSTGRES_PORT ?? env.TEST_POSTGRES_PORT ?? 5432),
    user: env.BENCH_POSTGRES_USER ?? env.TEST_POSTGRES_USER ?? 'postgres',
    password: env.BENCH_POSTGRES_PASSWORD ?? env.TEST_POSTGRES_PASSWORD ?? '',
    database: env.BENCH_POSTGRES_DATABASE ?? env.TEST_POSTGRES_DATABASE ?? 'test',
  };
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const settle = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => settle(true)).once('error', () => settle(false)).once('timeout', () => settle(false));
  });
}

/**
 * The databases of one run. `create(label)` hands out a fresh database per server; `dispose()` drops
 * every PostgreSQL schema and deletes the temp dir, whatever happened.
 */
export class Databases {
  private readonly tempDir = mkdtempSync(join(tmpdir(), 'nestjs-jwt-devices-bench-'));
  private readonly schemas: string[] = [];
  private readonly runId = randomBytes(4).toString('hex');
  private admin: DataSource | undefined;

  private constructor(
    readonly postgres: PostgresServer | undefined,
    readonly postgresSkipReason: string | undefined,
    /** `--sqlite-wal`: measure SQLite in WAL mode only. */
    private readonly sqliteWalOnly: boolean,
  ) {}

  static async open(usePostgres: boolean, sqliteWal = false): Promise<Databases> {
    if (!usePostgres) return new Databases(undefined, 'turned off with --no-postgres', sqliteWal);
    const server = postgresServer();
    if (!(await reachable(server.host, server.port))) {
      return new Databases(undefined, `no server answers at ${server.host}:${server.port} (set BENCH_POSTGRES_HOST/PORT/USER/PASSWORD/DATABASE)`, sqliteWal);
    }
    const databases = new Databases(server, undefined, sqliteWal);
    try {
      databases.admin = await new DataSource({ type: 'postgres', ...adminOptions(server) }).initialize();
    } catch (error) {
      return new Databases(undefined, `cannot connect to ${server.host}:${server.port}: ${(error as Error).message}`, sqliteWal);
    }
    return databases;
  }

  get kinds(): DatabaseKind[] {
    const sqlite: DatabaseKind[] = this.sqliteWalOnly ? ['sqlite-wal'] : ['sqlite', 'sqlite-wal'];
    return this.postgres ? [...sqlite, 'postgres'] : sqlite;
  }

  async create(kind: DatabaseKind, label: string): Promise<DatabaseConfig> {
    if (kind !== 'postgres') return { kind: 'sqlite', file: join(this.tempDir, `${label}.sqlite`), wal: kind === 'sqlite-wal' };
    if (!this.postgres || !this.admin) throw new Error('PostgreSQL is not available');
    const schema = `jwt_devices_bench_${this.runId}_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
    await this.admin.query(`CREATE SCHEMA "${schema}"`);
    this.schemas.push(schema);
    return { kind, ...this.postgres, schema };
  }

  async dispose(): Promise<void> {
    if (this.admin) {
      for (const schema of this.schemas.splice(0)) {
        await this.admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error: Error) => {
          console.error(`Could not drop schema ${schema}: ${error.message}`);
        });
      }
      await this.admin.destroy().catch(() => undefined);
      this.admin = undefined;
    }
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}

function adminOptions(server: PostgresServer) {
  return { host: server.host, port: server.port, username: server.user, password: server.password, database: server.database };
}
