import { DEVICE_MODEL_HEADER } from './jwt-devices.constants.js';

/**
 * Readers of hostile request input: headers, ids and login bodies. Each returns a clean value or
 * `undefined`; the caller decides which 4xx that is. Nothing here throws on odd input.
 */

/** Largest id an `integer` column holds on every supported database (PostgreSQL's int4). */
export const MAX_DEVICE_ID = 2_147_483_647;
/** Longest device name or details kept, in characters. */
export const MAX_DEVICE_TEXT = 255;
/** Longest username or password passed on to the app. */
export const MAX_CREDENTIAL_LENGTH = 4096;

/** Headers as both Express and Fastify expose them: lower-case names, string or string[] values. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

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
 * A device id from a header, path parameter or JWT claim: a positive integer written in decimal digits
 * (a number is accepted too, for claims). `'abc'`, `'1.5'`, `'-1'`, `'0'`, `'1e3'` → `undefined`.
 * Ids past {@link MAX_DEVICE_ID} cannot exist; they come back as `Infinity` so callers can answer 404
 * without asking the database.
 */
export function parseDeviceId(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  if (id < 1) return undefined;
  return id > MAX_DEVICE_ID ? Infinity : id;
}

/** Login credentials as the app's `validateUser` receives them. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * `{username, password}` from a login body, or a message saying what is wrong with it. Both must be
 * non-empty strings without NUL characters, at most {@link MAX_CREDENTIAL_LENGTH} long.
 */
export function readCredentials(body: unknown): Credentials | string {
  const required = 'Must include "username" and "password".';
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return required;
  const { username, password } = body as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) return required;
  if (username.length > MAX_CREDENTIAL_LENGTH || password.length > MAX_CREDENTIAL_LENGTH) {
    return `"username" and "password" must be at most ${MAX_CREDENTIAL_LENGTH} characters.`;
  }
  if (username.includes('\0') || password.includes('\0')) return 'Unable to log in with provided credentials.';
  return { username, password };
}

/** Name and details of a new device (drf-jwt-devices' rule). */
export interface DeviceDescription {
  readonly name: string;
  readonly details: string;
}

/**
 * `name` = `X-Device-Model` if sent, and then `details` = `User-Agent`; otherwise `name` = `User-Agent`
 * and `details` = `''`. Header bytes are read as UTF-8, control characters dropped, and both cut to
 * {@link MAX_DEVICE_TEXT} characters (never rejected for length). Control characters (C0, C1) and
 * invisible formatting characters (zero-width, bidirectional overrides) are dropped, so a device name
 * cannot forge lines in a log or reorder text in a device list.
 */
export function describeDevice(headers: RequestHeaders | undefined): DeviceDescription {
  const model = headerText(headers, DEVICE_MODEL_HEADER);
  const userAgent = headerText(headers, 'user-agent');
  return model ? { name: model, details: userAgent } : { name: userAgent, details: '' };
}

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

function headerText(headers: RequestHeaders | undefined, name: string): string {
  const raw = headers?.[name];
  const value = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(', ') : '';
  // Node hands header bytes over as latin1; clients send UTF-8. A string that is already wider than
  // latin1 (an app passing its own headers to issue()) is taken as it is.
  const decoded = /[^\u0000-\u00ff]/.test(value) ? value : Buffer.from(value, 'latin1').toString('utf8');
  return cleanDeviceText(decoded);
}

/**
 * A device name or details as stored: unprintable characters dropped, trimmed, cut to
 * {@link MAX_DEVICE_TEXT} characters (code points, so no emoji is split).
 */
export function cleanDeviceText(text: string): string {
  return Array.from(text.replace(UNPRINTABLE, '').trim()).slice(0, MAX_DEVICE_TEXT).join('');
}
