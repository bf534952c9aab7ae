import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveDeviceKey,
  generateDeviceSecret,
  generatePermanentToken,
  hashPermanentToken,
  MAX_PERMANENT_TOKEN_LENGTH,
} from './device-secrets.js';

const SERVER_SECRET = Buffer.from('server-secret-of-at-least-32-characters');
const OTHER_SERVER_SECRET = Buffer.from('another-server-secret-32-characters-long');

const keyBytes = (key: KeyObject): Buffer => key.export();

describe('generatePermanentToken', () => {
  it('returns 43 characters of base64url (256 random bits)', () => {
    const token = generatePermanentToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(Buffer.from(token, 'base64url').toString('base64url')).toBe(token);
  });

  it('never repeats across 1000 draws, and every draw is well-formed', () => {
    const tokens = Array.from({ length: 1_000 }, generatePermanentToken);
    expect(new Set(tokens).size).toBe(1_000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('uses the whole alphabet (it is random, not a counter or a hex string)', () => {
    const characters = new Set(Array.from({ length: 200 }, generatePermanentToken).join(''));
    // 200 × 43 draws from 64 symbols: missing any one is astronomically unlikely.
    expect(characters.size).toBe(64);
  });

  it('fits well under the longest header the service hashes', () => {
    expect(generatePermanentToken().length).toBeLessThan(MAX_PERMANENT_TOKEN_LENGTH);
  });
});

describe('hashPermanentToken', () => {
  it('is 64 lower-case hex characters: the SHA-256 of the token', () => {
    const token = generatePermanentToken();
    const hash = hashPermanentToken(token);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(createHash('sha256').update(token, 'utf8').digest('hex'));
  });

  it('is deterministic', () => {
    const token = generatePermanentToken();
    expect(hashPermanentToken(token)).toBe(hashPermanentToken(token));
    expect(hashPermanentToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('differs for different tokens, and never equals the token', () => {
    const a = generatePermanentToken();
    const b = generatePermanentToken();
    expect(hashPermanentToken(a)).not.toBe(hashPermanentToken(b));
    expect(hashPermanentToken(a)).not.toBe(a);
    // The stored hash is not itself a token: hashing it again gives something else.
    expect(hashPermanentToken(hashPermanentToken(a))).not.toBe(hashPermanentToken(a));
  });

  it('hashes the text as UTF-8 and accepts any string', () => {
    expect(hashPermanentToken('📱')).toBe(createHash('sha256').update(Buffer.from('📱', 'utf8')).digest('hex'));
    expect(hashPermanentToken('')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('generateDeviceSecret', () => {
  it('is 64 hex characters, different every time', () => {
    const secrets = Array.from({ length: 100 }, generateDeviceSecret);
    for (const secret of secrets) expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(secrets).size).toBe(100);
  });
});

describe('deriveDeviceKey', () => {
  const deviceSecret = generateDeviceSecret();

  it('is a 32-byte secret key: HMAC-SHA256 of the device secret under the server secret', () => {
    const key = deriveDeviceKey(SERVER_SECRET, deviceSecret);
    expect(key.type).toBe('secret');
    expect(key.symmetricKeySize).toBe(32);
    expect(keyBytes(key).equals(createHmac('sha256', SERVER_SECRET).update(deviceSecret, 'utf8').digest())).toBe(true);
  });

  it('is deterministic', () => {
    expect(keyBytes(deriveDeviceKey(SERVER_SECRET, deviceSecret)).equals(keyBytes(deriveDeviceKey(SERVER_SECRET, deviceSecret)))).toBe(true);
  });

  it('depends on the device secret', () => {
    const a = keyBytes(deriveDeviceKey(SERVER_SECRET, deviceSecret));
    const b = keyBytes(deriveDeviceKey(SERVER_SECRET, generateDeviceSecret()));
    expect(a.equals(b)).toBe(false);
  });

  it('depends on the server secret (a leaked device table alone cannot mint JWTs)', () => {
    const a = keyBytes(deriveDeviceKey(SERVER_SECRET, deviceSecret));
    const b = keyBytes(deriveDeviceKey(OTHER_SERVER_SECRET, deviceSecret));
    expect(a.equals(b)).toBe(false);
  });

  it('is neither the device secret nor the server secret', () => {
    const derived = keyBytes(deriveDeviceKey(SERVER_SECRET, deviceSecret));
    expect(derived.equals(Buffer.from(deviceSecret, 'hex'))).toBe(false);
    expect(derived.equals(Buffer.from(deviceSecret, 'utf8'))).toBe(false);
    expect(derived.equals(SERVER_SECRET)).toBe(false);
    expect(derived.equals(keyBytes(createSecretKey(SERVER_SECRET)))).toBe(false);
  });
});
