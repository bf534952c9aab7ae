import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { DeviceKeys } from './cache/device-keys.js';
import { type Authenticated, type DeviceLoginResponse, type DevicePage, deviceView, type DeviceView, type LoginResponse, type Refreshed, type RefreshResponse, type UserId } from './devices.responses.js';
import { JwtDevicesClock } from './jwt-devices.clock.js';
import { JWT_DEVICES_OPTIONS } from './jwt-devices.constants.js';
import { InvalidCredentialsError, InvalidTokenError, JwtDevicesError, LoginNotConfiguredError } from './jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from './jwt-devices.options.js';
import { AppUsers } from './jwt-devices.users.js';
import { DeviceManagement } from './sessions/device-management.js';
import { describeDevice, type RequestHeaders } from './sessions/device-names.js';
import { JwtVerification } from './sessions/jwt-verification.js';
import { LoginAttempt } from './sessions/login-attempt.js';
import { SessionPolicy } from './sessions/session-policy.js';
import { isStorableId } from './store/device-store.js';
import { DeviceTokens } from './tokens/device-tokens.js';

export type { Authenticated, AuthenticatedDevice, DevicePage, Refreshed, UserId } from './devices.responses.js';

/**
 * What apps call: log in, issue devices from their own login flows, authenticate JWTs, refresh, list,
 * rename and revoke devices. A facade: the rules live in `sessions/`, tokens in `tokens/`, storage in
 * `store/`. It throws the domain errors of `jwt-devices.errors.ts` (HTTP is decided in `http/`).
 */
