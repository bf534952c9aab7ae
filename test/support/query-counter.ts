import type { Logger as TypeOrmLogger } from 'typeorm';

/** Counts the SQL statements TypeORM (and the store's prepared statements) send while `counting` is on. */
export class QueryCounter implements TypeOrmLogger {
  queries: string[] = [];
  counting = false;
  logQuery(query: string): void {
    if (this.counting) this.queries.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** The statements `work` sent, transaction control and session set-up left out. */
  async during(work: () => Promise<unknown>): Promise<string[]> {
    this.queries = [];
    this.counting = true;
    try {
      await work();
    } finally {
      this.counting = false;
    }
    return this.queries.filter((query) => !/^(START TRANSACTION|BEGIN|COMMIT|SELECT VERSION\(\)|SET )/i.test(query.trim()));
  }
}
