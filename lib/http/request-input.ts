import type { RequestHeaders } from '../sessions/device-names.js';

/**
 * Readers of hostile request headers. Each returns a clean value or `undefined`; the caller decides
 * which 4xx that is. Nothing here throws on odd input.
 */

/** The one value of a header; `undefined` when absent or sent more than once. */
export function singleHeader(headers: RequestHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

const AUTHORIZATION = /^(?:Bearer|JWT) +([^\s]+) *$/i;

/** The token of `Authorization: Bearer <jwt>` or `Authorization: JWT <jwt>` (scheme case-insensitive). */
export function readAuthorizationToken(headers: RequestHeaders | undefined): string | undefined {
  const value = singleHeader(headers, 'authorization');
  return value === undefined ? undefined : AUTHORIZATION.exec(value)?.[1];
}
