import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeviceSockets, JWT_DEVICES_CLOSE_CODES, type JwtDevicesModuleOptions } from '../lib/index.js';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';
import { SECOND } from './support/fake-clock.js';
import { gatewaySetup } from './support/gateway.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { connect, SOCKET_KINDS, type TestSocket } from './support/sockets.js';
import { median, within } from './support/timing.js';
import { ALICE, createTestApp, currentHttpAdapter, login, type TestApp } from './support/test-app.js';
import { REDIS, REDIS_URL, redisReachable, testChannel } from './support/redis.js';

/**
 * Issue 14, point 2, across instances: a socket open on instance B closes when its device is revoked on
 * instance A, at once over Redis, after a Redis outage as soon as it is back, and within `deviceCacheTtl`
 * (plus a quarter of it, the sweep) without it.
 * The two instances share one device table: the project's server database, or on SQLite a file.
 */
const redisUp = await redisReachable();
const kind = currentDatabaseKind();

describe.each(SOCKET_KINDS)(`sockets on two instances, ${kind}, %s on ${currentHttpAdapter()}`, (socketKind) => {
  let apps: TestApp[] = [];
  let open: TestSocket[] = [];
  let database: TestDatabase | undefined;
  let proxy: TcpProxy | undefined;
  const measured: number[] = [];

  afterEach(async () => {
    await Promise.all(open.map((socket) => socket.close()));
    await Promise.all(apps.map((app) => app.close()));
    await proxy?.close();
    open = [];
    apps = [];
    proxy = undefined;
    await database?.drop();
    database = undefined;
  });
  afterAll(() => {
    if (measured.length) console.info(`[socket-revocation] ${socketKind}: closed on B after a logout on A over Redis, median ${median(measured).toFixed(1)} ms of ${measured.length}`);
  });

  async function instances(options: Partial<JwtDevicesModuleOptions>): Promise<readonly [TestApp, TestApp]> {
    database = await createTestDatabase(kind, { shared: true });
    const setup = { ...gatewaySetup(socketKind), sharedDatabase: database, options };
    const a = await createTestApp(setup);
    const b = await createTestApp(setup);
    apps.push(a, b);
    return [a, b];
  }
  async function socketOn(app: TestApp, token: string): Promise<TestSocket> {
    const socket = await connect(socketKind, app.url, { headers: { Authorization: `Bearer ${token}` } });
    open.push(socket);
    expect((await socket.request('whoami')).event).toBe('whoami');
    return socket;
  }

  it.runIf(redisUp)('over Redis: a logout on A closes the device\'s socket on B within 500 ms (4403)', async () => {
    const redis = { url: REDIS_URL, channel: testChannel() };
    const [a, b] = await instances({ redis, deviceCacheTtl: '5s' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // both subscribed
    for (let round = 0; round < 5; round++) {
      const alice = await login(a, ALICE);
      const socket = await socketOn(b, alice.token);
      const started = performance.now();
      await a.http.delete('/device-logout/').set({ Authorization: `JWT ${alice.token}`, 'Device-Id': String(alice.device_id) }).expect(204);
      const closed = await socket.closed;
      expect(closed).toMatchObject({ code: JWT_DEVICES_CLOSE_CODES.deviceRevoked, reason: 'device revoked' });
      measured.push(closed.at - started);
      expect(closed.at - started).toBeLessThan(500);
    }
    await within(1_000, () => b.app.get(DeviceSockets).size === 0);
  });

  it.runIf(redisUp)('after a Redis outage, B re-checks its sockets and closes those whose device went meanwhile', async () => {
    proxy = await startTcpProxy(REDIS);
    const redis = { url: `redis://${REDIS.host}:${proxy.port}`, channel: testChannel() };
    const [a, b] = await instances({ redis, deviceCacheTtl: '5s' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const gone = await login(a, ALICE);
    const kept = await login(a, ALICE);
    const goneSocket = await socketOn(b, gone.token);
    const keptSocket = await socketOn(b, kept.token);
    let closedAt: number | undefined;
    void goneSocket.closed.then((closed) => (closedAt = closed.at));
    proxy.cut();
    await a.http.delete('/device-logout/').set({ Authorization: `JWT ${gone.token}`, 'Device-Id': String(gone.device_id) }).expect(204);
    await new Promise((resolve) => setTimeout(resolve, 500)); // B heard nothing, and its cache still trusts the device
    expect(closedAt).toBeUndefined();
    proxy.restore();
    await within(10_000, () => closedAt !== undefined);
    expect(await goneSocket.closed).toMatchObject({ code: JWT_DEVICES_CLOSE_CODES.deviceRevoked });
    expect((await keptSocket.request('whoami')).data.device.id).toBe(kept.device_id);
  });

  it('without Redis: B closes the socket once its cache lets the device go (deviceCacheTtl), by its sweep', async () => {
    const [a, b] = await instances({ deviceCacheTtl: '1s' });
    const alice = await login(a, ALICE);
    const socket = await socketOn(b, alice.token);
    let closedAt: number | undefined;
    void socket.closed.then((closed) => (closedAt = closed.at));
    await a.http.delete('/device-logout/').set({ Authorization: `JWT ${alice.token}`, 'Device-Id': String(alice.device_id) }).expect(204);
    await new Promise((resolve) => setTimeout(resolve, 600)); // two sweeps: B's cache still trusts the device
    expect(closedAt).toBeUndefined();
    b.clock.advance(1 * SECOND + 1);
    const movedAt = performance.now();
    await within(1_000, () => closedAt !== undefined);
    expect(await socket.closed).toMatchObject({ code: JWT_DEVICES_CLOSE_CODES.deviceRevoked });
    expect(closedAt! - movedAt).toBeLessThan(1_000);
  });
});
