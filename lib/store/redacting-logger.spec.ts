import type { DataSource, Logger as TypeOrmLogger } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactDeviceQueryLogs, RedactingLogger } from './redacting-logger.js';

/** A TypeORM logger that keeps what it is given. */
function recorder() {
  const seen: Array<[string, string, unknown]> = [];
  const logger: TypeOrmLogger = {
    logQuery: (query, parameters) => void seen.push(['query', query, parameters]),
    logQueryError: (_error, query, parameters) => void seen.push(['error', query, parameters]),
    logQuerySlow: (_time, query, parameters) => void seen.push(['slow', query, parameters]),
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };
  return { seen, logger };
}

describe('RedactingLogger', () => {
  it('hides string parameters of statements on the device table, keeps numbers, dates and nulls, and leaves other statements alone', () => {
    const { seen, logger } = recorder();
    const redacting = new RedactingLogger(logger);
    const at = new Date(0);
    redacting.logQuery('SELECT * FROM "jwt_devices_device" WHERE "permanent_token_hash" = $1', ['ab'.repeat(32)]);
    redacting.logQueryError('boom', 'UPDATE `jwt_devices_device` SET x = ? WHERE id IN (?, ?)', ['secret', 1, 2]);
    redacting.logQuerySlow(9, 'INSERT INTO jwt_devices_device VALUES (?, ?, ?, ?)', [Buffer.from('x'), at, null, ['nested']]);
    redacting.logQuery('SELECT * FROM users WHERE name = ?', ['alice']);
    redacting.logQuery('SELECT 1 FROM jwt_devices_device WHERE lineage = :lineage AND id = :id', { lineage: 'L', id: 3 });
    expect(seen).toEqual([
      ['query', expect.any(String), [REDACTED]],
      ['error', expect.any(String), [REDACTED, 1, 2]],
      ['slow', expect.any(String), [REDACTED, at, null, [REDACTED]]],
      ['query', expect.any(String), ['alice']],
      ['query', expect.any(String), { lineage: REDACTED, id: 3 }],
    ]);
  });

  it("replaces a device-table statement's error by its class and code: drivers quote the values in messages and fields", () => {
    const errors: unknown[] = [];
    const { logger } = recorder();
    const redacting = new RedactingLogger({ ...logger, logQueryError: (error) => void errors.push(error) });
    const mysql = Object.assign(new Error("Duplicate entry 'cafe-secret-hash' for key 'token_hash'"), {
      code: 'ER_DUP_ENTRY',
      sql: "INSERT INTO `jwt_devices_device` VALUES ('cafe-secret-hash', 'device-secret')",
    });
    redacting.logQueryError(mysql, 'INSERT INTO `jwt_devices_device` VALUES (?, ?)', ['cafe-secret-hash', 'device-secret']);
    const other = new Error('relation "users" does not exist');
    redacting.logQueryError(other, 'SELECT * FROM users', []);
    expect(errors[1]).toBe(other);
    const shown = errors[0] as Error;
    expect(shown.message).toBe('Error (ER_DUP_ENTRY) in a statement on the device table');
    expect(JSON.stringify({ ...shown, message: shown.message, stack: shown.stack })).not.toMatch(/secret/);
  });

  it('stays in front of whatever logger the DataSource gets later (setOptions makes a new one), installed once', () => {
    const first = recorder();
    const dataSource = { logger: first.logger } as unknown as DataSource;
    redactDeviceQueryLogs(dataSource);
    redactDeviceQueryLogs(dataSource);
    expect((dataSource.logger as RedactingLogger).inner).toBe(first.logger);
    const second = recorder();
    (dataSource as { logger: TypeOrmLogger }).logger = second.logger;
    dataSource.logger.logQuery('DELETE FROM jwt_devices_device WHERE user_id = ?', ['bob']);
    expect(second.seen).toEqual([['query', expect.any(String), [REDACTED]]]);
    expect(first.seen).toEqual([]);
  });
});
