import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { CachedDevice } from '../cache/device-key-cache.js';
import { DeviceKeys } from '../cache/device-keys.js';
import { JWT_DEVICES_OPTIONS } from '../jwt-devices.constants.js';
import { DeviceEvictedError, InvalidPermanentTokenError, InvalidTokenError, LoginRevokedError, PermanentTokenReusedError, StalePermanentTokenError } from '../jwt-devices.errors.js';
import { DeviceEvents, type DeviceRevokedReason } from '../jwt-devices.events.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { type DeviceDeleteFilter, DeviceStore, type StoredDevice } from '../store/device-store.js';
import {
  deriveSuccessorToken,
  generateDeviceSecret,
  generatePermanentToken,
  hashPermanentToken,
  lineageOf,
  MAX_PERMANENT_TOKEN_LENGTH,
  reachesByRotation,
} from '../tokens/device-secrets.js';
import type { DeviceDescription } from './device-names.js';
import { LoginAttempt, revokedDuring } from './login-attempt.js';

/** A device just created at login. */
export interface OpenedDevice {
  readonly id: number;
  /** Shown to the client once; only its hash is stored. */
  readonly permanentToken: string;
  /** The device's JWT signing key. */
  readonly key: KeyObject;
}

/** A device whose permanent token was accepted, and its user. */
export interface RefreshedDevice<TUser extends object = object> {
  readonly user: TUser;
  readonly id: number;
  readonly userId: string;
  readonly key: KeyObject;
  /** The successor token, when the refresh rotated it. */
  readonly permanentToken?: string;
}

/**
 * The rules of a device's life, over the {@link DeviceStore} interface: creation and the device limit,
 * idle expiry and the sliding window, absolute lifetime, rotation with reuse detection. It throws
 * domain errors only; what they mean in HTTP is decided in `http/`.
 */
