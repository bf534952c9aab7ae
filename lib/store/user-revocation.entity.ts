import { Column, Entity, PrimaryColumn } from 'typeorm';
import { USER_REVOCATION_TABLE } from '../jwt-devices.constants.js';
import { MYSQL_BINARY_COLLATION, MysqlDevice, PostgresDevice, deviceEntityFor } from './device.entity.js';

/**
 * One row per user whose devices were all revoked (`revokeAllForUser`, e.g. after a password change):
 * when, by the database's clock. A login whose credential check began before that time never gets a
 * working device, whichever instance served it. Storage is bounded by the number of users. The store
 * reads and writes it with plain SQL (no metadata needed); the entity describes it for the drift test
 * and for `migration:generate`. One class per database family, as the device entity.
 */
function userRevocationEntity(name: string, timestampType: 'datetime' | 'timestamptz', userIdCollation?: string) {
  @Entity(USER_REVOCATION_TABLE)
  class UserRevocationEntity {
    /** The app's user id, as devices store it (byte for byte). */
    @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 255, ...(userIdCollation && { collation: userIdCollation }) })
    userId!: string;

    /** When every device of the user was last revoked, by the database's clock. */
    @Column({ name: 'revoked_at', type: timestampType, precision: 3 })
    revokedAt!: Date;
  }
  Object.defineProperty(UserRevocationEntity, 'name', { value: name });
  return UserRevocationEntity;
}

/** The revocation marks on SQLite. */
export const UserRevocation = userRevocationEntity('UserRevocation', 'datetime');
/** The revocation marks on MySQL and MariaDB. */
export const MysqlUserRevocation = userRevocationEntity('MysqlUserRevocation', 'datetime', MYSQL_BINARY_COLLATION);
/** The revocation marks on PostgreSQL. */
export const PostgresUserRevocation = userRevocationEntity('PostgresUserRevocation', 'timestamptz');

/** The revocation-mark entity for a TypeORM database type, as {@link deviceEntityFor} for devices. */
export function userRevocationEntityFor(type: string | undefined): typeof UserRevocation {
  const device = deviceEntityFor(type);
  return device === PostgresDevice ? PostgresUserRevocation : device === MysqlDevice ? MysqlUserRevocation : UserRevocation;
}
