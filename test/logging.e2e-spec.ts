import type { LoggerService } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { EventSubscriber, type EntitySubscriberInterface, type Logger as TypeOrmLogger } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { SECOND } from './support/fake-clock.js';
import { BOB, createTestApp, login, type TestApp } from './support/test-app.js';

/** Keeps every line any part of the app logs, at every level. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private keep = (...parts: unknown[]) => {
    this.lines.push(parts.map((part) => (part instanceof Error ? `${part.message}\n${part.stack}` : typeof part === 'string' ? part : JSON.stringify(part))).join(' '));
  };
  log = this.keep;
  error = this.keep;
  warn = this.keep;
  debug = this.keep;
  verbose = this.keep;
  fatal = this.keep;
}

let t: TestApp;
afterEach(() => t?.close());

describe('logs', () => {
  it('never contain a token, permanent token, token hash or device secret, whatever happens', async () => {
    const logger = new CapturingLogger();
    t = await createTestApp({
      logger,
      options: {
        permanentTokenRotation: true,
        devicesPerUser: 2,
        onEvent: () => {
          throw new Error('listener exploded'); // its failure is logged: check that line too
        },
      },
    });
    const a = await login(t, undefined, { 'X-Device-Model': 'Phone' });
    const b = await login(t);
    const c = await login(t); // evicts one
    const bob = await login(t, BOB);
    const rotated = (await t.http.post('/device-refresh-token/').set('Permanent-Token', c.permanent_token)).body;
    t.clock.advance(11 * SECOND);
    await t.http.post('/device-refresh-token/').set('Permanent-Token', c.permanent_token).expect(400); // theft
    await t.http.get('/me').set('Authorization', `JWT ${a.token}x`).expect(401);
    await t.http.get('/devices/').set({ Authorization: `JWT ${bob.token}`, 'Permanent-Token': bob.permanent_token }).expect(400);
    await t.http.post('/auth-token/').send({ username: 'alice', password: a.permanent_token }).expect(400);
    await t.http.post('/device-refresh-token/').set('Permanent-Token', 'x'.repeat(600)).expect(400);
    await t.http.delete('/device-logout/').set({ Authorization: `JWT ${bob.token}`, 'Device-Id': String(bob.device_id) }).expect(204);

    const rows = await t.devices();
    // A store failure is logged too: make the database fail under the service.
    await t.dataSource.destroy();
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', b.permanent_token)).status).toBe(503);
    expect((await t.http.post('/auth-token/').send({ username: 'bob', password: 'bob-password' })).status).toBe(503);

    const everything = logger.lines.join('\n');
    expect(everything).toMatch(/onEvent listener failed/); // the capture works
    expect(everything).toMatch(/Device store operation failed/);
    const secrets = [a, b, c, bob].flatMap((body) => [body.token, body.permanent_token, sha256(body.permanent_token)]);
    secrets.push(rotated.permanent_token, rotated.token, sha256(rotated.permanent_token));
    secrets.push(...rows.flatMap((row) => [row.jwtSecret, row.permanentTokenHash]));
    expect(rows.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    for (const part of [a, b, c, bob].map((body) => body.token.split('.')[2]!)) expect(everything).not.toContain(part);
  });
});

/** TypeORM's logger interface, keeping each statement with whatever parameters TypeORM hands it, as `logging: true` would print them. */
class QueryLog implements TypeOrmLogger {
  readonly lines: string[] = [];
  logQuery = (query: string, parameters?: unknown[]) => void this.lines.push(`query: ${query} -- PARAMETERS: ${JSON.stringify(parameters)}`);
  logQueryError = (_error: unknown, query: string, parameters?: unknown[]) => void this.lines.push(`failed: ${query} -- PARAMETERS: ${JSON.stringify(parameters)}`);
  logQuerySlow = (_time: number, query: string, parameters?: unknown[]) => void this.lines.push(`slow: ${query} -- PARAMETERS: ${JSON.stringify(parameters)}`);
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** An app's subscriber on every entity (an audit trail, say): the store then keeps TypeORM's repository path. */
@EventSubscriber()
class EverySubscriber implements EntitySubscriberInterface {}

describe('TypeORM query logging (issue 12, item 14)', () => {
  for (const path of ['prepared statements', 'the repository path (a subscriber on every entity)'] as const) {
    it(`logs no permanent token, token hash or device secret on ${path}: login, refresh, rotation, theft, sign-out`, async () => {
      const queries = new QueryLog();
      t = await createTestApp({
        options: { permanentTokenRotation: true },
        typeorm: { logging: 'all', logger: queries, maxQueryExecutionTime: Number.MIN_VALUE, ...(path !== 'prepared statements' && { subscribers: [EverySubscriber] }) },
      });
      const a = await login(t);
      const b = await login(t);
      const rotated = (await t.http.post('/device-refresh-token/').set('Permanent-Token', a.permanent_token).expect(200)).body;
      await t.http.post('/device-refresh-token/').set('Permanent-Token', rotated.permanent_token).expect(200);
      t.clock.advance(11 * SECOND);
      await t.http.post('/device-refresh-token/').set('Permanent-Token', a.permanent_token).expect(400); // theft: walks the lineage
      await t.http.post('/device-refresh-token/').set('Permanent-Token', `${b.permanent_token.slice(0, -2)}xx`).expect(400);
      await t.http.get('/devices/').set('Authorization', `JWT ${b.token}`).expect(200);
      const rows = await t.devices();
      await t.http.delete('/devices/others/').set('Authorization', `JWT ${b.token}`).expect(204);

      const everything = queries.lines.join('\n');
      expect(everything).toMatch(/INSERT INTO/); // the capture works
      expect(everything).toMatch(/permanent_token_hash/);
      const secrets = [a, b, rotated].flatMap((body) => [body.permanent_token, sha256(body.permanent_token)]);
      secrets.push(...rows.flatMap((row) => [row.jwtSecret, row.permanentTokenHash, row.previousTokenHash ?? 'none']));
      expect(rows.length).toBe(1);
      for (const secret of secrets) expect(everything).not.toContain(secret);
    });
  }
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
