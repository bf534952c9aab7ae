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
import { In, LessThan, type Repository } from 'typeorm';
import { type CachedDevice, DeviceCache } from './device-cache.js';
import type { DeviceRecord } from './device.entity.js';
import {
  deriveDeviceKey,
  generateDeviceSecret,
  generatePermanentToken,
  hashPermanentToken,
  MAX_PERMANENT_TOKEN_LENGTH,
} from './device-secrets.js';
import { JwtDevicesClock } from './jwt-devices.clock.js';
import { DEVICE_REPOSITORY, JWT_DEVICES_OPTIONS } from './jwt-devices.constants.js';
import { JwtDevicesError } from './jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from './jwt-devices.options.js';
import { decodeJwt, signJwt, verifyJwtSignature } from './jwt-hs256.js';
import { type Credentials, describeDevice, MAX_DEVICE_ID, parseDeviceId, type RequestHeaders } from './request-input.js';

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

/** Body of `POST /device-refresh-token/`. */
export interface RefreshResponse {
  token: string;
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

/**
 * Every rule about devices lives here: issuing them at login, verifying their JWTs, refreshing with
 * a permanent token, listing and revoking. The controller, strategies and guards only translate HTTP.
 * Apps with their own login flow call {@link DevicesService.issue}.
 */
@Injectable()
export class DevicesService {
  private readonly logger = new Logger(DevicesService.name);
  private readonly plainJwtKey: KeyObject;
  private readonly cache: DeviceCache;
  /** Devices whose permanent token was just validated, with their keys, for {@link refresh}. */
  private readonly refreshing = new WeakMap<AuthenticatedDevice, CachedDevice>();

  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    @Inject(DEVICE_REPOSITORY) private readonly devices: Repository<DeviceRecord>,
    private readonly clock: JwtDevicesClock,
  ) {
    this.plainJwtKey = createSecretKey(options.jwtSecret);
    this.cache = new DeviceCache(options.deviceCacheSize, options.deviceCacheTtl);
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
    const created = new Date(now);
    const inserted = await this.store(() =>
      this.devices.insert({
        userId: String(userId),
        permanentTokenHash: hashPermanentToken(permanentToken),
        jwtSecret,
        name,
        details,
        created,
        lastRequestDatetime: created,
      }),
    );
    const deviceId = Number(inserted.identifiers[0]?.id);
    const { key } = this.cache.set(deviceId, String(userId), deriveDeviceKey(this.options.jwtSecret, jwtSecret), now, now);
    return { token: this.signFor(user, userId, deviceId, key, now), permanent_token: permanentToken, device_id: deviceId };
  }

