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

/**
 * Whether a request's `Content-Type` says JSON (`application/json` or `application/*+json`, any
 * parameters). A request without one counts as JSON: it carries no body a browser form could send.
 */
export function isJsonContentType(headers: RequestHeaders | undefined): boolean {
  const value = headers?.['content-type'];
  if (value === undefined) return true;
  if (typeof value !== 'string') return false;
  const mediaType = value.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}
