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

/**
 * Characters that print nothing or rearrange what follows: C0/C1 controls, soft hyphen, Arabic letter
 * mark, Hangul fillers, Mongolian vowel separator, combining grapheme joiner, zero-width and
 * bidirectional controls, line and paragraph separators, word joiners and invisible operators, the BOM,
 * and tag characters.
 */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex, no-misleading-character-class
  /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\u{e0000}-\u{e007f}]/gu;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function headerText(headers: RequestHeaders | undefined, name: string): string {
  const raw = headers?.[name];
  const value = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(', ') : '';
  return cleanDeviceText(decodeHeader(value));
}

/**
 * Node hands header bytes over as Latin-1 characters, one per byte. Clients send UTF-8 (curl, mobile
 * apps) or Latin-1 (browsers, Node's fetch and Python's requests for "Ünïcødé"): bytes that are valid
 * UTF-8 are read as UTF-8, any others as the Latin-1 they then are. A string already wider than Latin-1
 * (an app passing its own headers to issue()) is taken as it is.
 */
function decodeHeader(value: string): string {
  if (/[^\u0000-\u00ff]/.test(value)) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/**
 * A device name or details as stored: control characters (C0, C1) and invisible formatting characters
 * (zero-width, bidirectional overrides) dropped, so a name cannot forge lines in a log or reorder text
 * in a device list; trimmed; cut to {@link MAX_DEVICE_TEXT} characters (code points, so no emoji is split).
 */
export function cleanDeviceText(text: string): string {
  return Array.from(text.replace(UNPRINTABLE, '').trim()).slice(0, MAX_DEVICE_TEXT).join('');
}
