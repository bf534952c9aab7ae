import { afterEach, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { DEVICE_TABLE, deviceEntityFor, JWT_DEVICES_MIGRATIONS, USER_REVOCATION_TABLE, userRevocationEntityFor } from '../lib/index.js';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';

let dataSource: DataSource | undefined;
let database: TestDatabase | undefined;
afterEach(async () => {
  await dataSource?.destroy();
  await database?.drop();
  dataSource = database = undefined;
});

/** A DataSource on a fresh, empty database of the project's kind. */
async function connect(migrations: Function[]): Promise<DataSource> {
  database = await createTestDatabase();
  const type = database.options.type;
  dataSource = new DataSource({ ...database.options, entities: [deviceEntityFor(type), userRevocationEntityFor(type)], migrations });
  return dataSource.initialize();
}

/** The SQL TypeORM would generate to bring the database in line with the entity (`migration:generate`). */
async function pendingSchemaChanges(source: DataSource): Promise<string[]> {
  return (await source.driver.createSchemaBuilder().log()).upQueries.map((query) => query.query);
}

describe(`shipped migrations (${currentDatabaseKind()})`, () => {
  it('create exactly what the Device entity describes: no drift', async () => {
    const source = await connect([...JWT_DEVICES_MIGRATIONS]);
    expect(await source.runMigrations()).toHaveLength(JWT_DEVICES_MIGRATIONS.length);
    expect(await pendingSchemaChanges(source)).toEqual([]);
  });

  it('would notice drift: an empty database has pending changes (the check can fail)', async () => {
    const source = await connect([]);
    expect((await pendingSchemaChanges(source)).join('\n')).toContain(DEVICE_TABLE);
  });

  it('would notice a missing revocation table (the check covers both entities)', async () => {
    const source = await connect(JWT_DEVICES_MIGRATIONS.slice(0, -1) as unknown as Function[]);
    await source.runMigrations();
    expect((await pendingSchemaChanges(source)).join('\n')).toContain(USER_REVOCATION_TABLE);
  });

  it('create the unique index on the token hash and the index on user_id', async () => {
    const source = await connect([...JWT_DEVICES_MIGRATIONS]);
    await source.runMigrations();
    const table = await source.createQueryRunner().getTable(DEVICE_TABLE);
    const indices = table!.indices.map((index) => ({ columns: index.columnNames, unique: index.isUnique }));
    expect(indices).toEqual(
      expect.arrayContaining([
        { columns: ['permanent_token_hash'], unique: true },
        { columns: ['previous_token_hash'], unique: true },
        { columns: ['user_id'], unique: false },
        { columns: ['last_request_datetime'], unique: false },
      ]),
    );
  });

  it('revert cleanly, one at a time: the upgrades first (their columns go), then the table', async () => {
    const source = await connect([...JWT_DEVICES_MIGRATIONS]);
    await source.runMigrations();
    expect(await source.createQueryRunner().hasTable(USER_REVOCATION_TABLE)).toBe(true);
    await source.undoLastMigration();
    expect(await source.createQueryRunner().hasTable(USER_REVOCATION_TABLE)).toBe(false);
    for (let left = JWT_DEVICES_MIGRATIONS.length - 1; left > 1; left--) {
      await source.undoLastMigration();
      expect(await source.createQueryRunner().hasTable(DEVICE_TABLE)).toBe(true);
    }
    const columns = (await source.createQueryRunner().getTable(DEVICE_TABLE))!.columns.map(({ name }) => name);
    expect(columns).not.toContain('lineage');
    expect(columns).not.toContain('rotations');
    await source.undoLastMigration();
    expect(await source.createQueryRunner().hasTable(DEVICE_TABLE)).toBe(false);
  });
});
