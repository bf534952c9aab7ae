import { createHash } from 'node:crypto';
import { type DataSource, type ObjectLiteral, QueryFailedError, type Repository } from 'typeorm';
import type { DeviceRecord } from './device.entity.js';
import type { NewDevice, StoredDevice } from './device-store.js';
import { type ColumnMetadata, type DirectRunner, directRunner, type Statement, type WriteResult } from './direct-runners.js';
import type { UserRevocationSql } from './user-revocation-sql.js';

/**
 * The hot statements of the device store, built once with TypeORM's query builder and the entity's
 * metadata (so quoting, placeholders, table and column names are the dialect's own), then run straight
 * through the driver: a cached `prepare()` on better-sqlite3, a named prepared query on pg, `execute` on
 * mysql2. Values cross with the driver's own `preparePersistentValue` / `prepareHydratedValue`, the
 * conversions TypeORM applies, so a Date is stored and read back exactly as through a repository.
 * {@link DeviceStatements.for} returns `undefined` for drivers it does not know; the store then keeps
 * TypeORM's path.
 */
export class DeviceStatements {
  private constructor(
    private readonly dataSource: DataSource,
    private readonly run: DirectRunner,
    private readonly statements: Record<StatementName, Statement>,
    private readonly stored: readonly ColumnMetadata[],
  ) {}

  /** The statements on this DataSource's driver, or `undefined` when it is not specialised. */
  static for(
    dataSource: DataSource,
    devices: Repository<DeviceRecord>,
    storedProperties: readonly string[],
    revocations: UserRevocationSql,
  ): DeviceStatements | undefined {
    const run = directRunner(dataSource);
    if (!run) return undefined;
    const metadata = devices.metadata;
    const column = (property: string) => {
      const found = metadata.findColumnWithPropertyName(property);
      if (!found) throw new Error(`The device entity has no ${property} column`);
      return found;
    };
    const name = (property: string) => dataSource.driver.escape(column(property).databaseName);
    const stored = storedProperties.map(column);
    const select = (property: string) => {
      const query = devices.createQueryBuilder('device');
      query.select(`device.${storedProperties[0]}`, storedProperties[0]);
      for (const selected of storedProperties.slice(1)) query.addSelect(`device.${selected}`, selected);
      return query.where(`device.${property} = :${property}`).limit(1);
    };
    const raw = (property: string) => () => `:${property}`;
    const insertQuery = devices
      .createQueryBuilder()
      .insert()
      .values(Object.fromEntries(INSERTED.map((property) => [property, raw(property)])) as ObjectLiteral);
    const statements = {
      byId: build(select('id'), { id: column('id') }),
      byTokenHash: build(select('permanentTokenHash'), { permanentTokenHash: column('permanentTokenHash') }),
      byPreviousTokenHash: build(select('previousTokenHash'), { previousTokenHash: column('previousTokenHash') }),
      touch: build(
        devices
          .createQueryBuilder()
          .update()
          .set({ lastRequestDatetime: raw('at') })
          .where(`${name('id')} = :id AND ${name('lastRequestDatetime')} < :ifBefore`)
          .updateEntity(false),
        { at: column('lastRequestDatetime'), id: column('id'), ifBefore: column('lastRequestDatetime') },
      ),
      rotate: build(
        devices
          .createQueryBuilder()
          .update()
          .set({
            permanentTokenHash: raw('toHash'),
            previousTokenHash: raw('fromHash'),
            rotatedAt: raw('at'),
            lastRequestDatetime: raw('at'),
            rotations: () => `${name('rotations')} + 1`,
          })
          .where(`${name('id')} = :id AND ${name('permanentTokenHash')} = :fromHash`)
          .updateEntity(false),
        { toHash: column('permanentTokenHash'), fromHash: column('permanentTokenHash'), at: column('lastRequestDatetime'), id: column('id') },
      ),
      insert: build(
        dataSource.options.type === 'postgres' ? insertQuery.returning(name('id')) : insertQuery,
        Object.fromEntries(INSERTED.map((property) => [property, column(property)])),
      ),
      // Plain SQL (the revocation table has no metadata to build from); the user id is bound as devices' is.
      markRevoked: named(revocations.mark, [{ name: 'userId', column: column('userId') }]),
      sinceRevoked: named(revocations.age, [{ name: 'userId', column: column('userId') }]),
    } satisfies Record<StatementName, Statement>;
    return new DeviceStatements(dataSource, run, statements, stored);
  }

  async markRevoked(userId: string): Promise<void> {
    await this.write('markRevoked', { userId });
  }

