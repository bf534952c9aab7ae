import { createHash, createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';

/** Bytes of randomness in a permanent token (256 bits). */
const PERMANENT_TOKEN_BYTES = 32;
/** Bytes of randomness in a device's JWT secret (256 bits). */
const DEVICE_SECRET_BYTES = 32;
/** Longest `Permanent-Token` header worth hashing; anything longer cannot be one of ours. */
export const MAX_PERMANENT_TOKEN_LENGTH = 512;

/** A new permanent token from the OS CSPRNG: 256 bits, base64url (43 characters). Shown to the client once. */
export function generatePermanentToken(): string {
  return randomBytes(PERMANENT_TOKEN_BYTES).toString('base64url');
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
  return createHmac('sha256', serverSecret).update('jwt-devices:rotate:').update(token, 'utf8').digest('base64url');
}
