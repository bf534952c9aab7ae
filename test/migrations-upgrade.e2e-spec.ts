import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_TABLE, DevicesService, JWT_DEVICES_MIGRATIONS, LoginRevokedError } from '../lib/index.js';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/**
 * The upgrade path: a database created by the first shipped migration only (the schema of version
 * 0.1.0), holding devices, then the later migrations run as `migration:run` runs them (here by the
 * app's `migrationsRun`). Existing devices must keep working.
 */

const kind = currentDatabaseKind();
const [FIRST] = JWT_DEVICES_MIGRATIONS;
const cleanups: Array<() => Promise<void> | void> = [];
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh database that several DataSources open one after the other (on SQLite, a file), dropped after the test. */
async function sharedDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase(kind, { shared: true });
  cleanups.push(() => database.drop());
  return database;
}

/** Runs only the first migration (or the given ones), then `fill` on that old schema. */
async function oldSchema(database: TestDatabase, fill: (source: DataSource) => Promise<void>, migrations: Function[] = [FIRST]): Promise<void> {
  const source = new DataSource({ ...database.options, migrations } as ConstructorParameters<typeof DataSource>[0]);
  await source.initialize();
  try {
    expect(await source.runMigrations()).toHaveLength(migrations.length);
    await fill(source);
  } finally {
    await source.destroy();
  }
}

/** A timestamp literal each database reads as this UTC instant. */
const at = (iso: string) => (kind === 'postgres' ? `${iso.replace('T', ' ').replace('Z', '')}+00` : iso.replace('T', ' ').replace('Z', ''));
const placeholders = (count: number) => Array.from({ length: count }, (_, i) => (kind === 'postgres' ? `$${i + 1}` : '?')).join(', ');

/** Inserts a device as version 0.1.0 wrote it. */
async function insertOldDevice(source: DataSource, userId: string, token: string, name = 'old phone'): Promise<void> {
  const now = at('2026-01-01T00:00:00.000Z');
  const schema = (source.options as { schema?: string }).schema;
  await source.query(
    `INSERT INTO ${schema ? `"${schema}".` : ''}${DEVICE_TABLE} (user_id, permanent_token_hash, jwt_secret, name, details, created, last_request_datetime) VALUES (${placeholders(7)})`,
    [userId, createHash('sha256').update(token).digest('hex'), 'ab'.repeat(32), name, '', now, now],
  );
}

describe(`upgrading a database made by the first migration (${kind})`, () => {
  it('adds lineage and rotations; a device from before keeps refreshing and rotating with its old-format token', async () => {
    const database = await sharedDatabase();
    const old = 'o'.repeat(43);
    await oldSchema(database, (source) => insertOldDevice(source, '1', old));
    t = await createTestApp({ sharedDatabase: database, options: { permanentTokenRotation: true } });
    expect(await t.devices()).toMatchObject([{ userId: '1', lineage: null, rotations: null }]);
    const refreshed = await t.http.post('/device-refresh-token/').set('Permanent-Token', old);
    expect(refreshed.status).toBe(200);
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', refreshed.body.permanent_token)).status).toBe(200);
    expect(await t.devices()).toMatchObject([{ lineage: null, rotations: null }]);
    // New logins get lineages beside the old device.
    const login = await t.http.post('/auth-token/').send({ username: 'alice', password: 'alice-password' });
    expect((await t.devices()).map(({ lineage }) => lineage)).toEqual([null, login.body.permanent_token.split('.')[0]]);
  });
});

describe(`upgrading to the revocation marks (CreateUserRevocation1764700000000, ${kind})`, () => {
  it('a database of the three earlier migrations, with a device: it keeps working, and revokeAllForUser() then refuses a racing login', async () => {
    const database = await sharedDatabase();
    const old = 'u'.repeat(43);
    await oldSchema(database, (source) => insertOldDevice(source, '1', old), JWT_DEVICES_MIGRATIONS.slice(0, -1) as unknown as Function[]);
    t = await createTestApp({ sharedDatabase: database });
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', old)).status).toBe(200);
    const service = t.app.get(DevicesService);
    const attempt = service.loginAttempt();
    expect(await service.revokeAllForUser(1)).toBe(1);
    await expect(service.issue({ id: 1 }, undefined, { attempt })).rejects.toThrow(LoginRevokedError);
    expect((await t.http.post('/auth-token/').send({ username: 'alice', password: 'alice-password' })).status).toBe(200);
  });
});

describe.runIf(kind === 'mariadb')(`upgrading user_id to a NO PAD collation (${kind})`, () => {
  /** The collation of `user_id`, from the catalog. */
  const collation = async (source: DataSource) =>
    (
      await source.query(
        `SELECT COLLATION_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'user_id'`,
        [DEVICE_TABLE],
      )
    )[0].name;

  it('converts utf8mb4_bin (PAD SPACE) to utf8mb4_nopad_bin, keeping every id byte for byte; revert goes back', async () => {
    const database = await sharedDatabase();
    const ids = ['bob', 'bob ', 'Bob', 'bob  ', 'ünï'];
    let before = '';
    await oldSchema(database, async (source) => {
      before = await collation(source);
      for (const [i, id] of ids.entries()) await insertOldDevice(source, id, `token-${i}`.padEnd(43, 'x'));
      // The bug being fixed: PAD SPACE makes 'bob' match three users.
      expect(Number((await source.query(`SELECT COUNT(*) AS n FROM ${DEVICE_TABLE} WHERE user_id = ?`, ['bob']))[0].n)).toBe(3);
    });
    expect(before).toBe('utf8mb4_bin');

    const source = new DataSource({ ...database.options, migrations: [...JWT_DEVICES_MIGRATIONS] } as ConstructorParameters<typeof DataSource>[0]);
    await source.initialize();
    try {
      expect(await source.runMigrations()).toHaveLength(JWT_DEVICES_MIGRATIONS.length - 1);
      expect(await collation(source)).toBe('utf8mb4_nopad_bin');
      const rows: Array<{ user_id: string }> = await source.query(`SELECT user_id FROM ${DEVICE_TABLE} ORDER BY id`);
      expect(rows.map((row) => row.user_id)).toEqual(ids);
      for (const id of ids) {
        expect(Number((await source.query(`SELECT COUNT(*) AS n FROM ${DEVICE_TABLE} WHERE user_id = ?`, [id]))[0].n)).toBe(1);
      }
      await source.undoLastMigration(); // CreateUserRevocation1764700000000
      await source.undoLastMigration();
      expect(await collation(source)).toBe('utf8mb4_bin');
    } finally {
      await source.destroy();
    }
  });
});
