import { createHash, createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';

/** Bytes of randomness in a permanent token (256 bits). */
const PERMANENT_TOKEN_BYTES = 32;
/** Bytes of a device's random lineage id, carried by every permanent token of that device (128 bits). */
const LINEAGE_BYTES = 16;
/** A permanent token with a lineage: `<lineage>.<secret>`, both base64url. Tokens of older versions are the secret alone. */
const LINEAGE_TOKEN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;
/** Most rotations walked forward from a presented token to find the device's current one. */
export const MAX_LINEAGE_WALK = 10_000;
/** Bytes of randomness in a device's JWT secret (256 bits). */
const DEVICE_SECRET_BYTES = 32;
/** Longest `Permanent-Token` header worth hashing; anything longer cannot be one of ours. */
export const MAX_PERMANENT_TOKEN_LENGTH = 512;

/**
 * A new permanent token from the OS CSPRNG: `<lineage>.<secret>`, base64url, 66 characters. The secret
 * has 256 bits; the lineage (128 bits, also random) names the device's chain of rotated tokens, so a
 * retired token can be traced to its device (see {@link reachesByRotation}). Shown to the client once.
 */
export function generatePermanentToken(): string {
  return `${randomBytes(LINEAGE_BYTES).toString('base64url')}.${randomBytes(PERMANENT_TOKEN_BYTES).toString('base64url')}`;
}

/** The lineage a permanent token carries, or `undefined` for a token without one (issued by an older version, or not ours). */
export function lineageOf(token: string): string | undefined {
  return LINEAGE_TOKEN.exec(token)?.[1];
}

/**
 * What the database stores in place of a permanent token: its SHA-256, hex (64 characters). The token
 * has 256 bits of entropy, so a fast hash is enough (no salt or stretching needed), and lookups go
 * through the unique index on this column: the secret itself is never compared, only its hash.
 */
export function hashPermanentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new per-device JWT secret: 256 random bits, hex (64 characters). */
export function generateDeviceSecret(): string {
  return randomBytes(DEVICE_SECRET_BYTES).toString('hex');
}

/**
 * The key that signs and verifies a device's JWTs: HMAC-SHA256 of the device's stored secret under the
 * server's `jwtSecret`. Deleting the device deletes its secret, so its JWTs stop verifying; and a copy
 * of the device table alone (a leaked backup) cannot mint JWTs without the server secret.
 */
export function deriveDeviceKey(serverSecret: Buffer, deviceSecret: string): KeyObject {
  return createSecretKey(createHmac('sha256', serverSecret).update(deviceSecret, 'utf8').digest());
}

/**
 * The permanent token that replaces `token` when it rotates: HMAC-SHA256 of it under the server
 * secret, base64url. Deterministic, so every refresh that races on the same token, on any instance,
 * hands out the same successor without storing it; unguessable without both the token and the secret.
 */
export function deriveSuccessorToken(serverSecret: Buffer, token: string): string {
  const next = createHmac('sha256', serverSecret).update('jwt-devices:rotate:').update(token, 'utf8').digest('base64url');
  const lineage = lineageOf(token);
  return lineage === undefined ? next : `${lineage}.${next}`;
}

/**
 * Whether rotating `token` at most `maxSteps` times (and never more than {@link MAX_LINEAGE_WALK}) gives
 * the token whose hash is `currentHash`: then `token` is a genuine retired token of that device.
 * Without the server secret nobody can build such a token, so a forged one never passes.
 */
export function reachesByRotation(serverSecret: Buffer, token: string, currentHash: string, maxSteps: number): boolean {
  let next = token;
  for (let step = 1; step <= Math.min(maxSteps, MAX_LINEAGE_WALK); step++) {
    next = deriveSuccessorToken(serverSecret, next);
    if (hashPermanentToken(next) === currentHash) return true;
  }
  return false;
}
