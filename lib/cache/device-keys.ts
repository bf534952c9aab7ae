import { Inject, Injectable, Logger } from '@nestjs/common';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { DEVICE_REVOCATIONS, JWT_DEVICES_OPTIONS } from '../jwt-devices.constants.js';
import { describeFailure } from '../jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import type { StoredDevice } from '../store/device-store.js';
import { deriveDeviceKey } from '../tokens/device-secrets.js';
import { type CachedDevice, DeviceCache, type VerifiedToken } from './device-key-cache.js';
import type { DeviceRevocations, RevokedDevices } from './device-revocations.js';

/** Told of every revocation this instance learns of: its own deletions, and other instances' over Redis. */
export type RevocationListener = (revoked: RevokedDevices) => void;

/**
 * The signing keys of devices this instance has seen, kept coherent with revocations: a device revoked
 * here is forgotten before and after its row is deleted, other instances are told after, and a read
 * that began before a revocation cannot cache the device again (read tickets and tombstones).
 */
@Injectable()
export class DeviceKeys {
  private readonly cache: DeviceCache;
  private readonly listeners = new Set<RevocationListener>();
  private readonly logger = new Logger('JwtDevicesKeys');
  /** Signs and verifies plain JWTs (`permanentTokenAuth: false`). */
  readonly plainKey: KeyObject;

  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    @Inject(DEVICE_REVOCATIONS) private readonly revocations: DeviceRevocations,
  ) {
    this.plainKey = createSecretKey(options.jwtSecret);
    this.cache = new DeviceCache(options.deviceCacheSize, options.deviceCacheTtl);
    revocations.subscribe((revoked) => {
      if (revoked === 'all') this.cache.clear();
      else revoked.forEach((id) => this.cache.revoke(id));
      this.notify(revoked);
    });
  }

  /**
   * Calls `listener` after every revocation this instance learns of, once the cache has forgotten the
   * devices: the ids this instance deleted, the ids other instances announce, or `'all'` when some may
   * have been missed. What a listener throws is logged (by class only): a revocation never fails because of it.
   * @returns a function that removes the listener.
   */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The signing key of a device's row: the one kept for this device while its secret is unchanged, else
   * a new derivation, kept by {@link remember} only once the read was admitted (so a forged JWT naming a
   * real device never displaces a kept key). A row read again (the cache off, or its entry stale) thus
   * costs no HMAC, and gives the very key object its JWTs were verified with (see `VerifiedToken.key`).
   */
  keyOf(device: Pick<StoredDevice, 'id' | 'jwtSecret'>): KeyObject {
    return this.cache.keptKey(device.id, device.jwtSecret) ?? deriveDeviceKey(this.options.jwtSecret, device.jwtSecret);
  }

  /** Taken before reading a device row; see {@link remember}. */
  ticket(): number {
    return this.cache.ticket();
  }

  /** The fresh cached entry of a device, or `undefined`. */
  get(id: number, now: number): CachedDevice | undefined {
    return this.cache.get(id, now);
  }

  /**
   * Caches what a row read after `ticket` says, with its key (derived here unless given).
   * @returns `undefined` when the device was revoked while the row was being read.
   */
  remember(row: StoredDevice, now: number, ticket: number, key?: KeyObject): CachedDevice | undefined {
    const cached = this.cache.get(row.id, now);
    const lastRequestMs = row.lastRequestDatetime.getTime();
    if (cached !== undefined && cached.userId === row.userId) {
      cached.lastRequestMs = Math.max(cached.lastRequestMs, lastRequestMs);
      return cached;
    }
    const entry = { id: row.id, userId: row.userId, key: key ?? this.keyOf(row), lastRequestMs, createdMs: row.created.getTime() };
    const remembered = this.cache.set(entry, now, ticket);
    if (remembered !== undefined) this.cache.keepKey(row.id, row.jwtSecret, entry.key);
    return remembered;
  }

  /** Caches a device this instance just created. */
  add(device: Omit<CachedDevice, 'staleAt'>, now: number, ticket: number): void {
    this.cache.set(device, now, ticket);
  }

  /** A JWT verified on this instance before (its device may be revoked since: check the key), or `undefined`. */
  knownToken(token: string): VerifiedToken | undefined {
    return this.cache.knownToken(token);
  }

  /** Remembers a verified JWT, tied to the key it was verified with. */
  rememberToken(token: string, verified: VerifiedToken): void {
    this.cache.rememberToken(token, verified);
  }

  /**
   * Runs `remove`, which deletes devices from the store and returns the ids it deleted, and makes every
   * instance forget exactly those: this cache at once (a read that began before the delete cannot cache
   * a device back: its ticket predates the tombstone), the other instances after. A device that was not
   * deleted (another user's, say) is not touched anywhere. When `remove` fails part-way, what it deleted
   * is unknown, so every one of `candidates` is forgotten.
   */
  async revoking(candidates: readonly number[], remove: () => Promise<readonly number[]>): Promise<readonly number[]> {
    let deleted: readonly number[] = candidates;
    try {
      deleted = await remove();
      return deleted;
    } finally {
      for (const id of deleted) this.cache.revoke(id);
      if (deleted.length > 0) {
        this.revocations.publish(deleted);
        this.notify(deleted);
      }
    }
  }

  private notify(revoked: RevokedDevices): void {
    for (const listener of this.listeners) {
      try {
        listener(revoked);
      } catch (error) {
        this.logger.error(`A revocation listener failed: ${describeFailure(error)}`);
      }
    }
  }
}