  async sinceRevoked(userId: string): Promise<number | null> {
    const row = await this.read('sinceRevoked', { userId });
    return row === undefined ? null : Number(row.age);
  }

  /** The SQL of each statement, for tests and the bench. */
  sql(name: StatementName): string {
    return this.statements[name].sql;
  }

  async findById(id: number): Promise<StoredDevice | undefined> {
    return this.hydrate(await this.read('byId', { id }));
  }

  async findByTokenHash(hash: string): Promise<StoredDevice | undefined> {
    return this.hydrate(await this.read('byTokenHash', { permanentTokenHash: hash }));
  }

  async findByPreviousTokenHash(hash: string): Promise<StoredDevice | undefined> {
    return this.hydrate(await this.read('byPreviousTokenHash', { previousTokenHash: hash }));
  }

  async touch(id: number, at: Date, ifBefore: Date): Promise<void> {
    await this.write('touch', { id, at, ifBefore });
  }

  async rotate(id: number, fromHash: string, toHash: string, at: Date): Promise<boolean> {
    return (await this.write('rotate', { id, fromHash, toHash, at })).affected > 0;
  }

  async insert(device: NewDevice): Promise<number> {
    return Number((await this.write('insert', { ...device, lastRequestDatetime: device.created, rotations: 0 })).id);
  }

  private read(name: StatementName, values: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const statement = this.statements[name];
    this.log(statement);
    return this.run.read(statement, this.bind(statement, values)).catch(failed(statement));
  }

  private write(name: StatementName, values: Record<string, unknown>): Promise<WriteResult> {
    const statement = this.statements[name];
    this.log(statement);
    return this.run.write(statement, this.bind(statement, values)).catch(failed(statement));
  }

  private bind(statement: Statement, values: Record<string, unknown>): unknown[] {
    const driver = this.dataSource.driver;
    return statement.parameters.map(({ name, column }) => driver.preparePersistentValue(values[name], column));
  }

  private hydrate(row: Record<string, unknown> | undefined): StoredDevice | undefined {
    if (!row) return undefined;
    const driver = this.dataSource.driver;
    const device: Record<string, unknown> = {};
    for (const column of this.stored) device[column.propertyName] = driver.prepareHydratedValue(row[column.propertyName], column);
    return device as unknown as StoredDevice;
  }

  /**
   * Tells TypeORM's logger, as TypeORM's query runners do for every statement (its own loggers then
   * honour the `logging` option; a custom one sees every statement, as before). The statement only,
   * never its parameters: they hold token hashes and secrets.
   */
  private log(statement: Statement): void {
    this.dataSource.logger.logQuery(statement.sql, []);
  }
}

/** The statements {@link DeviceStatements} prepares. */
export type StatementName = 'byId' | 'byTokenHash' | 'byPreviousTokenHash' | 'touch' | 'rotate' | 'insert' | 'markRevoked' | 'sinceRevoked';

/** The columns a login writes. */
const INSERTED = ['userId', 'permanentTokenHash', 'jwtSecret', 'name', 'details', 'created', 'lastRequestDatetime', 'lineage', 'rotations'] as const;

/** A driver's error as TypeORM would have thrown it, so the store reports both paths alike (no parameters kept). */
const failed = (statement: Statement) => (error: unknown) => {
  throw error instanceof Error ? new QueryFailedError(statement.sql, [], error) : error;
};

/**
 * Turns a query builder into SQL plus the order of its named parameters: each parameter is bound to a
 * unique marker, and the markers' places in the driver's parameter array give the order (pg numbers a
 * repeated name once, the `?` dialects repeat it; both come out right).
 */
function build(query: { setParameters(parameters: ObjectLiteral): unknown; getQueryAndParameters(): [string, unknown[]] }, columns: Record<string, ColumnMetadata>): Statement {
  const markers = Object.fromEntries(Object.keys(columns).map((name) => [name, `\u0000jwt-devices:${name}`]));
  query.setParameters(markers);
  const [sql, bound] = query.getQueryAndParameters();
  const byMarker = new Map(Object.entries(markers).map(([name, marker]) => [marker, name]));
  const parameters = bound.map((marker) => {
    const name = byMarker.get(marker as string);
    if (name === undefined) throw new Error('Unexpected bind parameter in a device statement');
    return { name, column: columns[name]! };
  });
  return named(sql, parameters);
}

/** A statement with its pg prepared-statement name, unique to its SQL text. */
function named(sql: string, parameters: Statement['parameters']): Statement {
  return { sql, name: `jwt_devices_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`, parameters };
}

