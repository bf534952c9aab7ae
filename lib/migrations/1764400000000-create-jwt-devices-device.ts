import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { DEVICE_TABLE } from '../jwt-devices.constants.js';

/**
 * Creates the `jwt_devices_device` table. Written with TypeORM's `Table` API, so the one migration
 * serves SQLite, PostgreSQL and MySQL/MariaDB; timestamps take each driver's own type for `Date`.
 */
export class CreateJwtDevicesDevice1764400000000 implements MigrationInterface {
  name = 'CreateJwtDevicesDevice1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    await queryRunner.createTable(
      new Table({
        name: DEVICE_TABLE,
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'user_id', type: 'varchar', length: '255' },
          { name: 'permanent_token_hash', type: 'varchar', length: '64' },
          { name: 'jwt_secret', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '255', default: "''" },
          { name: 'details', type: 'varchar', length: '255', default: "''" },
          { name: 'created', type: timestamp },
          { name: 'last_request_datetime', type: timestamp },
        ],
        indices: [
          { name: 'IDX_jwt_devices_device_user_id', columnNames: ['user_id'] },
          { name: 'UQ_jwt_devices_device_permanent_token_hash', columnNames: ['permanent_token_hash'], isUnique: true },
          { name: 'IDX_jwt_devices_device_last_request_datetime', columnNames: ['last_request_datetime'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(DEVICE_TABLE);
  }
}
