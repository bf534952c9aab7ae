import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DeviceKeys } from '../cache/device-keys.js';
import type { RevokedDevices } from '../cache/device-revocations.js';
import { type AuthenticatedDevice, DevicesService } from '../devices.service.js';
import { JwtDevicesClock } from '../jwt-devices.clock.js';
import { JWT_DEVICES_OPTIONS } from '../jwt-devices.constants.js';
import { describeFailure } from '../jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { DeviceTokens } from '../tokens/device-tokens.js';
import { isSocketIo } from './transport-request.js';

/**
 * Close codes (WebSocket, in the 4000–4999 range left to applications) and socket.io disconnect
 * reasons of the sockets the module closes.
 */
export const JWT_DEVICES_CLOSE_CODES = Object.freeze({
  /** The JWT the socket authenticated with expired: refresh it and connect again. */
  tokenExpired: 4401,
  /** The socket's device was revoked (logout, sign-out elsewhere, expiry, eviction, theft): log in again. */
  deviceRevoked: 4403,
});

/** Why the module closed a socket: the close frame's reason, and the socket.io event's `reason`. */
export type SocketCloseReason = 'token expired' | 'device revoked';

/** The socket.io event sent, with `{ code, reason }`, just before the module disconnects a socket. */
export const JWT_DEVICES_DISCONNECT_EVENT = 'jwt-devices:disconnect';

/** The longest delay `setTimeout` takes; a later expiry is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface TrackedSocket {
  readonly client: object;
  readonly deviceId: number | null;
  readonly expiresMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * The open sockets (WebSocket and socket.io) that authenticated as a device, so that revoking the
 * device closes them: a socket counts once a guarded handler accepted its JWT (`JwtDevicesGuard` or
 * `AuthGuard('jwt-devices')`), and is forgotten when it closes.
 *
 * - Revoked on this instance: closed at once (`4403 device revoked`), from the cache's revocation path.
 * - Revoked on another instance: at once with the `redis` option. Without it (or while Redis is down),
 *   by a sweep every quarter of `deviceCacheTtl` that re-checks each socket's device through the key
 *   cache, which re-reads it after `deviceCacheTtl`. The sweep runs with Redis too: it also finds
 *   devices deleted behind the module's back. After a Redis outage every socket is re-checked.
 * - The JWT expires: closed at its `exp` (`4401 token expired`); the client refreshes and reconnects.
 */
@Injectable()
export class DeviceSockets implements OnModuleDestroy {
  private readonly logger = new Logger('JwtDevicesSockets');
  private readonly tracked = new Map<object, TrackedSocket>();
  private readonly byDevice = new Map<number, Set<TrackedSocket>>();
  private readonly sweepEveryMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** The sweep running now, and whether another was asked for meanwhile. */
  private sweeping: Promise<void> | undefined;
  private sweepAgain = false;
  private readonly stopListening: () => void;

  constructor(
    @Inject(JWT_DEVICES_OPTIONS) options: ResolvedJwtDevicesOptions,
    keys: DeviceKeys,
    private readonly devices: DevicesService,
    private readonly tokens: DeviceTokens,
    private readonly clock: JwtDevicesClock,
  ) {
    this.sweepEveryMs = options.deviceCacheTtl === 0 ? 1_000 : Math.max(options.deviceCacheTtl / 4, 250);
    this.stopListening = keys.onRevoked((revoked) => this.revoked(revoked));
  }

  /**
   * Remembers that `client` authenticated as `device` with `token`, once: later messages of the same
   * socket carry the same handshake. Closes it when the device is revoked or the JWT expires.
   */
  track(client: object, device: AuthenticatedDevice, token: string): void {
    if (this.tracked.has(client) || !isOpen(client)) return;
    const exp = this.tokens.peek(token)?.exp;
    const socket: TrackedSocket = { client, deviceId: device.id, expiresMs: typeof exp === 'number' ? exp * 1_000 : Number.POSITIVE_INFINITY };
    this.tracked.set(client, socket);
    if (socket.deviceId !== null) {
      let sockets = this.byDevice.get(socket.deviceId);
      if (sockets === undefined) this.byDevice.set(socket.deviceId, (sockets = new Set()));
      sockets.add(socket);
    }
    (client as { once(event: string, listener: () => void): unknown }).once(isSocketIo(client) ? 'disconnect' : 'close', () => this.forget(socket));
    this.armExpiry(socket);
    this.sweeper ??= setInterval(() => void this.sweep(), this.sweepEveryMs).unref();
    // A revocation announced while the JWT was being verified found no socket to close: check once more.
    if (socket.deviceId !== null) void this.check(socket.deviceId);
  }

