import { Logger } from '@nestjs/common';
import { type DataSource, type FindOptionsWhere, In, LessThan, MoreThan, type Repository } from 'typeorm';
import { describeFailure, JwtDevicesError, StoreUnavailableError } from '../jwt-devices.errors.js';
import { type DeviceRecord, deviceEntityFor, MysqlDevice } from './device.entity.js';
import { DeviceStatements } from './device-statements.js';
import { redactDeviceQueryLogs } from './redacting-logger.js';
import { userRevocationSql, type UserRevocationSql } from './user-revocation-sql.js';
import type { DeviceDeleteFilter, DeviceListPage, DeviceStore, ListedDevice, NewDevice, StoredDevice } from './device-store.js';

/** The columns every check of a device needs. */
const STORED = {
  id: true,
  userId: true,
  jwtSecret: true,
  permanentTokenHash: true,
  previousTokenHash: true,
  created: true,
  lastRequestDatetime: true,
  rotatedAt: true,
  lineage: true,
  rotations: true,
} as const;

/** The columns a device list shows. */
const LISTED = { id: true, created: true, name: true, details: true, lastRequestDatetime: true } as const;

/** Most ids in one `IN (…)`: far below every driver's bind-parameter limit (PostgreSQL's is 65,535). */
const IDS_PER_STATEMENT = 10_000;

/**
 * The {@link DeviceStore} on a TypeORM `DataSource`: SQLite, PostgreSQL, MySQL or MariaDB, with the
 * device entity of that database (`deviceEntityFor`). Every query of the module is here. The hot ones
 * (lookups by id and token hash, touch, rotate, insert) run as statements prepared once
 * ({@link DeviceStatements}) on better-sqlite3, pg and mysql2; on other drivers, and for the rest,
 * through the repository.
 */
export class TypeOrmDeviceStore implements DeviceStore {
  private readonly logger = new Logger('JwtDevicesStore');
  private readonly devices: Repository<DeviceRecord>;
  /** The prepared statements, built on first use (`null`: this driver keeps the repository path). */
  private prepared: DeviceStatements | null | undefined;
  private readonly revocations: UserRevocationSql;

  /**
   * @param options.preparedStatements `false` keeps every query on TypeORM's repository path (the
   * reference the prepared statements are tested against). @default true
   */
  constructor(
    private readonly dataSource: DataSource,
    options: { readonly preparedStatements?: boolean } = {},
  ) {
    const entity = deviceEntityFor(dataSource.options.type);
    if (!dataSource.hasMetadata(entity)) {
      const type = dataSource.options.type;
      throw new JwtDevicesError(
        `The TypeORM DataSource has no ${entity.name} entity. Pass database: '${type}' to JwtDevicesModule.forRoot() ` +
          `(or forRootAsync()) and set autoLoadEntities: true in TypeOrmModule, or list deviceEntityFor('${type}') in the DataSource's entities.`,
      );
    }
    if (entity === MysqlDevice) assertUtcConnection(dataSource.options as { timezone?: string });
    this.devices = dataSource.getRepository(entity);
    redactDeviceQueryLogs(dataSource);
    this.revocations = userRevocationSql(dataSource, this.devices.metadata.schema, this.devices.metadata.database);
    if (options.preparedStatements === false) this.prepared = null;
    else if (dataSource.isInitialized) this.statements();
  }

  /**
   * The prepared statements on this driver, or `undefined` where TypeORM's path is kept: on drivers
   * not specialised, and while an entity subscriber listens to devices (TypeORM calls its `afterLoad`,
   * `beforeInsert`, `afterUpdate`… hooks; the prepared statements would bypass them).
   */
  statements(): DeviceStatements | undefined {
    if (this.prepared === undefined && this.dataSource.isInitialized) {
      this.prepared = DeviceStatements.for(this.dataSource, this.devices, Object.keys(STORED), this.revocations) ?? null;
    }
    if (this.dataSource.subscribers.length > 0 && this.subscribed()) return undefined;
    return this.prepared ?? undefined;
  }

