import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/** The example app's own users table (the module's table comes from JWT_DEVICES_MIGRATIONS). */
export class CreateExampleUsers1764400000001 implements MigrationInterface {
  name = 'CreateExampleUsers1764400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'example_user',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'username', type: 'varchar', length: '150', isUnique: true },
          { name: 'password_hash', type: 'varchar', length: '255' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('example_user');
  }
}