  /**
   * Verifies a JWT from an `Authorization` header and finds its user.
   * @throws UnauthorizedException for a malformed, forged, expired or revoked token, or a user that is gone.
   */
  async authenticate(token: string): Promise<Authenticated> {
    const jwt = decodeJwt(token);
    if (!jwt) throw new UnauthorizedException(INVALID_TOKEN);
    const { payload } = jwt;
    const claimedUserId = payload.user_id;
    if (typeof claimedUserId !== 'string' && !Number.isSafeInteger(claimedUserId)) throw new UnauthorizedException(INVALID_TOKEN);
    const now = this.clock.now();

    let device: AuthenticatedDevice;
    let key: KeyObject;
    if (this.options.permanentTokenAuth) {
      const id = parseDeviceId(payload.device_id);
      if (id === undefined || id > MAX_DEVICE_ID) throw new UnauthorizedException(INVALID_TOKEN);
      let cached = this.cache.get(id, now);
      if (cached === undefined || this.isExpired(cached.lastRequestMs, now)) {
        // Cold, stale, or expired as far as this instance knows: the row decides.
        const row = await this.store(() =>
          this.devices.findOne({ where: { id }, select: { id: true, userId: true, jwtSecret: true, lastRequestDatetime: true } }),
        );
        if (!row || this.isExpired(row.lastRequestDatetime.getTime(), now)) {
          this.cache.delete(id);
          throw new UnauthorizedException(INVALID_TOKEN);
        }
        cached = this.cache.set(id, row.userId, deriveDeviceKey(this.options.jwtSecret, row.jwtSecret), row.lastRequestDatetime.getTime(), now);
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
    const user = await this.options.users.findUser(device.userId);
    if (!user) throw new UnauthorizedException('The user of this token no longer exists.');
    return { user, device };
  }

  /**
   * Checks a permanent token (the `Permanent-Token` header): it must belong to a device that has not
   * idled past `permanentTokenExpiration`. An expired device is deleted. Slides the expiry, writing
   * `last_request_datetime` at most once per `permanentTokenExpirationAccuracy`.
   * @throws BadRequestException when the token is missing, unknown or expired, or its user is gone.
   */
  async validatePermanentToken(permanentToken: string | undefined): Promise<Authenticated> {
    if (!permanentToken) throw new BadRequestException('The Permanent-Token header is required.');
    if (permanentToken.length > MAX_PERMANENT_TOKEN_LENGTH) throw new BadRequestException('Invalid permanent token.');
    const row = await this.store(() =>
      this.devices.findOne({
        where: { permanentTokenHash: hashPermanentToken(permanentToken) },
        select: { id: true, userId: true, jwtSecret: true, lastRequestDatetime: true },
      }),
    );
    if (!row) throw new BadRequestException('Invalid permanent token.');

    const now = this.clock.now();
    let lastRequestMs = row.lastRequestDatetime.getTime();
    if (this.isExpired(lastRequestMs, now)) {
      this.cache.delete(row.id);
      await this.store(() =>
        this.devices.delete({ id: row.id, lastRequestDatetime: LessThan(new Date(now - this.options.permanentTokenExpiration)) }),
      );
      throw new BadRequestException('Permanent token has expired; log in again.');
    }
    if (now - lastRequestMs > this.options.permanentTokenExpirationAccuracy) {
      // One conditional UPDATE: concurrent refreshes write it once, and never move it backwards.
      await this.store(() =>
        this.devices.update(
          { id: row.id, lastRequestDatetime: LessThan(new Date(now - this.options.permanentTokenExpirationAccuracy)) },
          { lastRequestDatetime: new Date(now) },
        ),
      );
      lastRequestMs = now;
    }
    const user = await this.options.users.findUser(row.userId);
    if (!user) {
      await this.forget(row.id);
      throw new BadRequestException('The user of this permanent token no longer exists; the device was deleted.');
    }
    const device: AuthenticatedDevice = { id: row.id, userId: row.userId };
    const cached = this.cache.get(row.id, now);
    this.refreshing.set(
      device,
      cached !== undefined
        ? Object.assign(cached, { lastRequestMs })
        : this.cache.set(row.id, row.userId, deriveDeviceKey(this.options.jwtSecret, row.jwtSecret), lastRequestMs, now),
    );
    return { user, device };
  }

  /**
   * A fresh JWT for a device whose permanent token {@link validatePermanentToken} just accepted.
   * @param authenticated exactly what `validatePermanentToken` returned.
   */
  refresh({ user, device }: Authenticated): RefreshResponse {
    const cached = this.refreshing.get(device);
    if (!cached) throw new JwtDevicesError('DevicesService.refresh() takes the value that validatePermanentToken() returned.');
    return { token: this.signFor(user, this.userIdOf(user), cached.id, cached.key, this.clock.now()) };
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
    return rows.map((row) => ({
      id: row.id,
      created: row.created.toISOString(),
      name: row.name,
      details: row.details,
      last_request_datetime: row.lastRequestDatetime.toISOString(),
      current: row.id === currentDeviceId,
    }));
  }

  /**
   * Deletes one device of `userId`: its permanent token stops refreshing and its JWTs stop verifying.
   * @returns false when the user has no such device (another user's device is never touched).
   */
  async revoke(userId: string, deviceId: number): Promise<boolean> {
    if (!Number.isSafeInteger(deviceId) || deviceId < 1 || deviceId > MAX_DEVICE_ID) return false;
    this.cache.delete(deviceId);
    const result = await this.store(() => this.devices.delete({ id: deviceId, userId }));
    return (result.affected ?? 0) > 0;
  }

  /**
   * Deletes devices idle past `permanentTokenExpiration`, `batchSize` rows per statement, so a cron can
   * clean up without long locks. Expired devices are refused (and deleted) on use anyway; this only
   * keeps the table small.
   * @returns how many devices were deleted.
   */
  async purgeExpired({ batchSize = 1_000, maxBatches = Number.POSITIVE_INFINITY } = {}): Promise<number> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new JwtDevicesError('purgeExpired({ batchSize }) must be a positive integer.');
    const cutoff = new Date(this.clock.now() - this.options.permanentTokenExpiration);
    let purged = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const expired = await this.store(() =>
        this.devices.find({ where: { lastRequestDatetime: LessThan(cutoff) }, select: { id: true }, order: { lastRequestDatetime: 'ASC' }, take: batchSize }),
      );
      if (expired.length === 0) break;
      const ids = expired.map(({ id }) => id);
      for (const id of ids) this.cache.delete(id);
      const result = await this.store(() => this.devices.delete({ id: In(ids), lastRequestDatetime: LessThan(cutoff) }));
      purged += result.affected ?? 0;
      if (expired.length < batchSize) break;
    }
    return purged;
  }

  /** Deletes a device whatever its owner, and forgets its key. */
  private async forget(deviceId: number): Promise<void> {
    this.cache.delete(deviceId);
    await this.store(() => this.devices.delete({ id: deviceId }));
  }

  private isExpired(lastRequestMs: number, now: number): boolean {
    return now - lastRequestMs > this.options.permanentTokenExpiration;
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
}
