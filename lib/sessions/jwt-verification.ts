import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { VerifiedToken } from '../cache/device-key-cache.js';
import { DeviceKeys } from '../cache/device-keys.js';
import type { AuthenticatedDevice } from '../devices.responses.js';
import { JWT_DEVICES_OPTIONS } from '../jwt-devices.constants.js';
import { InvalidTokenError } from '../jwt-devices.errors.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { MAX_DEVICE_ID, parseDeviceId } from '../store/device-store.js';
import { type DeviceJwtClaims, DeviceTokens } from '../tokens/device-tokens.js';
import { SessionPolicy } from './session-policy.js';

/**
 * Which device a JWT (an `Authorization` header's) belongs to, checked as cheaply as is safe: a JWT this
 * instance verified before costs no HMAC while its device keeps the key it was verified with; a cached
 * device costs no query; anything else is decoded, its device read and its signature verified in full.
 * @throws InvalidTokenError (or its `TokenExpiredError`) for a malformed, forged, expired or revoked JWT.
 */
@Injectable()
export class JwtVerification {
  constructor(
    @Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions,
    private readonly policy: SessionPolicy,
    private readonly tokens: DeviceTokens,
    private readonly keys: DeviceKeys,
  ) {}

  /**
   * The device a JWT belongs to. A JWT this instance verified before, unexpired, whose device is cached
   * with the very key it was verified with costs no query and no HMAC. Otherwise (its device not cached:
   * the cache off, or its entry stale; or a JWT new here) one read by primary key: a JWT verified before
   * is not verified again when the row gives the very key it was verified with (kept per device and
   * secret, see `DeviceKeys.keyOf`), hence the same signature check; with any other key (a secret
   * changed, a kept key dropped) it is verified again before the row is cached.
   */
  async authenticate(token: string, now: number): Promise<AuthenticatedDevice> {
    const known = this.known(token, now);
    if (known === undefined) return this.verifyInFull(token, now);
    if (known.deviceId === null) return { id: null, userId: known.userId };
    const cached = this.keys.get(known.deviceId, now);
    if (cached !== undefined && cached.key === known.key && !this.policy.isExpired(cached, now)) return { id: known.deviceId, userId: known.userId };
    let trusted = known.key;
    const confirm = (key: KeyObject) => {
      if (key === trusted) return;
      this.tokens.verify(token, key, now);
      trusted = key;
    };
    const device = await this.policy.deviceForJwt(known.deviceId, now, confirm);
    confirm(device.key); // a cached entry (with another key) comes back without passing through `confirm`
    if (device.userId !== known.userId) throw new InvalidTokenError();
    if (trusted !== known.key) this.keys.rememberToken(token, { ...known, key: trusted });
    return { id: known.deviceId, userId: known.userId };
  }

  /** The JWT as this instance verified it before, while its `exp` and `nbf` allow it now; else `undefined`. */
  private known(token: string, now: number): VerifiedToken | undefined {
    const known = this.keys.knownToken(token);
    return known !== undefined && now < known.expiresMs && now >= known.notBeforeMs ? known : undefined;
  }

  /** Finds the key a JWT claims, verifies it in full, and remembers it. */
  private async verifyInFull(token: string, now: number): Promise<AuthenticatedDevice> {
    const claims = this.tokens.peek(token);
    const claimedUserId = claims?.user_id;
    if (typeof claimedUserId !== 'string' && !Number.isSafeInteger(claimedUserId)) throw new InvalidTokenError();
    let device: AuthenticatedDevice;
    let key: KeyObject;
    let verified: DeviceJwtClaims | undefined;
    if (this.options.permanentTokenAuth) {
      const id = parseDeviceId(claims?.device_id);
      if (id === undefined || id > MAX_DEVICE_ID) throw new InvalidTokenError();
      // A device read from the store is cached only after the signature checked out.
      const cached = await this.policy.deviceForJwt(id, now, (deviceKey) => {
        verified = this.tokens.verify(token, deviceKey, now);
      });
      device = { id, userId: cached.userId };
      key = cached.key;
    } else {
      device = { id: null, userId: String(claimedUserId) };
      key = this.keys.plainKey;
    }
    verified ??= this.tokens.verify(token, key, now);
    if (String(verified.user_id) !== device.userId) throw new InvalidTokenError();
    const notBeforeMs = verified.nbf === undefined ? Number.NEGATIVE_INFINITY : verified.nbf * 1_000;
    this.keys.rememberToken(token, { deviceId: device.id, userId: device.userId, key, expiresMs: verified.exp * 1_000, notBeforeMs });
    return device;
  }
}
