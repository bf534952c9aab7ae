import { DEVICE_MODEL_HEADER } from '../jwt-devices.constants.js';

/** Longest device name or details kept, in characters. */
export const MAX_DEVICE_TEXT = 255;

/** Headers as both Express and Fastify expose them: lower-case names, string or string[] values. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Name and details of a new device (drf-jwt-devices' rule). */
export interface DeviceDescription {
  readonly name: string;
  readonly details: string;
}

/**
 * `name` = `X-Device-Model` if sent, and then `details` = `User-Agent`; otherwise `name` = `User-Agent`
 * and `details` = `''`. Header bytes are read as UTF-8, and both are cleaned by {@link cleanDeviceText}
 * (never rejected for length).
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
 * A device name or details as stored: control characters (C0, C1) and invisible formatting characters
 * (zero-width, bidirectional overrides) dropped, so a name cannot forge lines in a log or reorder text
 * in a device list; trimmed; cut to {@link MAX_DEVICE_TEXT} characters (code points, so no emoji is split).
 */
export function cleanDeviceText(text: string): string {
  return Array.from(text.replace(UNPRINTABLE, '').trim()).slice(0, MAX_DEVICE_TEXT).join('');
}
