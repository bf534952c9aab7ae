import type { DataSource, Logger as TypeOrmLogger, QueryRunner } from 'typeorm';
import { DEVICE_TABLE } from '../jwt-devices.constants.js';
import { describeFailure } from '../jwt-devices.errors.js';

/** What a string parameter of a statement on the module's tables is logged as. */
export const REDACTED = '[redacted]';

/** Tables whose statements carry token hashes and device secrets as parameters. */
const SECRET_TABLES = [DEVICE_TABLE];

/**
 * TypeORM's query runners hand every statement's parameters to the DataSource's logger, which with
 * `logging: true` (or a custom logger) writes them out: on the repository path, a login's device
 * secret and token hash, a refresh's hash. This wrapper keeps the app's logger and everything it
 * logs, except that statements on the device table reach it with their string parameters replaced by
 * {@link REDACTED} (numbers such as ids stay; on SQLite, times are strings too). The prepared
 * statements pass no parameters at all.
 */
export class RedactingLogger implements TypeOrmLogger {
  constructor(readonly inner: TypeOrmLogger) {}

  logQuery(query: string, parameters?: Parameters, queryRunner?: QueryRunner): unknown {
    return this.inner.logQuery(query, redact(query, parameters), queryRunner);
  }

  /**
   * On the device table the driver's error is replaced by its class and code: its message and fields
   * can quote the values (MySQL's "Duplicate entry '…'", mysql2's `sql` with the values formatted in,
   * PostgreSQL's `detail`), and structured loggers serialise every field.
   */
  logQueryError(error: string | Error, query: string, parameters?: Parameters, queryRunner?: QueryRunner): unknown {
    const shown = touchesSecrets(query) ? new Error(`${describeFailure(error)} in a statement on the device table`) : error;
    return this.inner.logQueryError(shown, query, redact(query, parameters), queryRunner);
  }

  logQuerySlow(time: number, query: string, parameters?: Parameters, queryRunner?: QueryRunner): unknown {
    return this.inner.logQuerySlow(time, query, redact(query, parameters), queryRunner);
  }

  logSchemaBuild(message: string, queryRunner?: QueryRunner): unknown {
    return this.inner.logSchemaBuild(message, queryRunner);
  }

  logMigration(message: string, queryRunner?: QueryRunner): unknown {
    return this.inner.logMigration(message, queryRunner);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown, queryRunner?: QueryRunner): unknown {
    return this.inner.log(level, message, queryRunner);
  }
}

/**
 * Puts a {@link RedactingLogger} in front of the DataSource's logger, once, and keeps it there when the
 * app replaces the logger later (`setOptions({ logging })` makes a new one): the property becomes an
 * accessor that wraps whatever logger is set.
 */
export function redactDeviceQueryLogs(dataSource: DataSource): void {
  const current = dataSource.logger;
  if (current instanceof RedactingLogger) return;
  let wrapped = new RedactingLogger(current);
  Object.defineProperty(dataSource, 'logger', {
    configurable: true,
    enumerable: true,
    get: () => wrapped,
    set: (logger: TypeOrmLogger) => {
      wrapped = logger instanceof RedactingLogger ? logger : new RedactingLogger(logger);
    },
  });
}

/** Statement parameters as TypeORM hands them to loggers: positional, or named (an object). */
type Parameters = unknown[] | Record<string, unknown>;

function touchesSecrets(query: string): boolean {
  return SECRET_TABLES.some((table) => query.includes(table));
}

function redact(query: string, parameters: Parameters | undefined): Parameters | undefined {
  if (!parameters || !touchesSecrets(query)) return parameters;
  return Array.isArray(parameters) ? parameters.map(redactValue) : Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, redactValue(value)]));
}

function redactValue(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value instanceof Date) {
    return value;
  }
  return Array.isArray(value) ? value.map(redactValue) : REDACTED;
}
