import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * The only JWT header this library issues or accepts, byte for byte. Pinning it pins the algorithm
 * (no `none`, no RS/HS confusion, nothing read from the token to pick a key type) and refuses every
 * other header parameter (`kid`, `jku`, `crit`, …) without parsing it.
 */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const HEADER_PREFIX = `${HEADER}.`;
/** Length of an HMAC-SHA256 signature in base64url. */
const SIGNATURE_LENGTH = 43;
/** Longest token worth looking at; ours are a few hundred bytes. */
export const MAX_JWT_LENGTH = 8192;

/** A JWT split and decoded, its signature not yet checked. */
export interface DecodedJwt {
  /** The claims. Untrusted until {@link verifyJwtSignature} returns true. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly signingInput: string;
  readonly signature: string;
}

/** Signs `payload` as an HS256 JWT with `key`. */
export function signJwt(payload: Record<string, unknown>, key: KeyObject): string {
  const signingInput = HEADER_PREFIX + Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/**
 * Splits a JWT and decodes its claims without trusting them, so the caller can find the key.
 * Returns `undefined` for anything that is not a well-formed HS256 JWT of ours.
 */
export function decodeJwt(token: string): DecodedJwt | undefined {
  if (token.length > MAX_JWT_LENGTH || !token.startsWith(HEADER_PREFIX)) return undefined;
  const lastDot = token.lastIndexOf('.');
  if (lastDot <= HEADER_PREFIX.length || token.length - lastDot - 1 !== SIGNATURE_LENGTH) return undefined;
  const encodedPayload = token.slice(HEADER_PREFIX.length, lastDot);
  if (!/^[A-Za-z0-9_-]+$/.test(encodedPayload)) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  return { payload: payload as Record<string, unknown>, signingInput: token.slice(0, lastDot), signature: token.slice(lastDot + 1) };
}

/** Checks the signature of a decoded JWT against `key`, in constant time. */
export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const expected = createHmac('sha256', key).update(jwt.signingInput).digest();
  const given = Buffer.from(jwt.signature, 'base64url');
  // Re-encoding rejects non-canonical base64url (other strings that decode to the same bytes).
  return given.length === expected.length && timingSafeEqual(given, expected) && given.toString('base64url') === jwt.signature;
}
