import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DATABASE_SERVERS } from './databases.js';
import { reachable } from './reachable.js';

/** The database servers the suite can use (SQLite needs none). */
export type ServerKind = keyof typeof DATABASE_SERVERS;

/** Whether the server of `kind` answers on TCP within a second (the same test as vitest.config.ts). */
export function serverReachable(kind: ServerKind): Promise<boolean> {
  return reachable(DATABASE_SERVERS[kind]);
}

/** One line saying where the server was looked for, for skip messages. */
export function serverAddress(kind: ServerKind): string {
  const { host, port } = DATABASE_SERVERS[kind];
  return `${host}:${port}`;
}

/** A new, empty *database* (not a schema) on a server, reachable by URL as an app's DATABASE_URL would be. */
export interface FreshServerDatabase {
  readonly kind: ServerKind;
  readonly name: string;
  /** `scheme://user[:password]@host:port/name`, e.g. `url('mariadb')`. */
  url(scheme: string): string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh database through an admin connection to the configured one (`test`). On MariaDB it
 * takes the server's default character set and collation unless `collation` is given, as an app's
 * database would.
 */
export async function createFreshServerDatabase(kind: ServerKind, { collation }: { collation?: string } = {}): Promise<FreshServerDatabase> {
  const server = DATABASE_SERVERS[kind];
  const name = `jwt_devices_db_${randomBytes(6).toString('hex')}`;
  await admin(kind, (source) =>
    source.query(
      kind === 'postgres'
        ? `CREATE DATABASE "${name}"`
        : `CREATE DATABASE \`${name}\`${collation ? ` CHARACTER SET utf8mb4 COLLATE ${collation}` : ''}`,
    ),
  );
  const credentials = encodeURIComponent(server.username) + (server.password ? `:${encodeURIComponent(server.password)}` : '');
  return {
    kind,
    name,
    url: (scheme) => `${scheme}://${credentials}@${server.host}:${server.port}/${name}`,
    drop: () =>
      admin(kind, (source) =>
        source.query(kind === 'postgres' ? `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)` : `DROP DATABASE IF EXISTS \`${name}\``),
      ),
  };
}

async function admin(kind: ServerKind, run: (source: DataSource) => Promise<unknown>): Promise<void> {
  const source = new DataSource({ type: kind, ...DATABASE_SERVERS[kind] });
  await source.initialize();
  try {
    await run(source);
  } finally {
    await source.destroy();
  }
}
