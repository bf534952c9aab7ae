import { createHash, randomBytes } from 'node:crypto';
import { DataSource, type Logger as TypeOrmLogger } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceEntityFor, JWT_DEVICES_MIGRATIONS, type NewDevice, TypeOrmDeviceStore } from '../lib/index.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

// The store runs its hot statements prepared once, straight through the driver. Its answers must be
// the ones TypeORM's repository path gives, on every database: each step runs on both paths and
// the two are compared, including what one path writes and the other reads back.

/** Keeps every statement and the parameters TypeORM passed with it. */
class Statements implements TypeOrmLogger {
  readonly seen: Array<{ query: string; parameters?: unknown[] }> = [];
  logQuery(query: string, parameters?: unknown[]): void {
    this.seen.push({ query, parameters });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

let database: TestDatabase;
let dataSource: DataSource;
let prepared: TypeOrmDeviceStore;
let typeorm: TypeOrmDeviceStore;
const statements = new Statements();

beforeAll(async () => {
  database = await createTestDatabase();
  dataSource = new DataSource({
    ...database.options,
    entities: [deviceEntityFor(database.options.type)],
    migrations: [...JWT_DEVICES_MIGRATIONS],
    migrationsRun: true,
    logging: ['query'],
    logger: statements,
  } as typeof database.options);
  await dataSource.initialize();
  prepared = new TypeOrmDeviceStore(dataSource);
  typeorm = new TypeOrmDeviceStore(dataSource, { preparedStatements: false });
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

const hash = () => createHash('sha256').update(randomBytes(32)).digest('hex');

function newDevice(overrides: Partial<NewDevice> = {}): NewDevice {
  return {
    userId: 'Alice',
    permanentTokenHash: hash(),
    jwtSecret: randomBytes(32).toString('hex'),
    name: 'Phone ✓',
    details: 'Mozilla/5.0',
    created: new Date('2026-03-29T01:30:00.123Z'), // the hour a European clock skips: UTC throughout
    lineage: randomBytes(16).toString('base64url'),
    ...overrides,
  };
}

describe(`prepared statements answer as TypeORM does (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  it('are used on this driver, and log their SQL without parameters', async () => {
    expect(prepared.statements()).toBeDefined();
    expect(typeorm.statements()).toBeUndefined();
    statements.seen.length = 0;
    const secret = hash();
    await prepared.findByTokenHash(secret);
    expect(statements.seen).toHaveLength(1);
    expect(statements.seen[0]!.query).toBe(prepared.statements()!.sql('byTokenHash'));
    expect(JSON.stringify(statements.seen)).not.toContain(secret);
  });

  it('insert and every lookup return the same devices on both paths', async () => {
    for (const [writer, reader] of [
      [prepared, typeorm],
      [typeorm, prepared],
    ] as const) {
      const device = newDevice();
      const id = await writer.insert(device);
      expect(Number.isSafeInteger(id) && id > 0).toBe(true);
      const expected = { ...device, id, previousTokenHash: null, rotatedAt: null, lastRequestDatetime: device.created, rotations: 0 };
      for (const store of [reader, writer]) {
        const byId = await store.findById(id);
        expect({ ...byId }).toEqual(Object.fromEntries(Object.entries(expected).filter(([key]) => key in byId!)));
        expect(byId?.created).toBeInstanceOf(Date);
        expect(byId?.created.toISOString()).toBe('2026-03-29T01:30:00.123Z');
        expect({ ...(await store.findByTokenHash(device.permanentTokenHash)) }).toEqual({ ...byId });
      }
      expect({ ...(await prepared.findById(id)) }).toEqual({ ...(await typeorm.findById(id)) });
      expect(Object.keys((await prepared.findById(id))!).sort()).toEqual(Object.keys((await typeorm.findById(id))!).sort());
    }
  });

  it('revocation marks: none is null on both paths; a mark written on one path is read on the other, its age by the database clock', async () => {
    expect(await prepared.sinceRevoked('nobody')).toBeNull();
    expect(await typeorm.sinceRevoked('nobody')).toBeNull();
    const before = statements.seen.length;
    await prepared.markRevoked('Alice');
    expect(statements.seen.slice(before)).toEqual([{ query: expect.stringContaining('jwt_devices_user_revocation'), parameters: [] }]);
    const ages = [await typeorm.sinceRevoked('Alice'), await prepared.sinceRevoked('Alice')];
    for (const age of ages) expect(age).toBeGreaterThanOrEqual(-1);
    for (const age of ages) expect(age).toBeLessThan(5_000);
    expect(await prepared.sinceRevoked('alice')).toBeNull(); // byte for byte
    await new Promise((resolve) => setTimeout(resolve, 20));
    await typeorm.markRevoked('Alice');
    expect(await prepared.sinceRevoked('Alice')).toBeLessThan(20);
  });

  it('a missing device is undefined on both paths', async () => {
    for (const store of [prepared, typeorm]) {
      expect(await store.findById(2_147_483_000)).toBeUndefined();
      expect(await store.findByTokenHash(hash())).toBeUndefined();
      expect(await store.findByPreviousTokenHash(hash())).toBeUndefined();
    }
  });

  it('touch writes only when the stored time is older, on both paths alike', async () => {
    for (const store of [prepared, typeorm]) {
      const id = await store.insert(newDevice());
      const later = new Date('2026-03-29T02:00:00.456Z');
      await store.touch(id, later, new Date('2026-03-29T01:30:00.123Z')); // not older: no write
      expect((await typeorm.findById(id))?.lastRequestDatetime.toISOString()).toBe('2026-03-29T01:30:00.123Z');
      await store.touch(id, later, new Date('2026-03-29T01:30:00.124Z'));
      expect((await prepared.findById(id))?.lastRequestDatetime.toISOString()).toBe(later.toISOString());
      expect({ ...(await prepared.findById(id)) }).toEqual({ ...(await typeorm.findById(id)) });
    }
  });

  it('rotate swaps the hashes once, reports a lost race, and reads back alike', async () => {
    for (const store of [prepared, typeorm]) {
      const device = newDevice();
      const id = await store.insert(device);
      const next = hash();
      const at = new Date('2026-11-30T23:59:59.999Z');
      expect(await store.rotate(id, device.permanentTokenHash, next, at)).toBe(true);
      expect(await store.rotate(id, device.permanentTokenHash, hash(), at)).toBe(false);
      expect(await store.rotate(2_147_483_000, next, hash(), at)).toBe(false);
      const viaPrevious = await prepared.findByPreviousTokenHash(device.permanentTokenHash);
      expect({ ...viaPrevious }).toEqual({ ...(await typeorm.findByPreviousTokenHash(device.permanentTokenHash)) });
      expect(viaPrevious).toMatchObject({ id, permanentTokenHash: next, previousTokenHash: device.permanentTokenHash });
      expect(viaPrevious?.rotatedAt?.toISOString()).toBe(at.toISOString());
      expect(viaPrevious?.lastRequestDatetime.toISOString()).toBe(at.toISOString());
    }
  });

  it('a duplicate token hash fails on the prepared path as on TypeORM’s, as StoreUnavailableError', async () => {
    const device = newDevice();
    await typeorm.insert(device);
    await expect(prepared.insert(device)).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    await expect(typeorm.insert(device)).rejects.toMatchObject({ name: 'StoreUnavailableError' });
  });
});
