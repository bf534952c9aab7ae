import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';
import { SECOND } from './support/fake-clock.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { ALICE, createTestApp, login, type TestApp } from './support/test-app.js';
import { within } from './support/timing.js';
import { REDIS, redisReachable, testChannel } from './support/redis.js';

const kind = currentDatabaseKind();

const redisUp = await redisReachable();

// Two instances of one app must share a database: SQLite in memory cannot.
describe.runIf(kind !== 'sqlite' && redisUp)(`two app instances sharing ${kind} and Redis (needs a network database and Redis)`, () => {
  let database: TestDatabase;
  let apps: TestApp[] = [];
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    return () => database.drop();
  });
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await proxy?.close();
    apps = [];
    proxy = undefined;
  });

  async function instances(redisPort: number) {
    const redis = { url: `redis://${REDIS.host}:${redisPort}`, channel: testChannel() };
    const options = { redis, deviceCacheTtl: '5s' as const };
    const a = await createTestApp({ sharedDatabase: database, options });
    const b = await createTestApp({ sharedDatabase: database, options });
    apps.push(a, b);
    return [a, b] as const;
  }
  const me = (app: TestApp, token: string) => app.http.get('/me').set('Authorization', `JWT ${token}`);

  it('a device logged out on A is refused on B within 100 ms', async () => {
    const [a, b] = await instances(REDIS.port);
    await new Promise((resolve) => setTimeout(resolve, 300)); // both subscribed
    const body = await login(a, ALICE);
    expect((await me(b, body.token)).status).toBe(200); // B caches the device
    await a.http.delete('/device-logout/').set({ Authorization: `JWT ${body.token}`, 'Device-Id': String(body.device_id) }).expect(204);
    const took = await within(100, async () => (await me(b, body.token)).status === 401);
    expect(took).toBeLessThan(100);
  });

  it('with Redis cut, B refuses within deviceCacheTtl, no request fails, and revocations are immediate again once it is back', async () => {
    proxy = await startTcpProxy(REDIS);
    const [a, b] = await instances(proxy.port);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = await login(a, ALICE);
    const second = await login(a, ALICE);
    await me(b, first.token).expect(200);
    await me(b, second.token).expect(200);

    proxy.cut();
    await a.http.delete('/device-logout/').set({ Authorization: `JWT ${first.token}`, 'Device-Id': String(first.device_id) }).expect(204);
    expect((await me(b, first.token)).status).toBe(200); // B has not heard: the documented bound applies
    b.clock.advance(5 * SECOND + 1);
    expect((await me(b, first.token)).status).toBe(401); // within deviceCacheTtl
    expect((await me(b, second.token)).status).toBe(200);

    proxy.restore();
    // B reconnects by itself; then a logout on A reaches it at once again.
    await me(b, second.token).expect(200);
    let probe = await login(a, ALICE);
    await me(b, probe.token).expect(200);
    await within(10_000, async () => {
      await a.http.delete(`/devices/${probe.device_id}/`).set('Authorization', `JWT ${second.token}`);
      const refused = (await me(b, probe.token)).status === 401;
      if (!refused) {
        probe = await login(a, ALICE);
        await me(b, probe.token).expect(200);
      }
      return refused;
    });
    // Nothing lost: the surviving device still works on both.
    expect((await me(a, second.token)).status).toBe(200);
    expect((await me(b, second.token)).status).toBe(200);
    expect((await a.devices()).map((d) => d.id)).toContain(second.device_id);
  });
});
