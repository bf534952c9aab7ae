import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DEVICE_TABLE } from '../../jwt-devices.constants.js';
import { deviceEntityFor, MysqlDevice } from '../device.entity.js';

/** Binary NO PAD collations, by preference: MariaDB's, then MySQL 8's (8.0.17+). */
const NO_PAD_BINARY = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin'];

/**
 * MySQL and MariaDB only: `user_id` moves from `utf8mb4_bin`, which is PAD SPACE (`'bob'` equals
 * `'bob '`, so one user could list, rename and sign out another's devices), to a binary NO PAD
 * collation, so user ids compare byte for byte. Stored ids are kept as they are. No-op elsewhere:
 * SQLite and PostgreSQL already compare `varchar` exactly.
 */
export class UserIdNoPadCollation1764600000000 implements MigrationInterface {
  name = 'UserIdNoPadCollation1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (deviceEntityFor(queryRunner.connection.options.type) !== MysqlDevice) return;
    await this.setCollation(queryRunner, await noPadBinaryCollation(queryRunner));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (deviceEntityFor(queryRunner.connection.options.type) !== MysqlDevice) return;
    await this.setCollation(queryRunner, 'utf8mb4_bin');
  }

  private async setCollation(queryRunner: QueryRunner, collation: string): Promise<void> {
    await queryRunner.query(`ALTER TABLE \`${DEVICE_TABLE}\` MODIFY \`user_id\` varchar(255) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL`);
  }
}

/** The server's binary NO PAD collation (MySQL/MariaDB). @throws when it has none. */
export async function noPadBinaryCollation(queryRunner: QueryRunner): Promise<string> {
  const available: Array<{ COLLATION_NAME: string }> = await queryRunner.query(
    `SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (?, ?)`,
    NO_PAD_BINARY,
  );
  const collation = NO_PAD_BINARY.find((name) => available.some((row) => row.COLLATION_NAME === name));
  if (!collation) {
    throw new Error(`nestjs-jwt-devices needs a binary NO PAD collation (${NO_PAD_BINARY.join(' or ')}): MariaDB 10.2+ or MySQL 8.0.17+.`);
  }
  return collation;
}
