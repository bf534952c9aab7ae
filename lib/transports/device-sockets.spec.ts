import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { RevocationListener } from '../cache/device-keys.js';
import { DeviceSockets, JWT_DEVICES_CLOSE_CODES, JWT_DEVICES_DISCONNECT_EVENT } from './device-sockets.js';

/** A `ws` client: `readyState`, `close(code, reason)` emitting `close`. */
class FakeWebSocket extends EventEmitter {
  readyState = 1;
  closedWith: [number, string] | undefined;
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
    this.emit('close', code, reason);
  }
}

/** A socket.io socket: `handshake`, `connected`, `emit` to the client, `disconnect(true)`. */
class FakeIoSocket extends EventEmitter {
  readonly handshake = { headers: {}, auth: {} };
  connected = true;
  readonly sent: Array<[string, unknown]> = [];
  override emit(event: string, ...args: unknown[]): boolean {
    if (event === 'disconnect') return super.emit(event, ...args);
    this.sent.push([event, args[0]]);
    return true;
  }
  disconnect(): void {
    this.connected = false;
    this.emit('disconnect');
  }
}

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const device = (id: number) => ({ id, userId: '1' });

function setup({ existing = new Set<number>([1, 2, 3]), expSeconds = NOW / 1_000 + 300 } = {}) {
  let listener: RevocationListener = () => undefined;
  const keys = { onRevoked: (added: RevocationListener) => ((listener = added), () => (listener = () => undefined)) };
  const devices = { deviceKey: async (id: number) => (existing.has(id) ? {} : undefined) };
  const tokens = { peek: () => ({ exp: expSeconds }) };
  const sockets = new DeviceSockets({ deviceCacheTtl: 1_000 } as never, keys as never, devices as never, tokens as never, { now: () => NOW } as never);
  return { sockets, existing, revoke: (revoked: Parameters<RevocationListener>[0]) => listener(revoked) };
}

describe('DeviceSockets', () => {
  let created: DeviceSockets[] = [];
  afterEach(() => {
    created.forEach((sockets) => sockets.onModuleDestroy());
    created = [];
  });
  const make = (options?: Parameters<typeof setup>[0]) => {
    const made = setup(options);
    created.push(made.sockets);
    return made;
  };

  it('closes the sockets of a revoked device (4403) and only those, and forgets them', () => {
    const { sockets, revoke } = make();
    const [a, b, other] = [new FakeWebSocket(), new FakeWebSocket(), new FakeWebSocket()];
    const io = new FakeIoSocket();
    sockets.track(a, device(1), 'jwt');
    sockets.track(b, device(1), 'jwt');
    sockets.track(io, device(1), 'jwt');
    sockets.track(other, device(2), 'jwt');
    expect(sockets.size).toBe(4);
    revoke([1]);
    expect(a.closedWith).toEqual([JWT_DEVICES_CLOSE_CODES.deviceRevoked, 'device revoked']);
    expect(b.closedWith).toEqual([4403, 'device revoked']);
    expect(io.sent).toEqual([[JWT_DEVICES_DISCONNECT_EVENT, { code: 4403, reason: 'device revoked' }]]);
    expect(io.connected).toBe(false);
    expect(other.closedWith).toBeUndefined();
    expect(sockets.size).toBe(1);
  });

  it('forgets a socket its client closed, and tracks a socket once', () => {
    const { sockets, revoke } = make();
    const client = new FakeWebSocket();
    sockets.track(client, device(1), 'jwt');
    sockets.track(client, device(1), 'jwt');
    expect(sockets.size).toBe(1);
    client.emit('close');
    expect(sockets.size).toBe(0);
    revoke([1]);
    expect(client.closedWith).toBeUndefined();
    const closed = Object.assign(new FakeWebSocket(), { readyState: 3 });
    sockets.track(closed, device(1), 'jwt');
    expect(sockets.size).toBe(0);
  });

  it("on 'all' (Redis was down), re-checks every socket's device and closes those that are gone", async () => {
    const { sockets, revoke, existing } = make();
    const [gone, kept] = [new FakeWebSocket(), new FakeWebSocket()];
    sockets.track(gone, device(1), 'jwt');
    sockets.track(kept, device(2), 'jwt');
    existing.delete(1);
    revoke('all');
    await new Promise((resolve) => setImmediate(resolve));
    expect(gone.closedWith).toEqual([4403, 'device revoked']);
    expect(kept.closedWith).toBeUndefined();
  });

  it('closes a socket whose device was revoked while its JWT was being verified (tracked after the announcement)', async () => {
    const { sockets, existing } = make();
    existing.delete(2);
    const late = new FakeWebSocket();
    sockets.track(late, device(2), 'jwt');
    await new Promise((resolve) => setImmediate(resolve));
    expect(late.closedWith).toEqual([4403, 'device revoked']);
  });

  it('sweeps on its own: a device gone from the store closes within a sweep (deviceCacheTtl / 4)', async () => {
    const { sockets, existing } = make();
    const client = new FakeWebSocket();
    sockets.track(client, device(3), 'jwt');
    existing.delete(3);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(client.closedWith).toEqual([4403, 'device revoked']);
  });

  it('runs one sweep at a time however slow the store is (sweeps never pile up)', async () => {
    let running = 0;
    let most = 0;
    let reads = 0;
    const keys = { onRevoked: () => () => undefined };
    const devices = {
      deviceKey: async () => {
        reads++;
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 40)); // 8 devices × 40 ms: a sweep outlasts the 250 ms interval
        running--;
        return {};
      },
    };
    const sockets = new DeviceSockets({ deviceCacheTtl: 1_000 } as never, keys as never, devices as never, { peek: () => ({ exp: NOW / 1_000 + 300 }) } as never, { now: () => NOW } as never);
    created.push(sockets);
    for (let id = 1; id <= 8; id++) sockets.track(new FakeWebSocket(), device(id), 'jwt');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(most).toBe(8); // the eight re-checks right after tracking run side by side, once
    const settled = reads;
    most = running;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(most).toBe(1); // sweeps: one read at a time, never two sweeps at once
    expect(reads - settled).toBeLessThanOrEqual(1_000 / 40 + 1);
    expect(reads - settled).toBeGreaterThanOrEqual(8); // and sweeps go on: at least one whole sweep of the eight
  });

  it('closes a socket at its JWT exp (4401), at once when already past it', async () => {
    const { sockets } = make({ expSeconds: NOW / 1_000 });
    const late = new FakeWebSocket();
    sockets.track(late, device(1), 'jwt');
    expect(late.closedWith).toEqual([JWT_DEVICES_CLOSE_CODES.tokenExpired, 'token expired']);
    const { sockets: soon } = make({ expSeconds: NOW / 1_000 + 0.05 });
    const client = new FakeIoSocket();
    soon.track(client, { id: null, userId: '1' }, 'jwt');
    expect(client.connected).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(client.sent).toEqual([[JWT_DEVICES_DISCONNECT_EVENT, { code: 4401, reason: 'token expired' }]]);
    expect(soon.size).toBe(0);
  });

  it('a socket that fails to close does not stop the others', () => {
    const { sockets, revoke } = make();
    const broken = Object.assign(new FakeWebSocket(), {
      close() {
        throw new Error('boom');
      },
    });
    const fine = new FakeWebSocket();
    sockets.track(broken, device(1), 'jwt');
    sockets.track(fine, device(1), 'jwt');
    expect(() => revoke([1])).not.toThrow();
    expect(fine.closedWith).toEqual([4403, 'device revoked']);
    expect(sockets.size).toBe(0);
  });
});