  /** Whether a TypeORM subscriber listens to the device entity (or to every entity). */
  private subscribed(): boolean {
    const entity = this.devices.target as Function;
    return this.dataSource.subscribers.some((subscriber) => {
      const target = subscriber.listenTo?.();
      if (target === undefined) return true;
      if (typeof target === 'string') return target === this.devices.metadata.name || target === this.devices.metadata.tableName;
      return target === entity || entity.prototype instanceof target;
    });
  }

  async insert(device: NewDevice): Promise<number> {
    const statements = this.statements();
    if (statements) return this.run(() => statements.insert(device));
    const inserted = await this.run(() => this.devices.insert({ ...device, lastRequestDatetime: device.created, rotations: 0 }));
    return Number(inserted.identifiers[0]?.id);
  }

  findById(id: number): Promise<StoredDevice | undefined> {
    const statements = this.statements();
    return statements ? this.run(() => statements.findById(id)) : this.findOne({ id });
  }

  findByTokenHash(hash: string): Promise<StoredDevice | undefined> {
    const statements = this.statements();
    return statements ? this.run(() => statements.findByTokenHash(hash)) : this.findOne({ permanentTokenHash: hash });
  }

  findByPreviousTokenHash(hash: string): Promise<StoredDevice | undefined> {
    const statements = this.statements();
    return statements ? this.run(() => statements.findByPreviousTokenHash(hash)) : this.findOne({ previousTokenHash: hash });
  }

  findByLineage(lineage: string): Promise<StoredDevice | undefined> {
    return this.findOne({ lineage });
  }

  async touch(id: number, at: Date, ifBefore: Date): Promise<void> {
    const statements = this.statements();
    if (statements) return this.run(() => statements.touch(id, at, ifBefore));
    await this.run(() => this.devices.update({ id, lastRequestDatetime: LessThan(ifBefore) }, { lastRequestDatetime: at }));
  }

  async rotate(id: number, fromHash: string, toHash: string, at: Date): Promise<boolean> {
    const statements = this.statements();
    if (statements) return this.run(() => statements.rotate(id, fromHash, toHash, at));
    const result = await this.run(() =>
      this.devices.update(
        { id, permanentTokenHash: fromHash },
        { permanentTokenHash: toHash, previousTokenHash: fromHash, rotatedAt: at, lastRequestDatetime: at, rotations: () => 'rotations + 1' },
      ),
    );
    return Boolean(result.affected);
  }

  list(userId: string, { after, limit }: DeviceListPage): Promise<ListedDevice[]> {
    const where: FindOptionsWhere<DeviceRecord> = after === null ? { userId } : { userId, id: MoreThan(after) };
    return this.run(() => this.devices.find({ where, order: { id: 'ASC' }, select: LISTED, take: limit }));
  }

  async rename(userId: string, id: number, name: string): Promise<ListedDevice | undefined> {
    const result = await this.run(() => this.devices.update({ id, userId }, { name }));
    if (!result.affected) return undefined;
    return (await this.run(() => this.devices.findOne({ where: { id, userId }, select: LISTED }))) ?? undefined;
  }

  async idsOfUser(userId: string, limit?: number): Promise<number[]> {
    const rows = await this.run(() =>
      this.devices.find({ where: { userId }, select: { id: true }, order: { lastRequestDatetime: 'DESC', id: 'DESC' }, take: limit }),
    );
    return rows.map(({ id }) => id);
  }

  findIdle(cutoff: Date, limit: number): Promise<Array<{ id: number; userId: string }>> {
    return this.run(() =>
      this.devices.find({
        where: { lastRequestDatetime: LessThan(cutoff) },
        select: { id: true, userId: true },
        order: { lastRequestDatetime: 'ASC' },
        take: limit,
      }),
    );
  }

  async markRevoked(userId: string): Promise<void> {
    const statements = this.statements();
    if (statements) return this.run(() => statements.markRevoked(userId));
    await this.run(() => this.dataSource.query(this.revocations.mark, [userId]));
  }

