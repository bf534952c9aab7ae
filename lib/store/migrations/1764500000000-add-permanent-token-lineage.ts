import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { DEVICE_TABLE } from '../../jwt-devices.constants.js';

const LINEAGE_INDEX = 'UQ_jwt_devices_device_lineage';

/**
 * Adds `lineage` (the random id every permanent token of a device carries, unique, `NULL` on devices
 * created before) and `rotations` (how often the token rotated, `NULL` on those devices), so a permanent token retired any
 * number of rotations ago is recognised as the device's and revokes it. Existing rows keep working.
 */
export class AddPermanentTokenLineage1764500000000 implements MigrationInterface {
  name = 'AddPermanentTokenLineage1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns(DEVICE_TABLE, [
      new TableColumn({ name: 'lineage', type: 'varchar', length: '22', isNullable: true }),
      new TableColumn({ name: 'rotations', type: 'integer', isNullable: true }),
    ]);
    await queryRunner.createIndex(DEVICE_TABLE, new TableIndex({ name: LINEAGE_INDEX, columnNames: ['lineage'], isUnique: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex(DEVICE_TABLE, LINEAGE_INDEX);
    await queryRunner.dropColumns(DEVICE_TABLE, ['rotations', 'lineage']);
  }
}
