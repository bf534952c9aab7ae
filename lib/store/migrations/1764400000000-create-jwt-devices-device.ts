import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { deviceEntityFor, MysqlDevice, PostgresDevice } from '../device.entity.js';
import { DEVICE_TABLE } from '../../jwt-devices.constants.js';

/**
 * Creates the `jwt_devices_device` table. Written with TypeORM's `Table` API, so the one migration
 * serves SQLite, PostgreSQL and MySQL/MariaDB. Timestamps keep milliseconds: `timestamptz(3)` on
 * PostgreSQL, `datetime(3)` elsewhere; `user_id` is case-sensitive everywhere (a binary collation on
 * MySQL/MariaDB). Each as the entity for that database declares.
 */
export class CreateJwtDevicesDevice1764400000000 implements MigrationInterface {
  name = 'CreateJwtDevicesDevice1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const entity = deviceEntityFor(queryRunner.connection.options.type);
    const type = entity === PostgresDevice ? 'timestamptz' : 'datetime';
    // The collation of version 0.1, on every MySQL and MariaDB; UserIdNoPadCollation1764600000000 replaces it.
    const userIdCollation = entity === MysqlDevice ? { collation: 'utf8mb4_bin' } : {};
    const timestamp = (name: string, isNullable = false) => ({ name, type, precision: 3, isNullable });
    await queryRunner.createTable(
      new Table({
        name: DEVICE_TABLE,
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'user_id', type: 'varchar', length: '255', ...userIdCollation },
          { name: 'permanent_token_hash', type: 'varchar', length: '64' },
          { name: 'previous_token_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'jwt_secret', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '255' },
          { name: 'details', type: 'varchar', length: '255' },
          timestamp('created'),
          timestamp('last_request_datetime'),
          timestamp('rotated_at', true),
        ],
        indices: [
          { name: 'IDX_jwt_devices_device_user_id', columnNames: ['user_id'] },
          { name: 'UQ_jwt_devices_device_permanent_token_hash', columnNames: ['permanent_token_hash'], isUnique: true },
          { name: 'UQ_jwt_devices_device_previous_token_hash', columnNames: ['previous_token_hash'], isUnique: true },
          { name: 'IDX_jwt_devices_device_last_request_datetime', columnNames: ['last_request_datetime'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(DEVICE_TABLE);
  }
}
