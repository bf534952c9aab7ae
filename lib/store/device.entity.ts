import { Column, type ColumnOptions, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { DEVICE_TABLE } from '../jwt-devices.constants.js';
import { JwtDevicesError } from '../jwt-devices.errors.js';

/**
 * Collation of `user_id` on MySQL and MariaDB: byte-wise and NO PAD, so `Alice` and `alice`, and `bob`
 * and `bob ` (PAD SPACE collations such as `utf8mb4_bin` ignore trailing spaces), are different users.
 * MariaDB's name; the shipped migrations use MySQL 8's equivalent, `utf8mb4_0900_bin`, on MySQL.
 */
export const MYSQL_BINARY_COLLATION = 'utf8mb4_nopad_bin';

/**
 * The columns of a device, whatever the database. One signed-in device: created at login, deleted at
 * logout or expiry. Its permanent token is stored only as a SHA-256 hash; its JWT secret lives only
 * here, so deleting the row revokes both at once.
 *
 * TypeORM fixes a column's type when the entity class is declared, and no timestamp type is valid on
 * every database, so the entity comes in one concrete class per database family: {@link Device}
 * (SQLite), {@link MysqlDevice} (MySQL, MariaDB: `datetime(3)`, and a binary collation on `user_id`, so
 * user ids that differ only in case never share devices) and {@link PostgresDevice}
 * (`timestamp with time zone`). `deviceEntityFor(type)` picks one; `JwtDevicesModule.forRoot({ database })`
 * registers it for `autoLoadEntities`. The shipped migrations create
 * exactly these tables; a test fails when they drift apart.
 */
export abstract class DeviceRecord {
  /** Primary key, sent to clients as `device_id`. */
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** SHA-256 (hex) of the current permanent token; the token itself is never stored. */
  @Index('UQ_jwt_devices_device_permanent_token_hash', { unique: true })
  @Column({ name: 'permanent_token_hash', type: 'varchar', length: 64 })
  permanentTokenHash!: string;

  /** With rotation on: SHA-256 of the token this one replaced, recognised for the reuse interval. */
  @Index('UQ_jwt_devices_device_previous_token_hash', { unique: true })
  @Column({ name: 'previous_token_hash', type: 'varchar', length: 64, nullable: true })
  previousTokenHash!: string | null;

  /** Random per-device secret (hex) from which the device's JWT signing key is derived. */
  @Column({ name: 'jwt_secret', type: 'varchar', length: 64 })
  jwtSecret!: string;

  /** `X-Device-Model` if the client sent one, else its `User-Agent`; at most 255 characters. */
  @Column({ type: 'varchar', length: 255 })
  name!: string;

  /** The `User-Agent` when `name` came from `X-Device-Model`, else empty; at most 255 characters. */
  @Column({ type: 'varchar', length: 255 })
  details!: string;

  /**
   * Random id (base64url, 22 characters) that every permanent token of this device carries, so a retired
   * token can be traced to its device. `null` on devices created before lineages existed.
   */
  @Index('UQ_jwt_devices_device_lineage', { unique: true })
  @Column({ type: 'varchar', length: 22, nullable: true })
  lineage!: string | null;

  /**
   * How many times the permanent token has rotated: how far a retired token may be walked forward.
   * `null` on devices created before lineages (they have none to walk). No column default, so an insert
   * needs no read-back on databases without RETURNING.
   */
  @Column({ type: 'integer', nullable: true })
  rotations!: number | null;

  /** The app's user id, as a string, compared case-sensitively. No foreign key: the module does not own the user table. */
  abstract userId: string;
  /** When the device logged in. */
  abstract created: Date;
  /** Last refresh, written at most once per `permanentTokenExpirationAccuracy`; expiry counts from it. */
  abstract lastRequestDatetime: Date;
  /** With rotation on: when the permanent token last rotated (start of the reuse interval). */
  abstract rotatedAt: Date | null;
}

/** Timestamp columns: milliseconds kept, and on PostgreSQL a real `timestamp with time zone`. */
const timestamp = (type: 'datetime' | 'timestamptz', name: string, nullable = false): ColumnOptions => ({
  name,
  type,
  precision: 3,
  nullable,
});

/** The user id column; MySQL and MariaDB compare text case-insensitively unless told otherwise. */
const userIdColumn = (collation?: string): ColumnOptions => ({ name: 'user_id', type: 'varchar', length: 255, ...(collation && { collation }) });

/**
 * Declares the device entity of one database family from the one description above. TypeORM reads
 * column types when a class is decorated, hence a class per family rather than options at run time.
 */
function deviceEntity(name: string, timestampType: 'datetime' | 'timestamptz', userIdCollation?: string) {
  @Entity(DEVICE_TABLE)
  class DeviceEntity extends DeviceRecord {
    @Index('IDX_jwt_devices_device_user_id')
    @Column(userIdColumn(userIdCollation))
    userId!: string;

    @Column(timestamp(timestampType, 'created'))
    created!: Date;

    @Index('IDX_jwt_devices_device_last_request_datetime')
    @Column(timestamp(timestampType, 'last_request_datetime'))
    lastRequestDatetime!: Date;

    @Column(timestamp(timestampType, 'rotated_at', true))
    rotatedAt!: Date | null;
  }
  // The class name is the entity name TypeORM reports, and the one error messages tell users to list.
  Object.defineProperty(DeviceEntity, 'name', { value: name });
  return DeviceEntity;
}

/** The device table on SQLite (`datetime(3)`, UTC). */
export const Device = deviceEntity('Device', 'datetime');
export type Device = InstanceType<typeof Device>;

/** The device table on MySQL and MariaDB (`datetime(3)`, UTC; `user_id` in a binary NO PAD collation). */
export const MysqlDevice = deviceEntity('MysqlDevice', 'datetime', MYSQL_BINARY_COLLATION);
export type MysqlDevice = InstanceType<typeof MysqlDevice>;

/** The device table on PostgreSQL (`timestamp(3) with time zone`). */
export const PostgresDevice = deviceEntity('PostgresDevice', 'timestamptz');
export type PostgresDevice = InstanceType<typeof PostgresDevice>;

/**
 * The device entity for a TypeORM database type (`DataSourceOptions['type']`, e.g. `'postgres'`). The module
 * registers it itself when given `database`; a DataSource built outside Nest (the typeorm CLI's) lists it.
 * @throws JwtDevicesError for databases the module does not support.
 */
export function deviceEntityFor(type: string | undefined): typeof Device | typeof MysqlDevice | typeof PostgresDevice {
  switch (type) {
    case 'postgres':
    case 'aurora-postgres':
    case 'cockroachdb':
      return PostgresDevice;
    case 'better-sqlite3':
    case 'sqljs':
    case 'capacitor':
    case 'cordova':
    case 'react-native':
    case 'expo':
    case 'nativescript':
      return Device;
    case 'mysql':
    case 'mariadb':
    case 'aurora-mysql':
      return MysqlDevice;
    default:
      throw new JwtDevicesError(`nestjs-jwt-devices supports SQLite, PostgreSQL, MySQL and MariaDB; this DataSource is "${String(type)}".`);
  }
}
