import { describeExampleOn } from './support/contract-walk.js';

/**
 * The example app on MariaDB through `mysql://` and `mariadb://` (both `MysqlDevice`), compared with
 * SQLite; see support/contract-walk.ts. PostgreSQL is in example-postgres.e2e-spec.ts:
 * `@nestjs/typeorm` keeps `autoLoadEntities` registrations in one process-wide list, so each
 * device-entity family gets its own file (process).
 */
await describeExampleOn([
  { scheme: 'mysql', server: 'mariadb', type: 'mysql' },
  { scheme: 'mariadb', server: 'mariadb', type: 'mariadb' },
]);