  /** How many open sockets are tracked. */
  get size(): number {
    return this.tracked.size;
  }

  onModuleDestroy(): void {
    this.stopListening();
    for (const socket of [...this.tracked.values()]) this.forget(socket);
  }

  private revoked(revoked: RevokedDevices): void {
    if (revoked === 'all') {
      void this.sweep();
      return;
    }
    for (const id of revoked) for (const socket of [...(this.byDevice.get(id) ?? [])]) this.close(socket, 'device revoked');
  }

  /**
   * Closes the sockets whose device is gone, as far as this instance can tell (see the class doc). One
   * sweep at a time: asked again while one runs (a slow store, or Redis back after an outage), it runs
   * once more when that one ends, so sweeps never pile up.
   */
  private sweep(): Promise<void> {
    if (this.sweeping) {
      this.sweepAgain = true;
      return this.sweeping;
    }
    this.sweeping = (async () => {
      do {
        this.sweepAgain = false;
        for (const id of [...this.byDevice.keys()]) if (!(await this.check(id))) break;
      } while (this.sweepAgain);
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * Closes the sockets of device `id` if it is gone: a cache hit, or one read by primary key.
   * @returns false when the store failed (the sockets stay; the next sweep tries again).
   */
  private async check(id: number): Promise<boolean> {
    try {
      if ((await this.devices.deviceKey(id)) === undefined) this.revoked([id]);
      return true;
    } catch (error) {
      this.logger.warn(`Could not re-check the sockets of a device: ${describeFailure(error)}; retrying at the next sweep.`);
      return false;
    }
  }

  private armExpiry(socket: TrackedSocket): void {
    const delay = socket.expiresMs - this.clock.now();
    if (delay <= 0) {
      this.close(socket, 'token expired');
    } else if (Number.isFinite(delay)) {
      const fire = delay > MAX_TIMER_MS ? () => this.armExpiry(socket) : () => this.close(socket, 'token expired');
      socket.timer = setTimeout(fire, Math.min(delay, MAX_TIMER_MS)).unref();
    }
  }

  private close(socket: TrackedSocket, reason: SocketCloseReason): void {
    this.forget(socket);
    const code = reason === 'token expired' ? JWT_DEVICES_CLOSE_CODES.tokenExpired : JWT_DEVICES_CLOSE_CODES.deviceRevoked;
    const client = socket.client as {
      emit?(event: string, payload: object): unknown;
      disconnect?(close: boolean): unknown;
      close?(code: number, reason: string): unknown;
    };
    try {
      if (isSocketIo(socket.client)) {
        client.emit?.(JWT_DEVICES_DISCONNECT_EVENT, { code, reason });
        client.disconnect?.(true);
      } else {
        client.close?.(code, reason);
      }
    } catch (error) {
      this.logger.warn(`Could not close a socket (${reason}): ${describeFailure(error)}`);
    }
  }

  private forget(socket: TrackedSocket): void {
    if (this.tracked.get(socket.client) !== socket) return;
    this.tracked.delete(socket.client);
    clearTimeout(socket.timer);
    if (socket.deviceId !== null) {
      const sockets = this.byDevice.get(socket.deviceId);
      sockets?.delete(socket);
      if (sockets?.size === 0) this.byDevice.delete(socket.deviceId);
    }
    if (this.tracked.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

/** Whether a socket is still open: socket.io's `connected`, a WebSocket's `readyState` (0 or 1). */
function isOpen(client: object): boolean {
  if (isSocketIo(client)) return (client as { connected?: boolean }).connected !== false;
  const readyState = (client as { readyState?: unknown }).readyState;
  return readyState === 0 || readyState === 1;
}
