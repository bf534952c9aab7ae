import type { DataSource } from 'typeorm';
import { USER_REVOCATION_TABLE } from '../jwt-devices.constants.js';
import { deviceEntityFor, MysqlDevice, PostgresDevice } from './device.entity.js';

/** The two statements on `jwt_devices_user_revocation`, in the DataSource's dialect. */
export interface UserRevocationSql {
  /** Upserts the user's row (one bind parameter, the user id) with the database's current time, never moving it back. */
  readonly mark: string;
  /** The milliseconds since the user's mark by the database's clock, as `age` (one bind parameter, the user id); no row when none. */
  readonly age: string;
}

/**
 * Both statements take the time from the database's clock, the one clock every instance shares, so
 * instances whose own clocks disagree still agree on what happened first. `schema` is the device
 * table's (PostgreSQL), the revocation table living beside it.
 */
export function userRevocationSql(dataSource: DataSource, schema: string | undefined, database: string | undefined): UserRevocationSql {
  const { driver } = dataSource;
  const table = driver
    .buildTableName(USER_REVOCATION_TABLE, schema, database)
    .split('.')
    .map((part) => driver.escape(part))
    .join('.');
  switch (deviceEntityFor(dataSource.options.type)) {
    case PostgresDevice:
      return {
        mark:
          `INSERT INTO ${table} AS mark ("user_id", "revoked_at") VALUES ($1, CURRENT_TIMESTAMP) ` +
          `ON CONFLICT ("user_id") DO UPDATE SET "revoked_at" = GREATEST(mark."revoked_at", EXCLUDED."revoked_at")`,
        age: `SELECT EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - "revoked_at")) * 1000 AS age FROM ${table} WHERE "user_id" = $1`,
      };
    case MysqlDevice:
      return {
        mark:
          `INSERT INTO ${table} (\`user_id\`, \`revoked_at\`) VALUES (?, UTC_TIMESTAMP(3)) ` +
          'ON DUPLICATE KEY UPDATE `revoked_at` = GREATEST(`revoked_at`, VALUES(`revoked_at`))',
        age: `SELECT TIMESTAMPDIFF(MICROSECOND, \`revoked_at\`, UTC_TIMESTAMP(6)) / 1000 AS age FROM ${table} WHERE \`user_id\` = ?`,
      };
    default:
      return {
        mark:
          `INSERT INTO ${table} ("user_id", "revoked_at") VALUES (?, strftime('%Y-%m-%d %H:%M:%f', 'now')) ` +
          `ON CONFLICT ("user_id") DO UPDATE SET "revoked_at" = MAX("revoked_at", excluded."revoked_at")`,
        age: `SELECT (julianday('now') - julianday("revoked_at")) * 86400000.0 AS age FROM ${table} WHERE "user_id" = ?`,
      };
  }
}
