import { afterEach, describe, expect, it } from 'vitest';
import { MINUTE } from './support/fake-clock.js';
import { createTestApp, login, type TestApp } from './support/test-app.js';
import { QueryCounter } from './support/query-counter.js';


let t: TestApp;
afterEach(() => t?.close());

const kinds = (queries: string[]) => queries.map((query) => query.trim().split(/\s+/)[0]!.toUpperCase());

describe('query budget (the module’s own queries; the test app’s users live in memory)', () => {
  it('a warm authenticated request costs no query; a cold one, one read by primary key', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ typeorm: { logger: counter, logging: true } });
    const body = await login(t);
    const warm = await counter.during(() => t.http.get('/me').set('Authorization', `JWT ${body.token}`).expect(200));
    expect(warm).toEqual([]);

    t.clock.advance(5_001); // past deviceCacheTtl: the row is read again
    const cold = await counter.during(() => t.http.get('/me').set('Authorization', `JWT ${body.token}`).expect(200));
    expect(kinds(cold)).toEqual(['SELECT']);
    expect(cold[0]).toMatch(/"?id"?\s*=|`id`\s*=/);
  });

  it('with the cache off, every authenticated request costs one read by primary key, also for a JWT verified before', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ options: { deviceCacheSize: 0 }, typeorm: { logger: counter, logging: true } });
    const body = await login(t);
    for (let i = 0; i < 3; i++) {
      const queries = await counter.during(() => t.http.get('/me').set('Authorization', `JWT ${body.token}`).expect(200));
      expect(kinds(queries)).toEqual(['SELECT']);
    }
  });

  it('a refresh costs one read, plus one conditional write only once the accuracy window has passed', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ typeorm: { logger: counter, logging: true } });
    const body = await login(t);
    const refresh = () => t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200);

    t.clock.advance(10 * MINUTE);
    expect(kinds(await counter.during(refresh))).toEqual(['SELECT']);
    t.clock.advance(30 * MINUTE);
    expect(kinds(await counter.during(refresh))).toEqual(['SELECT', 'UPDATE']);
  });

  it('a login costs one insert and one read of its user’s revocation mark, by primary key (the app’s own credential check aside)', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ typeorm: { logger: counter, logging: true } });
    const queries = await counter.during(() => login(t));
    expect(kinds(queries)).toEqual(['INSERT', 'SELECT']);
    expect(queries[1]).toMatch(/jwt_devices_user_revocation.*user_id["`]? = /);
  });

  it('revokeAllForUser() costs one upsert of the mark, then the sign-out rounds', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ typeorm: { logger: counter, logging: true } });
    const body = await login(t);
    const queries = await counter.during(() => t.http.delete('/devices/').set('Authorization', `JWT ${body.token}`).expect(204));
    expect(kinds(queries)).toEqual(['INSERT', 'SELECT', 'DELETE']);
    expect(queries[0]).toMatch(/jwt_devices_user_revocation/);
  });

  it('a rotating refresh costs one read and one conditional write', async () => {
    const counter = new QueryCounter();
    t = await createTestApp({ typeorm: { logger: counter, logging: true }, options: { permanentTokenRotation: true } });
    const body = await login(t);
    const queries = await counter.during(() => t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200));
    expect(kinds(queries)).toEqual(['SELECT', 'UPDATE']);
  });
});
