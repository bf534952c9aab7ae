import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { USER_REVOCATION_TABLE } from '../../jwt-devices.constants.js';
import { deviceEntityFor, MysqlDevice, PostgresDevice } from '../device.entity.js';
import { noPadBinaryCollation } from './1764600000000-user-id-no-pad-collation.js';

/**
 * Creates `jwt_devices_user_revocation`: per user, when all of their devices were last revoked (by the
 * database's clock), so that a login whose credential check began before a `revokeAllForUser()` (a
 * password change) never yields a working device, on any instance. `user_id` compares byte for byte as
 * on the device table.
 */
export class CreateUserRevocation1764700000000 implements MigrationInterface {
  name = 'CreateUserRevocation1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const entity = deviceEntityFor(queryRunner.connection.options.type);
    const collation = entity === MysqlDevice ? { collation: await noPadBinaryCollation(queryRunner) } : {};
    await queryRunner.createTable(
      new Table({
        name: USER_REVOCATION_TABLE,
        columns: [
          { name: 'user_id', type: 'varchar', length: '255', isPrimary: true, ...collation },
          { name: 'revoked_at', type: entity === PostgresDevice ? 'timestamptz' : 'datetime', precision: 3 },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(USER_REVOCATION_TABLE);
  }
}
