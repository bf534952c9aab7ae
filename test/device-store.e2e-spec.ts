import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceEntityFor, JWT_DEVICES_MIGRATIONS, type NewDevice, TypeOrmDeviceStore } from '../lib/index.js';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';

/** The TypeORM store on a real database of the project's kind, without an app around it. */

const kind = currentDatabaseKind();
let database: TestDatabase | undefined;
const sources: DataSource[] = [];
afterEach(async () => {
  for (const source of sources.splice(0)) if (source.isInitialized) await source.destroy();
  await database?.drop();
  database = undefined;
});

/** A migrated database and a store on it; `type` overrides the DataSource type (e.g. `mysql` on a MariaDB server). */
async function store(type?: string): Promise<TypeOrmDeviceStore> {
  database ??= await createTestDatabase();
  const options = { ...database.options, ...(type && { type }) } as ConstructorParameters<typeof DataSource>[0];
  const source = new DataSource({ ...options, entities: [deviceEntityFor(options.type)], migrations: [...JWT_DEVICES_MIGRATIONS], migrationsRun: true });
  sources.push(source);
  await source.initialize();
  return new TypeOrmDeviceStore(source);
}

const device = (userId: string, created = new Date('2026-01-01T00:00:00.000Z')): NewDevice => ({
  userId,
  permanentTokenHash: randomBytes(32).toString('hex'),
  jwtSecret: randomBytes(32).toString('hex'),
  name: 'phone',
  details: '',
  created,
  lineage: randomBytes(16).toString('base64url'),
});

const variants = kind === 'mariadb' ? [undefined, 'mysql'] : [undefined];

describe.each(variants)(`TypeOrmDeviceStore.delete (${kind}, DataSource type %s)`, (type) => {
  it('returns the ids of the rows it deleted: not those of another user, not those already gone', async () => {
    const s = await store(type);
    const [a, b, c] = [await s.insert(device('alice')), await s.insert(device('alice')), await s.insert(device('bob'))];
    expect((await s.delete([a, b, c, 999_999], { userId: 'alice' })).sort()).toEqual([a, b].sort());
    expect(await s.delete([a, b], { userId: 'alice' })).toEqual([]);
    expect(await s.idsOfUser('bob')).toEqual([c]);
  });

  it('keeps rows its idleBefore filter excludes, and says so', async () => {
    const s = await store(type);
    const old = await s.insert(device('alice', new Date('2026-01-01T00:00:00.000Z')));
    const fresh = await s.insert(device('alice', new Date('2026-02-01T00:00:00.000Z')));
    expect(await s.delete([old, fresh], { idleBefore: new Date('2026-01-15T00:00:00.000Z') })).toEqual([old]);
    expect(await s.idsOfUser('alice')).toEqual([fresh]);
  });

  it('reports each id once across concurrent deletes of the same rows', async () => {
    const s = await store(type);
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await s.insert(device('alice')));
    const results = await Promise.all(Array.from({ length: 5 }, () => s.delete(ids, { userId: 'alice' })));
    expect(results.flat().sort((x, y) => x - y)).toEqual(ids);
  });
});
