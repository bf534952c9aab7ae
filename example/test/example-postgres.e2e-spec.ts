import { describeExampleOn } from './support/contract-walk.js';

/**
 * The example app on PostgreSQL (`PostgresDevice`), compared with SQLite; see support/contract-walk.ts.
 * The MySQL family is in example-mysql.e2e-spec.ts: `@nestjs/typeorm` keeps `autoLoadEntities`
 * registrations in one process-wide list, so each device-entity family gets its own file (process).
 */
await describeExampleOn([{ scheme: 'postgres', server: 'postgres', type: 'postgres' }]);
