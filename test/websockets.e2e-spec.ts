import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceSockets, JWT_DEVICES_CLOSE_CODES } from '../lib/index.js';
import { SECOND } from './support/fake-clock.js';
import { gatewaySetup } from './support/gateway.js';
import { connect, SOCKET_KINDS, type TestSocket, upgradeStatus } from './support/sockets.js';
import { median, within } from './support/timing.js';
import { ALICE, BOB, createTestApp, currentHttpAdapter, login, type TestApp } from './support/test-app.js';

/**
 * Issue 14 on gateways: `JwtDevicesGuard`, `AuthGuard('jwt-devices')`, `@CurrentDevice()` and
 * `@CurrentUser()` on `@nestjs/platform-ws` (the upgrade request's `Authorization`) and
 * `@nestjs/platform-socket.io` (`auth.token` or `Authorization`), on the project's HTTP adapter; refusals
 * as Nest's `exception` event; a revoked device's sockets closed by the server; hostile handshakes.
 */
const latencies: Record<string, number[]> = {};

describe.each(SOCKET_KINDS)(`gateways on %s (${currentHttpAdapter()})`, (kind) => {
  let t: TestApp;
  let open: TestSocket[] = [];

  beforeAll(async () => {
    t = await createTestApp({ ...gatewaySetup(kind) });
    return () => t.close();
  });
  afterEach(async () => {
    await Promise.all(open.map((socket) => socket.close()));
    open = [];
  });
  afterAll(() => {
    const measured = latencies[kind] ?? [];
    if (measured.length) console.info(`[websockets] ${kind} on ${currentHttpAdapter()}: close after revocation, median ${median(measured).toFixed(1)} ms of ${measured.length}`);
  });

  const sockets = () => t.app.get(DeviceSockets);
  async function socketOf(token: string | undefined, how: 'header' | 'auth' = 'header'): Promise<TestSocket> {
    const handshake = token === undefined ? {} : how === 'auth' ? { token } : { headers: { Authorization: `Bearer ${token}` } };
    const socket = await connect(kind, t.url, handshake);
    open.push(socket);
    return socket;
  }

  it('answers a guarded message with the device and the user, under JwtDevicesGuard and AuthGuard("jwt-devices")', async () => {
    const alice = await login(t, ALICE);
    const socket = await socketOf(alice.token);
    const expected = { device: { id: alice.device_id, userId: '1' }, username: 'alice' };
    expect(await socket.request('whoami')).toEqual({ event: 'whoami', data: expected });
    expect(await socket.request('passport')).toEqual({ event: 'passport', data: expected });
    expect(sockets().size).toBe(1);
  });

  it.runIf(kind === 'socket.io')('takes the JWT from auth.token, with or without a scheme', async () => {
    const alice = await login(t, ALICE);
    for (const token of [alice.token, `JWT ${alice.token}`]) {
      const socket = await socketOf(token, 'auth');
      expect((await socket.request('whoami')).data.device.id).toBe(alice.device_id);
    }
  });

  it('refuses a socket without a JWT with a 401 exception event, and the socket keeps working for public messages', async () => {
    const socket = await socketOf(undefined);
    const refused = await socket.request('whoami');
    expect(refused).toEqual({ event: 'exception', data: { status: 'error', statusCode: 401, message: expect.stringMatching(/token/i) } });
    expect((await socket.request('passport')).event).toBe('exception');
    expect(await socket.request('ping')).toEqual({ event: 'ping', data: 'pong' });
    expect(sockets().size).toBe(0);
  });

  it('refuses hostile handshakes (forged, expired, revoked, garbage, oversized) with no 5xx, and keeps serving', async () => {
    const alice = await login(t, ALICE);
    const [header, payload] = alice.token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    const revoked = await login(t, ALICE);
    await t.http.delete(`/devices/${revoked.device_id}/`).set('Authorization', `Bearer ${alice.token}`).expect(204);
    const cases: Array<[string, Record<string, string>]> = [
      ['forged', { Authorization: `Bearer ${forged}` }],
      ['revoked', { Authorization: `Bearer ${revoked.token}` }],
      ['garbage', { Authorization: 'Bearer a.b.c trailing' }],
      ['another scheme', { Authorization: 'Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=' }],
      ['no scheme', { Authorization: alice.token }],
      ['not a JWT', { Authorization: `JWT ${'x'.repeat(8_000)}` }],
      ['permanent token', { Authorization: `Bearer ${alice.permanent_token}` }],
    ];
    for (const [what, headers] of cases) {
      // The handshake is accepted (nothing of ours runs before the first message); each message is refused.
      const socket = await connect(kind, t.url, { headers });
      open.push(socket);
      const reply = await socket.request('whoami');
      expect(reply.event, what).toBe('exception');
      expect(reply.data.statusCode, what).toBe(401);
    }
    // 100 KB of header: Node's HTTP server refuses the upgrade (431) before anything of ours runs.
    expect(await upgradeStatus(kind, t.url, { Authorization: `Bearer ${'a'.repeat(100_000)}` })).toBe(431);
    // Expired: the fake clock moves past the JWT's exp.
    const expiring = await login(t, BOB);
    t.clock.advance(5 * 60 * SECOND + 1);
    const expired = await socketOf(expiring.token);
    expect((await expired.request('whoami')).data).toMatchObject({ statusCode: 401, message: expect.stringMatching(/expired/) });
    // Still serving: HTTP, and a fresh login's socket.
    await t.http.get('/public').expect(200);
    const fresh = await login(t, ALICE);
    expect((await (await socketOf(fresh.token)).request('whoami')).data.device.id).toBe(fresh.device_id);
  });

  it('refuses a handshake carrying Permanent-Token, as PermittedHeadersGuard does over HTTP', async () => {
    const alice = await login(t, ALICE);
    const socket = await socketOf(undefined);
    expect((await socket.request('ping')).event).toBe('ping');
    const carrying = await connect(kind, t.url, { headers: { Authorization: `Bearer ${alice.token}`, 'Permanent-Token': alice.permanent_token } });
    open.push(carrying);
    expect((await carrying.request('whoami')).data).toMatchObject({ statusCode: 400, message: expect.stringMatching(/Permanent-Token/) });
    expect((await carrying.request('ping')).data).toMatchObject({ statusCode: 400 });
  });

  it(`closes the sockets of a device deleted through DELETE /devices/:id/ (${JWT_DEVICES_CLOSE_CODES.deviceRevoked}), and only those`, async () => {
    for (let round = 0; round < 5; round++) {
      const keep = await login(t, ALICE);
      const doomed = await login(t, ALICE);
      const doomedSockets = [await socketOf(doomed.token), await socketOf(doomed.token)];
      const kept = await socketOf(keep.token);
      for (const socket of [...doomedSockets, kept]) expect((await socket.request('whoami')).event).toBe('whoami');
      const started = performance.now();
      await t.http.delete(`/devices/${doomed.device_id}/`).set('Authorization', `Bearer ${keep.token}`).expect(204);
      for (const socket of doomedSockets) {
        const closed = await socket.closed;
        expect(closed).toMatchObject({ code: JWT_DEVICES_CLOSE_CODES.deviceRevoked, reason: 'device revoked' });
        const took = closed.at - started;
        (latencies[kind] ??= []).push(took);
        expect(took).toBeLessThan(500);
      }
      expect((await kept.request('whoami')).data.device.id).toBe(keep.device_id);
      await kept.close();
    }
    await within(1_000, () => sockets().size === 0);
  });

  it('a socket authenticated at connection (DeviceJwtStrategy.authenticateSocket) closes on revocation with no guarded message', async () => {
    const alice = await login(t, ALICE);
    const other = await login(t, ALICE);
    const pushOnly = await connect(kind, t.url, { headers: { Authorization: `Bearer ${alice.token}`, 'X-Authenticate': 'connection' } });
    open.push(pushOnly);
    expect(await pushOnly.request('device')).toEqual({ event: 'device', data: { id: alice.device_id, userId: '1' } });
    const started = performance.now();
    await t.http.delete(`/devices/${alice.device_id}/`).set('Authorization', `Bearer ${other.token}`).expect(204);
    const closed = await pushOnly.closed;
    expect(closed).toMatchObject({ code: JWT_DEVICES_CLOSE_CODES.deviceRevoked, reason: 'device revoked' });
    expect(closed.at - started).toBeLessThan(500);
    // Without a valid JWT, the gateway closes the socket at connection.
    const refused = await connect(kind, t.url, { headers: { Authorization: 'Bearer forged.jwt.here', 'X-Authenticate': 'connection' } });
    open.push(refused);
    const closedByGateway = await refused.closed;
    expect(kind === 'ws' ? closedByGateway.code : closedByGateway.reason).toBe(kind === 'ws' ? 4000 : 'io server disconnect');
  });

  it('forgets a socket when the client closes it (no leak)', async () => {
    const alice = await login(t, ALICE);
    const before = sockets().size;
    const batch = await Promise.all(Array.from({ length: 20 }, () => socketOf(alice.token)));
    await Promise.all(batch.map((socket) => socket.request('whoami')));
    expect(sockets().size).toBe(before + 20);
    await Promise.all(batch.map((socket) => socket.close()));
    await within(2_000, () => sockets().size === before);
  });
});

describe.each(SOCKET_KINDS)(`JWT expiry on an open socket, on %s (${currentHttpAdapter()})`, (kind) => {
  it(`closes the socket at the JWT's exp (${JWT_DEVICES_CLOSE_CODES.tokenExpired} token expired)`, async () => {
    const t = await createTestApp({ ...gatewaySetup(kind), options: { jwtExpiration: '2s' } });
    try {
      const alice = await login(t, ALICE);
      const socket = await connect(kind, t.url, { headers: { Authorization: `JWT ${alice.token}` } });
      const started = performance.now();
      expect((await socket.request('whoami')).event).toBe('whoami');
      const closed = await socket.closed;
      expect(closed).toMatchObject({ code: JWT_DEVICES_CLOSE_CODES.tokenExpired, reason: 'token expired' });
      expect(closed.at - started).toBeGreaterThan(1_500);
      expect(closed.at - started).toBeLessThan(3_000);
      expect(t.app.get(DeviceSockets).size).toBe(0);
    } finally {
      await t.close();
    }
  });
});