  async sinceRevoked(userId: string): Promise<number | null> {
    const statements = this.statements();
    if (statements) return this.run(() => statements.sinceRevoked(userId));
    const rows: Array<{ age: unknown }> = await this.run(() => this.dataSource.query(this.revocations.age, [userId]));
    return rows.length === 0 ? null : Number(rows[0]!.age);
  }

  async delete(ids: readonly number[], filter: DeviceDeleteFilter = {}): Promise<number[]> {
    const deleted: number[] = [];
    for (let start = 0; start < ids.length; start += IDS_PER_STATEMENT) {
      const chunk = ids.slice(start, start + IDS_PER_STATEMENT);
      const where: FindOptionsWhere<DeviceRecord> = { id: chunk.length === 1 ? chunk[0] : In(chunk) };
      if (filter.userId !== undefined) where.userId = filter.userId;
      if (filter.idleBefore !== undefined) where.lastRequestDatetime = LessThan(filter.idleBefore);
      deleted.push(...(await this.run(() => this.deleteReturningIds(where))));
    }
    return deleted;
  }

  /**
   * One `DELETE … RETURNING id` (PostgreSQL, MariaDB, SQLite ≥ 3.35); on MySQL, which has no RETURNING,
   * the rows are locked (`SELECT … FOR UPDATE`) and deleted in one transaction. Either way the ids are
   * those of the rows this statement removed, not of rows a concurrent delete took first.
   */
  private async deleteReturningIds(where: FindOptionsWhere<DeviceRecord>): Promise<number[]> {
    const { driver } = this.devices.manager.connection;
    const ids = (rows: unknown): number[] => (Array.isArray(rows) ? rows.map((row: { id: unknown }) => Number(row.id)) : []);
    if (driver.isReturningSqlSupported('delete')) {
      return ids((await this.devices.createQueryBuilder().delete().where(where).returning('id').execute()).raw);
    }
    if (driver.options.type !== 'mysql' && driver.options.type !== 'aurora-mysql') {
      const [sql, parameters] = this.devices.createQueryBuilder().delete().where(where).getQueryAndParameters();
      return ids(await this.devices.query(`${sql} RETURNING "id"`, parameters));
    }
    return this.devices.manager.transaction(async (manager) => {
      const repository = manager.getRepository(this.devices.target);
      const locked = ids(await repository.find({ where, select: { id: true }, lock: { mode: 'pessimistic_write' } }));
      if (locked.length > 0) await repository.delete({ id: In(locked) });
      return locked;
    });
  }

  private async findOne(where: FindOptionsWhere<DeviceRecord>): Promise<StoredDevice | undefined> {
    return (await this.run(() => this.devices.findOne({ where, select: STORED }))) ?? undefined;
  }

  /**
   * Runs one statement. A failure becomes {@link StoreUnavailableError}, logged by class and code only:
   * messages and parameters may hold hashes or secrets, and never reach the log.
   */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      this.logger.error(`Device store operation failed: ${describeFailure(error)}`);
      throw new StoreUnavailableError();
    }
  }
}

/**
 * MySQL and MariaDB `datetime` columns hold no zone: mysql2 writes and reads them in its `timezone`,
 * by default the process's local zone. Outside UTC that stores local times, which other instances read
 * differently and which a DST change makes ambiguous (the repeated hour) or unreadable (the skipped
 * one). So the connection must say UTC, unless the process's zone is UTC all year anyway.
 * @throws JwtDevicesError naming the fix.
 */
function assertUtcConnection({ timezone = 'local' }: { timezone?: string }): void {
  if (['Z', 'z', '+00:00', '-00:00'].includes(timezone)) return;
  const year = new Date().getFullYear();
  const utcProcess = timezone === 'local' && [0, 3, 6, 9].every((month) => new Date(year, month, 1).getTimezoneOffset() === 0);
  if (utcProcess) return;
  throw new JwtDevicesError(
    `The MySQL/MariaDB DataSource has timezone: '${timezone}'${timezone === 'local' ? ` and this process runs in ${Intl.DateTimeFormat().resolvedOptions().timeZone}` : ''}, ` +
      "so device times would be stored in that zone rather than UTC. Set timezone: 'Z' in the DataSource (TypeOrmModule) options.",
  );
}
