import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { KeyObject } from 'node:crypto';
import { InvalidTokenError, JwtDevicesError, TokenExpiredError } from '../jwt-devices.errors.js';
import { JWT_DEVICES_JWT_SERVICE } from '../jwt-devices.constants.js';

/**
 * The only JWT header this library issues or accepts, byte for byte (jsonwebtoken writes exactly this
 * for HS256). Checking it before anything else refuses every other algorithm and header parameter
 * (`none`, `kid`, `jku`, `crit`, …) without parsing them.
 */
const HEADER_PREFIX = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.`;
/** Length of an HMAC-SHA256 signature in base64url. */
const SIGNATURE_LENGTH = 43;
/** Longest token worth looking at; ours are a few hundred bytes. */
export const MAX_JWT_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The claims of a module JWT. `user_id` and `device_id` are the drf-jwt-devices claims. */
export interface DeviceJwtClaims {
  readonly user_id: string | number;
  /** The device id, as a string; absent on plain JWTs (`permanentTokenAuth: false`). */
  readonly device_id?: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly [claim: string]: unknown;
}

/**
 * Signs and verifies the module's JWTs through `@nestjs/jwt`'s `JwtService`: HS256 only, with the key
 * the caller gives (a device's `KeyObject`, so jsonwebtoken never re-parses a string secret).
 */
@Injectable()
export class DeviceTokens {
  constructor(@Inject(JWT_DEVICES_JWT_SERVICE) private readonly jwt: JwtService) {}

  /**
   * Signs `claims` (which must hold `user_id`, `iat` and `exp`) with `key`.
   * @throws JwtDevicesError for a claim named like an `Object.prototype` member (`constructor`,
   * `toString`, …), which jsonwebtoken cannot sign.
   */
  sign(claims: DeviceJwtClaims, key: KeyObject): string {
    const unsignable = Object.keys(claims).find((name) => name in Object.prototype);
    if (unsignable !== undefined) {
      throw new JwtDevicesError(`The JWT claim "${unsignable}" (from users.getClaims) cannot be signed by jsonwebtoken; rename it.`);
    }
    return this.jwt.sign(claims, { secret: key as never, algorithm: 'HS256' });
  }

  /**
   * The claims of a token of ours, not yet trusted, so the caller can find its key; `undefined` for
   * anything that is not shaped like an HS256 JWT with our exact header.
   */
  peek(token: string): Readonly<Record<string, unknown>> | undefined {
    const lastDot = shapeOf(token);
    if (lastDot === undefined) return undefined;
    const encoded = token.slice(HEADER_PREFIX.length, lastDot);
    try {
      const payload: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
      return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Verifies a token's signature with `key` (HS256 pinned) and its times against `now`.
   * @throws TokenExpiredError past `exp`; InvalidTokenError for anything else wrong.
   */
  verify(token: string, key: KeyObject, now: number): DeviceJwtClaims {
    if (shapeOf(token) === undefined) throw new InvalidTokenError();
    let claims: Record<string, unknown>;
    try {
      claims = this.jwt.verify(token, { secret: key as never, algorithms: ['HS256'], clockTimestamp: Math.floor(now / 1_000) });
    } catch (error) {
      if ((error as Error | undefined)?.name === 'TokenExpiredError') throw new TokenExpiredError();
      if ((error as Error | undefined)?.name === 'NotBeforeError') throw new InvalidTokenError('Token is not valid yet.');
      throw new InvalidTokenError();
    }
    // jsonwebtoken lets a token without exp live forever, and an exp of 1e400 (Infinity) too.
    if (!Number.isSafeInteger(claims.exp)) throw new InvalidTokenError();
    if (claims.nbf !== undefined && !Number.isSafeInteger(claims.nbf)) throw new InvalidTokenError();
    return claims as unknown as DeviceJwtClaims;
  }
}

/**
 * Where the signature of a token starts (its last dot) when the token has our exact header, a base64url
 * payload and an HS256-sized base64url signature, within {@link MAX_JWT_LENGTH}; else `undefined`.
 */
function shapeOf(token: string): number | undefined {
  if (token.length > MAX_JWT_LENGTH || !token.startsWith(HEADER_PREFIX)) return undefined;
  const lastDot = token.lastIndexOf('.');
  if (lastDot <= HEADER_PREFIX.length || token.length - lastDot - 1 !== SIGNATURE_LENGTH) return undefined;
  if (!BASE64URL.test(token.slice(HEADER_PREFIX.length, lastDot)) || !BASE64URL.test(token.slice(lastDot + 1))) return undefined;
  return lastDot;
}