@Injectable()
export class SessionPolicy {
  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    @Inject(DeviceStore) private readonly store: DeviceStore,
    private readonly keys: DeviceKeys,
    private readonly events: DeviceEvents,
  ) {}

  /** Whether a device has idled past `permanentTokenExpiration` or outlived `permanentTokenMaxAge`. */
  isExpired(device: Pick<CachedDevice, 'lastRequestMs' | 'createdMs'>, now: number): boolean {
    const { permanentTokenExpiration, permanentTokenMaxAge } = this.options;
    return now - device.lastRequestMs > permanentTokenExpiration || (permanentTokenMaxAge !== null && now - device.createdMs > permanentTokenMaxAge);
  }

  /**
   * Creates a device for `userId` at `now`. With `devicesPerUser`, the user keeps `limit` devices: this
   * login and any later ones first (newest id first, whatever the clocks say), then the others from the
   * most recently used; the rest are deleted. Parallel logins of one user thus agree on which survive.
   * @throws DeviceEvictedError when newer logins of the same user pushed this one out at once: its
   * token would be dead, so it is never handed out.
   * @throws LoginRevokedError when every device of the user was revoked after `attempt` began (its
   * credentials may be the old ones): the new device is deleted. Checked after the insert, with one
   * read; a revocation that marks after that read also sweeps this device, since it marks before sweeping.
   */
  async open(userId: string, description: DeviceDescription, now: number, attempt = new LoginAttempt()): Promise<OpenedDevice> {
    const permanentToken = generatePermanentToken();
    const jwtSecret = generateDeviceSecret();
    const created = new Date(now);
    const ticket = this.keys.ticket();
    const lineage = lineageOf(permanentToken) ?? null;
    const id = await this.store.insert({ userId, permanentTokenHash: hashPermanentToken(permanentToken), jwtSecret, ...description, created, lineage });
    const key = this.keys.keyOf({ id, jwtSecret });
    this.keys.add({ id, userId, key, lastRequestMs: now, createdMs: now }, now, ticket);
    this.events.emit({ type: 'device.created', deviceId: id, userId, at: created, name: description.name });
    try {
      if (revokedDuring(attempt, await this.store.sinceRevoked(userId))) throw new LoginRevokedError();
      const limit = this.options.devicesPerUser;
      if (limit !== null) {
        const byUse = await this.store.idsOfUser(userId);
        const later = byUse.filter((other) => other >= id).sort((x, y) => y - x);
        const evicted = [...later, ...byUse.filter((other) => other < id)].slice(limit);
        await this.remove(evicted.map((other) => ({ id: other, userId })), { userId }, 'evicted', now);
        // Evicted here, or already by a later login that read the devices first: either way its token is dead.
        if (evicted.includes(id) || !byUse.includes(id)) throw new DeviceEvictedError();
      }
    } catch (error) {
      // No token is handed out, so no row may stay: an orphan would count against devicesPerUser and,
      // being the newest, outlive the user's real devices (an evicted one is gone already). Best effort:
      // the error that got here wins.
      if (!(error instanceof DeviceEvictedError)) await this.remove([{ id, userId }], { userId }, 'signed-out', now).catch(() => undefined);
      throw error;
    }
    return { id, permanentToken, key };
  }

  /**
   * The device a JWT names, from this instance's cache or, when cold, stale or expired here, from one
   * read by primary key. A device read from the store is cached only once `admit(key)` returned (the
   * caller checks the JWT's signature there), so a forged token naming a real device never displaces
   * anything in the cache.
   * @throws InvalidTokenError when the device is gone or expired; whatever `admit` throws.
   */
  async deviceForJwt(id: number, now: number, admit: (key: KeyObject) => void = () => undefined): Promise<CachedDevice> {
    const cached = this.keys.get(id, now);
    if (cached !== undefined && !this.isExpired(cached, now)) return cached;
    const ticket = this.keys.ticket();
    const row = await this.store.findById(id);
    if (!row || this.isExpired({ lastRequestMs: row.lastRequestDatetime.getTime(), createdMs: row.created.getTime() }, now)) {
      throw new InvalidTokenError();
    }
    const key = this.keys.keyOf(row);
    admit(key);
    const remembered = this.keys.remember(row, now, ticket, key);
    if (remembered === undefined || this.isExpired(remembered, now)) throw new InvalidTokenError();
    return remembered;
  }

  /**
   * Accepts a permanent token: its device must exist and not be expired (an expired one is deleted).
   * Slides the expiry, writing `last_request_datetime` at most once per
   * `permanentTokenExpirationAccuracy`; with `permanentTokenRotation`, rotates the token. A device
   * whose user `findUser` no longer finds is deleted.
   * @throws InvalidPermanentTokenError when missing, unknown or expired, or its user is gone;
   * PermanentTokenReusedError on reuse of a rotated-out token (any of the device's, see {@link retired}).
   */
  async refresh<TUser extends object>(
    permanentToken: string | undefined,
    now: number,
    findUser: (userId: string) => Promise<TUser | null | undefined> | TUser | null | undefined,
  ): Promise<RefreshedDevice<TUser>> {
    if (!permanentToken) throw new InvalidPermanentTokenError('The Permanent-Token header is required.');
    if (permanentToken.length > MAX_PERMANENT_TOKEN_LENGTH) throw new InvalidPermanentTokenError();
    const hash = hashPermanentToken(permanentToken);
    const ticket = this.keys.ticket();
    let row = await this.store.findByTokenHash(hash);
    if (!row && this.options.permanentTokenRotation) row = await this.store.findByPreviousTokenHash(hash);
    if (!row) {
      await this.retired(permanentToken, now);
      throw new InvalidPermanentTokenError();
    }

    const cached = this.keys.remember(row, now, ticket);
    if (cached === undefined) throw new InvalidPermanentTokenError(); // revoked while we read it
    if (this.isExpired(cached, now)) {
      await this.forget(row, 'expired', now);
      throw new InvalidPermanentTokenError('Permanent token has expired; log in again.');
    }

    let successor: string | undefined;
    if (this.options.permanentTokenRotation) {
      successor = await this.rotate(row, permanentToken, hash, now);
      cached.lastRequestMs = now;
    } else if (now - row.lastRequestDatetime.getTime() > this.options.permanentTokenExpirationAccuracy) {
      await this.store.touch(row.id, new Date(now), new Date(now - this.options.permanentTokenExpirationAccuracy));
      cached.lastRequestMs = now;
    }
    const user = await findUser(row.userId);
    if (!user) {
      await this.forget(row, 'user-gone', now);
      throw new InvalidPermanentTokenError('The user of this permanent token no longer exists; the device was deleted.');
    }
    this.events.emit({ type: 'device.refreshed', deviceId: row.id, userId: row.userId, at: new Date(now) });
    return { user, id: row.id, userId: row.userId, key: cached.key, ...(successor !== undefined && { permanentToken: successor }) };
  }

  /** Deletes a device whatever its owner (expired, stolen, user gone) and says why. */
  async forget(device: Pick<StoredDevice, 'id' | 'userId'>, reason: DeviceRevokedReason, now: number): Promise<void> {
    await this.remove([device], {}, reason, now);
  }

  /**
   * Deletes those of `devices` that match `filter`, makes every instance forget them, and tells
   * `onEvent`. @returns how many were deleted.
   */
  async remove(
    devices: ReadonlyArray<Pick<StoredDevice, 'id' | 'userId'>>,
    filter: DeviceDeleteFilter,
    reason: DeviceRevokedReason,
    now: number,
  ): Promise<number> {
    if (devices.length === 0) return 0;
    const ids = devices.map(({ id }) => id);
    const deleted = new Set(await this.keys.revoking(ids, () => this.store.delete(ids, filter)));
    const at = new Date(now);
    for (const { id, userId } of devices) if (deleted.has(id)) this.events.emit({ type: 'device.revoked', deviceId: id, userId, at, reason });
    return deleted.size;
  }

  /**
   * Rotates the permanent token of `row`, presented as `token` (hash `hash`), and returns its successor.
   * The current token rotates with one conditional update; refreshes that lose the race, and retries
   * within the reuse interval, get the same successor. A retired token after the interval revokes the device.
   */
  private async rotate(row: StoredDevice, token: string, hash: string, now: number): Promise<string> {
    const successor = deriveSuccessorToken(this.options.jwtSecret, token);
    const successorHash = hashPermanentToken(successor);
    if (row.permanentTokenHash === hash) {
      if (await this.store.rotate(row.id, hash, successorHash, new Date(now))) {
        this.events.emit({ type: 'device.rotated', deviceId: row.id, userId: row.userId, at: new Date(now) });
        return successor;
      }
      // Another refresh rotated this token a moment ago: read what it wrote.
      const current = await this.store.findById(row.id);
      if (!current) throw new InvalidPermanentTokenError();
      row = current;
    }
    const withinInterval = row.rotatedAt !== null && now - row.rotatedAt.getTime() <= this.options.permanentTokenReuseInterval;
    if (row.previousTokenHash === hash && row.permanentTokenHash === successorHash && withinInterval) return successor;

    return this.theft(row, now);
  }

  /**
   * An unknown token that carries a device's lineage and that rotation turns into the device's current
   * token, within its count of rotations, is one the device held before: its reuse is theft, once the
   * last rotation is older than the reuse interval (the token was retired even earlier); within it, a
   * `StalePermanentTokenError`. A forged token never reaches the current one, and revokes nothing.
   */
  private async retired(token: string, now: number): Promise<void> {
    const lineage = lineageOf(token);
    const row = lineage === undefined ? undefined : await this.store.findByLineage(lineage);
    if (!row || row.rotatedAt === null || !reachesByRotation(this.options.jwtSecret, token, row.permanentTokenHash, row.rotations ?? 0)) return;
    // Within the interval it raced newer refreshes (two tabs, a retry): refused, and the newer token stays good.
    if (now - row.rotatedAt.getTime() <= this.options.permanentTokenReuseInterval) throw new StalePermanentTokenError();
    await this.theft(row, now);
  }

  private async theft(row: StoredDevice, now: number): Promise<never> {
    this.events.emit({ type: 'device.reuse-detected', deviceId: row.id, userId: row.userId, at: new Date(now) });
    await this.forget(row, 'theft', now);
    throw new PermanentTokenReusedError();
  }
}
