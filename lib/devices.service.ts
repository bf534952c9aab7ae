import {
  BadRequestException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { type FindOptionsWhere, In, LessThan, type Repository } from 'typeorm';
import { type CachedDevice, DeviceCache } from './device-cache.js';
import type { DeviceRecord } from './device.entity.js';
import type { DeviceRevokedReason, JwtDevicesEvent } from './jwt-devices.events.js';
import {
  deriveDeviceKey,
  deriveSuccessorToken,
  generateDeviceSecret,
  generatePermanentToken,
  hashPermanentToken,
  MAX_PERMANENT_TOKEN_LENGTH,
} from './device-secrets.js';
import { JwtDevicesClock } from './jwt-devices.clock.js';
import { DEVICE_REPOSITORY, DEVICE_REVOCATIONS, JWT_DEVICES_OPTIONS } from './jwt-devices.constants.js';
import type { DeviceRevocations } from './device-revocations.js';
import { JwtDevicesError } from './jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from './jwt-devices.options.js';
import { decodeJwt, signJwt, verifyJwtSignature } from './jwt-hs256.js';
import {
  type Credentials,
  cleanDeviceText,
  describeDevice,
  MAX_DEVICE_ID,
  MAX_DEVICE_TEXT,
  parseDeviceId,
  type RequestHeaders,
} from './request-input.js';

/** The device (or, with `permanentTokenAuth: false`, the device-less session) a request authenticated as. */
export interface AuthenticatedDevice {
  /** The device's id; `null` for a plain JWT (`permanentTokenAuth: false`). */
  readonly id: number | null;
  /** The app's user id, as stored on the device. */
  readonly userId: string;
}

/** A verified credential: the app's user (from `users.findUser`) and the device it came from. */
export interface Authenticated<TUser extends object = object> {
  readonly user: TUser;
  readonly device: AuthenticatedDevice;
}

/** Body of a login in device mode, exactly as drf-jwt-devices answers it. */
export interface DeviceLoginResponse {
  token: string;
  permanent_token: string;
  device_id: number;
}

/** Body of a login with `permanentTokenAuth: false`. */
export interface PlainLoginResponse {
  token: string;
}

/** Body of `POST /auth-token/`. */
export type LoginResponse = DeviceLoginResponse | PlainLoginResponse;

/** Body of `POST /device-refresh-token/`; `permanent_token` only with `permanentTokenRotation`. */
export interface RefreshResponse {
  token: string;
  permanent_token?: string;
}

/** One entry of `GET /devices/`. */
export interface DeviceView {
  id: number;
  /** ISO-8601. */
  created: string;
  name: string;
  details: string;
  /** ISO-8601. */
  last_request_datetime: string;
  /** `true` for the device that made the request. */
  current: boolean;
}

const INVALID_TOKEN = 'Invalid token, or its device has been logged out; log in again.';
const STORE_UNAVAILABLE = 'The device store is unavailable; try again in a moment.';

/** The columns every check of a device needs. */
const DEVICE_STATE = {
  id: true,
  userId: true,
  jwtSecret: true,
  permanentTokenHash: true,
  previousTokenHash: true,
  created: true,
  lastRequestDatetime: true,
  rotatedAt: true,
} as const;
type DeviceState = Pick<DeviceRecord, keyof typeof DEVICE_STATE>;

/** A device whose permanent token was just accepted, waiting for {@link DevicesService.refresh}. */
interface PendingRefresh {
  readonly device: CachedDevice;
  /** The successor token, when the refresh rotated it. */
  readonly permanentToken?: string;
}

/**
 * Every rule about devices lives here: issuing them at login, verifying their JWTs, refreshing (and
 * rotating) with a permanent token, listing, renaming and revoking. The controller, strategies and
 * guards only translate HTTP. Apps with their own login flow call {@link DevicesService.issue}.
 */
@Injectable()
export class DevicesService {
  private readonly logger = new Logger(DevicesService.name);
  private readonly plainJwtKey: KeyObject;
  private readonly cache: DeviceCache;
  private readonly pendingRefreshes = new WeakMap<AuthenticatedDevice, PendingRefresh>();

  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    @Inject(DEVICE_REPOSITORY) private readonly devices: Repository<DeviceRecord>,
    private readonly clock: JwtDevicesClock,
    @Inject(DEVICE_REVOCATIONS) private readonly revocations: DeviceRevocations,
  ) {
    this.plainJwtKey = createSecretKey(options.jwtSecret);
    this.cache = new DeviceCache(options.deviceCacheSize, options.deviceCacheTtl);
    revocations.subscribe((revoked) => (revoked === 'all' ? this.cache.clear() : revoked.forEach((id) => this.cache.revoke(id))));
  }

  /**
   * Checks credentials with the app's `users.validateUser` and issues a login for the user.
   * @throws NotFoundException when the app configured no `validateUser`.
   * @throws BadRequestException when the credentials are wrong (no device is created).
   */
  async login(credentials: Credentials, request?: { headers?: RequestHeaders }): Promise<LoginResponse> {
    const { validateUser } = this.options.users;
    if (!validateUser) {
      throw new NotFoundException('This app does not log in with username and password here; use its own login route.');
    }
    const user = await validateUser(credentials.username, credentials.password);
    if (!user) throw new BadRequestException('Unable to log in with provided credentials.');
    return this.issue(user, request);
  }

  /**
   * Logs `user` in: creates a device named from the request's `X-Device-Model`/`User-Agent` headers and
   * returns `{token, permanent_token, device_id}`; with `permanentTokenAuth: false` returns `{token}`.
   * For apps with their own login flow (OAuth, magic links, …): the body is the one `POST /auth-token/` gives.
   * With `devicesPerUser`, the user's least recently used devices beyond the limit are deleted.
   */
  async issue(user: object, request?: { headers?: RequestHeaders }): Promise<LoginResponse> {
    const userId = this.userIdOf(user);
    const now = this.clock.now();
    if (!this.options.permanentTokenAuth) {
      return { token: this.signFor(user, userId, null, this.plainJwtKey, now) };
    }
    const permanentToken = generatePermanentToken();
    const jwtSecret = generateDeviceSecret();
    const { name, details } = describeDevice(request?.headers);
    const storedUserId = String(userId);
    const created = new Date(now);
    const ticket = this.cache.ticket();
    const inserted = await this.store(() =>
      this.devices.insert({
        userId: storedUserId,
        permanentTokenHash: hashPermanentToken(permanentToken),
        jwtSecret,
        name,
        details,
        created,
        lastRequestDatetime: created,
      }),
    );
    const id = Number(inserted.identifiers[0]?.id);
    const key = deriveDeviceKey(this.options.jwtSecret, jwtSecret);
    this.cache.set({ id, userId: storedUserId, key, lastRequestMs: now, createdMs: now }, now, ticket);
    this.emit({ type: 'device.created', deviceId: id, userId: storedUserId, at: created, name });
    if (this.options.devicesPerUser !== null) await this.evictBeyondLimit(storedUserId, id, this.options.devicesPerUser);
    return { token: this.signFor(user, userId, id, key, now), permanent_token: permanentToken, device_id: id };
  }

  /**
   * Verifies a JWT from an `Authorization` header and finds its user. A device cached on this instance
   * costs no query; a cold one costs one read by primary key.
   * @throws UnauthorizedException for a malformed, forged, expired or revoked token, or a user that is gone.
   */
  async authenticate(token: string): Promise<Authenticated> {
    const now = this.clock.now();
    const device = this.knownToken(token, now) ?? (await this.verifyToken(token, now));
    const user = await this.options.users.findUser(device.userId);
    if (!user) throw new UnauthorizedException('The user of this token no longer exists.');
    return { user, device };
  }

  /**
   * The device of a JWT this instance verified before, as long as nothing about it changed: the token
   * has not expired, and its device is still cached with the very key it was verified with (revoking
   * or re-reading the device drops or replaces that entry). Skips decoding and the HMAC.
   */
  private knownToken(token: string, now: number): AuthenticatedDevice | undefined {
    const known = this.cache.tokens.get(token);
    if (known === undefined || now >= known.expiresMs || now < known.notBeforeMs) return undefined;
    if (known.deviceId === null) return { id: null, userId: known.userId };
    const cached = this.cache.get(known.deviceId, now);
    if (cached === undefined || cached.key !== known.key || this.isExpired(cached, now)) return undefined;
    return { id: known.deviceId, userId: known.userId };
  }

  /** Decodes and verifies a JWT in full, reading its device when it is not cached, and remembers it. */
  private async verifyToken(token: string, now: number): Promise<AuthenticatedDevice> {
    const jwt = decodeJwt(token);
    if (!jwt) throw new UnauthorizedException(INVALID_TOKEN);
    const { payload } = jwt;
    const claimedUserId = payload.user_id;
    if (typeof claimedUserId !== 'string' && !Number.isSafeInteger(claimedUserId)) throw new UnauthorizedException(INVALID_TOKEN);

    let device: AuthenticatedDevice;
    let key: KeyObject;
    if (this.options.permanentTokenAuth) {
      const id = parseDeviceId(payload.device_id);
      if (id === undefined || id > MAX_DEVICE_ID) throw new UnauthorizedException(INVALID_TOKEN);
      let cached = this.cache.get(id, now);
      if (cached === undefined || this.isExpired(cached, now)) {
        // Cold, stale, or expired as far as this instance knows: the row decides.
        const ticket = this.cache.ticket();
        const row = await this.store(() => this.devices.findOne({ where: { id }, select: DEVICE_STATE }));
        cached = row ? this.remember(row, now, ticket) : undefined;
        if (cached === undefined || this.isExpired(cached, now)) throw new UnauthorizedException(INVALID_TOKEN);
      }
      device = { id, userId: cached.userId };
      key = cached.key;
    } else {
      device = { id: null, userId: String(claimedUserId) };
      key = this.plainJwtKey;
    }

    if (!verifyJwtSignature(jwt, key) || String(claimedUserId) !== device.userId) {
      throw new UnauthorizedException(INVALID_TOKEN);
    }
    if (typeof payload.exp !== 'number' || now >= payload.exp * 1_000) {
      throw new UnauthorizedException('Token has expired; get a new one from POST /device-refresh-token/.');
    }
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || now < payload.nbf * 1_000)) {
      throw new UnauthorizedException('Token is not valid yet.');
    }
    const notBeforeMs = typeof payload.nbf === 'number' ? payload.nbf * 1_000 : Number.NEGATIVE_INFINITY;
    this.cache.tokens.set(token, { deviceId: device.id, userId: device.userId, key, expiresMs: payload.exp * 1_000, notBeforeMs });
    return device;
  }

  /**
   * Checks a permanent token (the `Permanent-Token` header): it must belong to a device that has not
   * idled past `permanentTokenExpiration` (nor outlived `permanentTokenMaxAge`). An expired device is
   * deleted. Slides the expiry, writing `last_request_datetime` at most once per
   * `permanentTokenExpirationAccuracy`; with `permanentTokenRotation`, rotates the token (see there).
   * @throws BadRequestException when the token is missing, unknown, expired or reused, or its user is gone.
   */
  async validatePermanentToken(permanentToken: string | undefined): Promise<Authenticated> {
    if (!permanentToken) throw new BadRequestException('The Permanent-Token header is required.');
    if (permanentToken.length > MAX_PERMANENT_TOKEN_LENGTH) throw new BadRequestException('Invalid permanent token.');
    const hash = hashPermanentToken(permanentToken);
    const ticket = this.cache.ticket();
    let row = await this.store(() => this.devices.findOne({ where: { permanentTokenHash: hash }, select: DEVICE_STATE }));
    if (!row && this.options.permanentTokenRotation) {
      row = await this.store(() => this.devices.findOne({ where: { previousTokenHash: hash }, select: DEVICE_STATE }));
    }
    if (!row) throw new BadRequestException('Invalid permanent token.');

    const now = this.clock.now();
    const cached = this.remember(row, now, ticket);
    if (cached === undefined) throw new BadRequestException('Invalid permanent token.'); // revoked while we read it
    if (this.isExpired(cached, now)) {
      await this.forget(row, 'expired', now);
      throw new BadRequestException('Permanent token has expired; log in again.');
    }

    let successor: string | undefined;
    if (this.options.permanentTokenRotation) {
      successor = await this.rotate(row, permanentToken, hash, now);
      cached.lastRequestMs = now;
    } else if (now - row.lastRequestDatetime.getTime() > this.options.permanentTokenExpirationAccuracy) {
      // One conditional UPDATE: concurrent refreshes write it once, and never move it backwards.
      await this.store(() =>
        this.devices.update(
          { id: row.id, lastRequestDatetime: LessThan(new Date(now - this.options.permanentTokenExpirationAccuracy)) },
          { lastRequestDatetime: new Date(now) },
        ),
      );
      cached.lastRequestMs = now;
    }

    const user = await this.options.users.findUser(row.userId);
    if (!user) {
      await this.forget(row, 'user-gone', now);
      throw new BadRequestException('The user of this permanent token no longer exists; the device was deleted.');
    }
    const device: AuthenticatedDevice = { id: row.id, userId: row.userId };
    this.pendingRefreshes.set(device, { device: cached, permanentToken: successor });
    this.emit({ type: 'device.refreshed', deviceId: row.id, userId: row.userId, at: new Date(now) });
    return { user, device };
  }

  /**
   * A fresh JWT for a device whose permanent token {@link validatePermanentToken} just accepted; with
   * rotation, also the device's new permanent token.
   * @param authenticated exactly what `validatePermanentToken` returned.
   */
  refresh({ user, device }: Authenticated): RefreshResponse {
    const pending = this.pendingRefreshes.get(device);
    if (!pending) throw new JwtDevicesError('DevicesService.refresh() takes the value that validatePermanentToken() returned.');
    const token = this.signFor(user, this.userIdOf(user), pending.device.id, pending.device.key, this.clock.now());
    return pending.permanentToken === undefined ? { token } : { token, permanent_token: pending.permanentToken };
  }

  /** The user's devices, oldest first; `currentDeviceId` marks the calling one. */
  async list(userId: string, currentDeviceId: number | null = null): Promise<DeviceView[]> {
    const rows = await this.store(() =>
      this.devices.find({
        where: { userId },
        order: { created: 'ASC', id: 'ASC' },
        select: { id: true, created: true, name: true, details: true, lastRequestDatetime: true },
      }),
    );
    return rows.map((row) => toView(row, currentDeviceId));
  }

  /**
   * Renames one device of `userId`. The name is cleaned as device names from headers are.
   * @returns the renamed device, or `undefined` when the user has no such device.
   * @throws BadRequestException when the name is empty or longer than 255 characters.
   */
  async rename(userId: string, deviceId: number, name: string, currentDeviceId: number | null = null): Promise<DeviceView | undefined> {
    const clean = cleanDeviceText(name);
    if (!clean || Array.from(name.trim()).length > MAX_DEVICE_TEXT) {
      throw new BadRequestException(`"name" must be a non-empty string of at most ${MAX_DEVICE_TEXT} characters.`);
    }
    if (!isStorableId(deviceId)) return undefined;
    const result = await this.store(() => this.devices.update({ id: deviceId, userId }, { name: clean }));
    if (!result.affected) return undefined;
    const row = await this.store(() =>
      this.devices.findOne({
        where: { id: deviceId, userId },
        select: { id: true, created: true, name: true, details: true, lastRequestDatetime: true },
      }),
    );
    return row ? toView(row, currentDeviceId) : undefined;
  }

  /**
   * Deletes one device of `userId`: its permanent token stops refreshing and its JWTs stop verifying.
   * @returns false when the user has no such device (another user's device is never touched).
   */
  async revoke(userId: string, deviceId: number): Promise<boolean> {
    if (!isStorableId(deviceId)) return false;
    const revoked = (await this.deleteDevices([deviceId], { id: deviceId, userId })) > 0;
    if (revoked) this.emit({ type: 'device.revoked', deviceId, userId, at: new Date(this.clock.now()), reason: 'logout' });
    return revoked;
  }

  /** Signs out every device of `userId` except `keepDeviceId` ("sign out other devices"). @returns how many. */
  async revokeOthers(userId: string, keepDeviceId: number | null): Promise<number> {
    return this.revokeMany(userId, keepDeviceId, 'signed-out');
  }

  /** Signs out every device of `userId`, e.g. after a password change. @returns how many. */
  async revokeAllForUser(userId: string | number): Promise<number> {
    return this.revokeMany(String(userId), null, 'signed-out');
  }

  /**
   * Deletes devices idle past `permanentTokenExpiration`, `batchSize` rows per statement, so a cron can
   * clean up without long locks. Expired devices are refused (and deleted) on use anyway; this only
   * keeps the table small. Devices past `permanentTokenMaxAge` are refused on use and deleted then.
   * @returns how many devices were deleted.
   */
  async purgeExpired({ batchSize = 1_000, maxBatches = Number.POSITIVE_INFINITY } = {}): Promise<number> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new JwtDevicesError('purgeExpired({ batchSize }) must be a positive integer.');
    const now = this.clock.now();
    const cutoff = new Date(now - this.options.permanentTokenExpiration);
    let purged = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const expired = await this.store(() =>
        this.devices.find({
          where: { lastRequestDatetime: LessThan(cutoff) },
          select: { id: true, userId: true },
          order: { lastRequestDatetime: 'ASC' },
          take: batchSize,
        }),
      );
      if (expired.length === 0) break;
      const ids = expired.map(({ id }) => id);
      purged += await this.deleteDevices(ids, { id: In(ids), lastRequestDatetime: LessThan(cutoff) });
      for (const { id, userId } of expired) this.emit({ type: 'device.revoked', deviceId: id, userId, at: new Date(now), reason: 'expired' });
      if (expired.length < batchSize) break;
    }
    return purged;
  }

  /**
   * Rotates the permanent token of `row`, presented as `token` (hash `hash`), and returns its successor.
   * The current token rotates with one conditional UPDATE; refreshes that lose the race, and retries
   * within the reuse interval, get the same successor. A retired token after the interval revokes the device.
   */
  private async rotate(row: DeviceState, token: string, hash: string, now: number): Promise<string> {
    const successor = deriveSuccessorToken(this.options.jwtSecret, token);
    const successorHash = hashPermanentToken(successor);
    if (row.permanentTokenHash === hash) {
      const result = await this.store(() =>
        this.devices.update(
          { id: row.id, permanentTokenHash: hash },
          { permanentTokenHash: successorHash, previousTokenHash: hash, rotatedAt: new Date(now), lastRequestDatetime: new Date(now) },
        ),
      );
      if (result.affected) {
        this.emit({ type: 'device.rotated', deviceId: row.id, userId: row.userId, at: new Date(now) });
        return successor;
      }
      // Another refresh rotated this token a moment ago: read what it wrote.
      const current = await this.store(() => this.devices.findOne({ where: { id: row.id }, select: DEVICE_STATE }));
      if (!current) throw new BadRequestException('Invalid permanent token.');
      row = current;
    }
    const withinInterval = row.rotatedAt !== null && now - row.rotatedAt.getTime() <= this.options.permanentTokenReuseInterval;
    if (row.previousTokenHash === hash && row.permanentTokenHash === successorHash && withinInterval) return successor;

    this.emit({ type: 'device.reuse-detected', deviceId: row.id, userId: row.userId, at: new Date(now) });
    await this.forget(row, 'theft', now);
    throw new BadRequestException(
      'This permanent token was already replaced by a newer one, so it may have been stolen: the device has been signed out. Log in again.',
    );
  }

  /** Deletes the user's least recently used devices beyond `limit`, keeping `keepId` (the new login). */
  private async evictBeyondLimit(userId: string, keepId: number, limit: number): Promise<void> {
    const devices = await this.store(() =>
      this.devices.find({ where: { userId }, select: { id: true }, order: { lastRequestDatetime: 'DESC', id: 'DESC' } }),
    );
    const evicted = devices.map(({ id }) => id).filter((id) => id !== keepId).slice(limit - 1);
    if (evicted.length === 0) return;
    await this.deleteDevices(evicted, { id: In(evicted), userId });
    const at = new Date(this.clock.now());
    for (const id of evicted) this.emit({ type: 'device.revoked', deviceId: id, userId, at, reason: 'evicted' });
  }

  private async revokeMany(userId: string, keepDeviceId: number | null, reason: DeviceRevokedReason): Promise<number> {
    const devices = await this.store(() => this.devices.find({ where: { userId }, select: { id: true } }));
    const ids = devices.map(({ id }) => id).filter((id) => id !== keepDeviceId);
    if (ids.length === 0) return 0;
    const deleted = await this.deleteDevices(ids, { id: In(ids), userId });
    const at = new Date(this.clock.now());
    for (const id of ids) this.emit({ type: 'device.revoked', deviceId: id, userId, at, reason });
    return deleted;
  }

  /**
   * Caches what a row read after `ticket` says.
   * @returns `undefined` when the device was revoked while the row was being read.
   */
  private remember(row: DeviceState, now: number, ticket: number): CachedDevice | undefined {
    const cached = this.cache.get(row.id, now);
    const lastRequestMs = row.lastRequestDatetime.getTime();
    if (cached !== undefined && cached.userId === row.userId) {
      cached.lastRequestMs = Math.max(cached.lastRequestMs, lastRequestMs);
      return cached;
    }
    const key = deriveDeviceKey(this.options.jwtSecret, row.jwtSecret);
    return this.cache.set({ id: row.id, userId: row.userId, key, lastRequestMs, createdMs: row.created.getTime() }, now, ticket);
  }

  /** Deletes a device whatever its owner, forgets its key, and says why. */
  private async forget(row: Pick<DeviceState, 'id' | 'userId'>, reason: DeviceRevokedReason, now: number): Promise<void> {
    if (await this.deleteDevices([row.id], { id: row.id })) this.emit({ type: 'device.revoked', deviceId: row.id, userId: row.userId, at: new Date(now), reason });
  }

  /**
   * Deletes devices (`where` says which of `deviceIds` may go) and makes every instance forget them.
   * The cache is told before the delete, so the next request already misses it, and again once the
   * delete is done, so a read that began before the row was gone cannot cache it back; the other
   * instances are told after, for the same reason.
   * @returns how many rows were deleted.
   */
  private async deleteDevices(deviceIds: readonly number[], where: FindOptionsWhere<DeviceRecord>): Promise<number> {
    for (const id of deviceIds) this.cache.revoke(id);
    try {
      return (await this.store(() => this.devices.delete(where))).affected ?? 0;
    } finally {
      for (const id of deviceIds) this.cache.revoke(id);
      this.revocations.publish(deviceIds);
    }
  }

  private isExpired(device: Pick<CachedDevice, 'lastRequestMs' | 'createdMs'>, now: number): boolean {
    const { permanentTokenExpiration, permanentTokenMaxAge } = this.options;
    return now - device.lastRequestMs > permanentTokenExpiration || (permanentTokenMaxAge !== null && now - device.createdMs > permanentTokenMaxAge);
  }

  private signFor(user: object, userId: string | number, deviceId: number | null, key: KeyObject, now: number): string {
    const iat = Math.floor(now / 1_000);
    const payload: Record<string, unknown> = {
      ...this.options.users.getClaims(user),
      user_id: userId,
      iat,
      exp: Math.ceil((now + this.options.jwtExpiration) / 1_000),
    };
    if (deviceId !== null) payload.device_id = String(deviceId);
    return signJwt(payload, key);
  }

  private userIdOf(user: object): string | number {
    const id = this.options.users.getUserId(user);
    if ((typeof id === 'string' && id !== '' && id.length <= 255) || Number.isSafeInteger(id)) return id;
    throw new JwtDevicesError(
      `users.getUserId(user) must return a non-empty string of at most 255 characters or an integer; got ${typeof id}. ` +
        'Pass getUserId in the users option when your user id is not user.id.',
    );
  }

  /** Tells `onEvent`; a listener's failure is logged and never reaches the request. */
  private emit(event: JwtDevicesEvent): void {
    const { onEvent } = this.options;
    if (onEvent === null) return;
    const failed = (error: unknown) =>
      this.logger.error(`onEvent listener failed for ${event.type}: ${(error as { name?: string } | undefined)?.name ?? 'Error'}`);
    try {
      const result = onEvent(event);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /**
   * Runs one database operation. A failure (server down, connection cut, pool exhausted) becomes a
   * 503 the client can retry, logged by class and code only: messages and parameters may hold hashes
   * or secrets, and never reach the log.
   */
  private async store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const { name, code } = (error ?? {}) as { name?: string; code?: unknown };
      const driverCode = (error as { driverError?: { code?: unknown } } | undefined)?.driverError?.code;
      this.logger.error(`Device store operation failed: ${name ?? 'Error'}${code ?? driverCode ? ` (${String(code ?? driverCode)})` : ''}`);
      throw new ServiceUnavailableException(STORE_UNAVAILABLE);
    }
  }
}

function isStorableId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id <= MAX_DEVICE_ID;
}

function toView(row: Pick<DeviceRecord, 'id' | 'created' | 'name' | 'details' | 'lastRequestDatetime'>, currentDeviceId: number | null): DeviceView {
  return {
    id: row.id,
    created: row.created.toISOString(),
    name: row.name,
    details: row.details,
    last_request_datetime: row.lastRequestDatetime.toISOString(),
    current: row.id === currentDeviceId,
  };
}