@Injectable()
export class DevicesService {
  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    private readonly policy: SessionPolicy,
    private readonly jwts: JwtVerification,
    private readonly management: DeviceManagement,
    private readonly tokens: DeviceTokens,
    private readonly keys: DeviceKeys,
    private readonly clock: JwtDevicesClock,
    private readonly users: AppUsers,
  ) {}

  /**
   * Checks credentials with the app's `users.validateUser` and issues a login for the user.
   * @throws LoginNotConfiguredError when the app configured no `validateUser`.
   * @throws InvalidCredentialsError when the credentials are wrong (no device is created).
   * @throws StoreUnavailableError when `users.validateUser` fails (see `AppUsers`).
   */
  async login(credentials: { username: string; password: string }, request?: { headers?: RequestHeaders }): Promise<LoginResponse> {
    if (!this.users.canValidate) throw new LoginNotConfiguredError();
    const attempt = this.loginAttempt();
    const user = await this.users.validateUser(credentials.username, credentials.password);
    if (!user) throw new InvalidCredentialsError();
    return this.issue(user, request, { attempt });
  }

  /**
   * Marks the start of a credential check in an app's own login flow: pass it to {@link issue}, which
   * then refuses (`LoginRevokedError`) if `revokeAllForUser()` ran for the user, on any instance, after
   * this moment, as after a password change the check may have seen the old password.
   */
  loginAttempt(): LoginAttempt {
    return new LoginAttempt();
  }

  /**
   * Logs `user` in: creates a device named from the request's `X-Device-Model`/`User-Agent` headers and
   * returns `{token, permanent_token, device_id}`; with `permanentTokenAuth: false` returns `{token}`.
   * For apps with their own login flow (OAuth, magic links, …): the body is the one `POST /auth-token/` gives.
   * `attempt` ({@link loginAttempt}, taken before the app checked the credentials) says when the login
   * began; without it, the login begins with this call.
   * @throws LoginRevokedError when `revokeAllForUser(user)` ran after the login began (no device is left).
   */
  async issue(user: object, request?: { headers?: RequestHeaders }, { attempt = this.loginAttempt() }: { attempt?: LoginAttempt } = {}): Promise<LoginResponse> {
    const userId = this.userIdOf(user);
    const now = this.clock.now();
    if (!this.options.permanentTokenAuth) return { token: this.sign(user, userId, null, this.keys.plainKey, now) };
    const device = await this.policy.open(String(userId), describeDevice(request?.headers), now, attempt);
    const response: DeviceLoginResponse = {
      token: this.sign(user, userId, device.id, device.key, now),
      permanent_token: device.permanentToken,
      device_id: device.id,
    };
    return response;
  }

  /**
   * Verifies a JWT (the token of an `Authorization` header) and finds its user. A device cached on this
   * instance costs no query; a cold one costs one read by primary key (and no HMAC for a JWT this
   * instance verified before, while the device keeps its key).
   * @throws InvalidTokenError (or its `TokenExpiredError`) for a malformed, forged, expired or revoked
   * token, or a user that is gone.
   */
  async authenticate<TUser extends object = object>(token: string): Promise<Authenticated<TUser>> {
    const now = this.clock.now();
    const device = await this.jwts.authenticate(token, now);
    const user = await this.users.findUser(device.userId);
    if (!user) throw new InvalidTokenError('The user of this token no longer exists.');
    return { user: user as TUser, device };
  }

  /**
   * Trades a permanent token for a fresh JWT (and, with rotation, the device's next permanent token).
   * @throws InvalidPermanentTokenError when missing, unknown, expired, or its user is gone;
   * `PermanentTokenReusedError` when a rotated-out token is replayed (the device is signed out).
   */
  async refresh<TUser extends object = object>(permanentToken: string | undefined): Promise<Refreshed<TUser>> {
    const now = this.clock.now();
    const refreshed = await this.policy.refresh(permanentToken, now, (userId) => this.users.findUser(userId) as Promise<TUser | null | undefined>);
    const token = this.sign(refreshed.user, this.userIdOf(refreshed.user), refreshed.id, refreshed.key, now);
    const response: RefreshResponse = refreshed.permanentToken === undefined ? { token } : { token, permanent_token: refreshed.permanentToken };
    return { user: refreshed.user, device: { id: refreshed.id, userId: refreshed.userId }, response };
  }

  /**
   * One page of the user's devices, oldest (lowest id) first, at most `devicesPageSize`;
   * `currentDeviceId` marks the calling one. For the rest, call again with `{ after: page.next }`
   * until `next` is `null`. Costs one read of `devicesPageSize + 1` rows however many devices the user has.
   */
  async list(userId: UserId, currentDeviceId: number | null = null, { after = null }: { after?: number | null } = {}): Promise<DevicePage> {
    const { devices, next } = await this.management.list(String(userId), after);
    return { devices: devices.map((device) => deviceView(device, currentDeviceId)), next };
  }

  /**
   * Renames one of the user's devices. The name is cleaned as device names from headers are.
   * @returns the renamed device, or `undefined` when the user has no such device.
   * @throws InvalidDeviceInputError when the name is empty or longer than 255 characters.
   */
  async rename(userId: UserId, deviceId: number, name: string, currentDeviceId: number | null = null): Promise<DeviceView | undefined> {
    const renamed = await this.management.rename(String(userId), deviceId, name);
    return renamed && deviceView(renamed, currentDeviceId);
  }

  /**
   * Deletes one device of the user: its permanent token stops refreshing and its JWTs stop verifying.
   * @returns false when the user has no such device (another user's device is never touched).
   */
  revoke(userId: UserId, deviceId: number): Promise<boolean> {
    return this.management.revoke(String(userId), deviceId, this.clock.now());
  }

  /** Signs out every device of the user except `keepDeviceId` ("sign out other devices"). @returns how many. */
  revokeOthers(userId: UserId, keepDeviceId: number | null): Promise<number> {
    return this.management.revokeAllBut(String(userId), keepDeviceId, this.clock.now());
  }

  /**
   * Signs out every device of the user, e.g. after a password change, and refuses every login of the
   * user whose credential check began before this call, on any instance. @returns how many devices.
   */
  revokeAllForUser(userId: UserId): Promise<number> {
    return this.management.revokeAll(String(userId), this.clock.now());
  }

  /**
   * Deletes devices idle past `permanentTokenExpiration`, `batchSize` rows per statement, so a cron can
   * clean up without long locks. Expired devices are refused (and deleted) on use anyway; this only
   * keeps the table small. Devices past `permanentTokenMaxAge` are refused on use and deleted then.
   * @returns how many devices were deleted.
   */
  purgeExpired({ batchSize = 1_000, maxBatches = Number.POSITIVE_INFINITY } = {}): Promise<number> {
    return this.management.purgeExpired(this.clock.now(), batchSize, maxBatches);
  }

  /**
   * The key that signs a device's JWTs, for apps that verify them with their own `JwtService`
   * (`jwtService.verify(token, { secret: key, algorithms: ['HS256'] })`). Treat it as a secret.
   * @returns `undefined` when the device does not exist or has expired.
   */
  async deviceKey(deviceId: number): Promise<KeyObject | undefined> {
    if (!isStorableId(deviceId)) return undefined;
    try {
      return (await this.policy.deviceForJwt(deviceId, this.clock.now())).key;
    } catch (error) {
      if (error instanceof InvalidTokenError) return undefined;
      throw error;
    }
  }

  private sign(user: object, userId: UserId, deviceId: number | null, key: KeyObject, now: number): string {
    const claims: Record<string, unknown> = {
      ...this.options.users.getClaims(user),
      user_id: userId,
      iat: Math.floor(now / 1_000),
      exp: Math.ceil((now + this.options.jwtExpiration) / 1_000),
    };
    if (deviceId !== null) claims.device_id = String(deviceId);
    else delete claims.device_id;
    return this.tokens.sign(claims as never, key);
  }

  private userIdOf(user: object): UserId {
    const id = this.options.users.getUserId(user);
    if ((typeof id === 'string' && id !== '' && id.length <= 255) || Number.isSafeInteger(id)) return id;
    throw new JwtDevicesError(
      `users.getUserId(user) must return a non-empty string of at most 255 characters or an integer; got ${typeof id}. ` +
        'Pass getUserId in the users option when your user id is not user.id.',
    );
  }
}
