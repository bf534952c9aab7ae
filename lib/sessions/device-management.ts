import { Inject, Injectable } from '@nestjs/common';
import { JWT_DEVICES_OPTIONS } from '../jwt-devices.constants.js';
import { InvalidDeviceInputError, JwtDevicesError } from '../jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { DeviceStore, isStorableId, type ListedDevice, MAX_DEVICE_ID } from '../store/device-store.js';
import { cleanDeviceText, MAX_DEVICE_TEXT } from './device-names.js';
import { REVOCATION_SETTLE_MS } from './login-attempt.js';
import { SessionPolicy } from './session-policy.js';

/** One page of a user's devices, and where the next one starts. */
export interface DeviceListing {
  readonly devices: ListedDevice[];
  /** The id to list after for the next page; `null` when this page is the last. */
  readonly next: number | null;
}

/** Most devices one round of a sign-out of all (or all other) devices reads and deletes. */
export const SIGN_OUT_BATCH = 10_000;

/** What a user may do with their own devices: list, rename, sign out one, others, or all; and the expiry sweep. */
@Injectable()
export class DeviceManagement {
  /** Devices per round of {@link revokeAllBut}; smaller in tests. */
  protected signOutBatch = SIGN_OUT_BATCH;

  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    @Inject(DeviceStore) private readonly store: DeviceStore,
    private readonly policy: SessionPolicy,
  ) {}

  /**
   * One page of the user's devices, oldest (lowest id) first: those after `after`, at most
   * `devicesPageSize`, and the `after` of the next page (`null` on the last one). One read of
   * `devicesPageSize + 1` rows, whatever the number of devices.
   */
  async list(userId: string, after: number | null = null): Promise<DeviceListing> {
    const pageSize = this.options.devicesPageSize;
    if (after !== null && !(Number.isSafeInteger(after) && after >= 0 && after <= MAX_DEVICE_ID)) {
      throw new InvalidDeviceInputError(`"after" must be 0 or a device id, at most ${MAX_DEVICE_ID}.`);
    }
    const devices = await this.store.list(userId, { after, limit: pageSize + 1 });
    if (devices.length <= pageSize) return { devices, next: null };
    devices.length = pageSize;
    return { devices, next: devices[pageSize - 1]!.id };
  }

  /**
   * Renames one of the user's devices; the name is cleaned as names from headers are.
   * @returns the device, or `undefined` when the user has no such device.
   * @throws InvalidDeviceInputError for an empty or too long name.
   */
  async rename(userId: string, deviceId: number, name: string): Promise<ListedDevice | undefined> {
    const clean = typeof name === 'string' ? cleanDeviceText(name) : '';
    if (!clean || Array.from(name.trim()).length > MAX_DEVICE_TEXT) {
      throw new InvalidDeviceInputError(`"name" must be a non-empty string of at most ${MAX_DEVICE_TEXT} characters.`);
    }
    return isStorableId(deviceId) ? this.store.rename(userId, deviceId, clean) : undefined;
  }

  /**
   * Deletes one of the user's devices: its permanent token stops refreshing and its JWTs stop verifying.
   * @returns false when the user has no such device (another user's is never touched).
   */
  async revoke(userId: string, deviceId: number, now: number): Promise<boolean> {
    return isStorableId(deviceId) && (await this.policy.remove([{ id: deviceId, userId }], { userId }, 'logout', now)) > 0;
  }

  /**
   * Signs out every device of the user, e.g. after a password change, and every login of the user whose
   * credential check began before (on any instance: see `SessionPolicy.open`). Marks the user first,
   * then deletes; returns no sooner than {@link REVOCATION_SETTLE_MS} after the mark, so a login the
   * caller starts next is not taken for one that began before. @returns how many devices.
   */
  async revokeAll(userId: string, now: number): Promise<number> {
    await this.store.markRevoked(userId);
    const marked = performance.now();
    const revoked = await this.revokeAllBut(userId, null, now);
    const settle = REVOCATION_SETTLE_MS - (performance.now() - marked);
    if (settle > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(settle)));
    return revoked;
  }

  /**
   * Deletes every device of the user but `keepDeviceId`, {@link SIGN_OUT_BATCH} at a time, so memory and
   * statement size stay bounded however many devices the user has. @returns how many.
   */
  async revokeAllBut(userId: string, keepDeviceId: number | null, now: number): Promise<number> {
    let revoked = 0;
    for (;;) {
      const batch = await this.store.idsOfUser(userId, this.signOutBatch + 1);
      const ids = batch.filter((id) => id !== keepDeviceId).slice(0, this.signOutBatch);
      const deleted = ids.length === 0 ? 0 : await this.policy.remove(ids.map((id) => ({ id, userId })), { userId }, 'signed-out', now);
      revoked += deleted;
      if (batch.length <= this.signOutBatch || deleted === 0) return revoked;
    }
  }

  /**
   * Deletes devices idle past `permanentTokenExpiration`, `batchSize` per statement, at most `maxBatches`
   * statements. @returns how many.
   */
  async purgeExpired(now: number, batchSize: number, maxBatches: number): Promise<number> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new JwtDevicesError('purgeExpired({ batchSize }) must be a positive integer.');
    const cutoff = new Date(now - this.options.permanentTokenExpiration);
    let purged = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const expired = await this.store.findIdle(cutoff, batchSize);
      purged += await this.policy.remove(expired, { idleBefore: cutoff }, 'expired', now);
      if (expired.length < batchSize) break;
    }
    return purged;
  }
}
