import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveDeviceKey,
  generateDeviceSecret,
  generatePermanentToken,
  deriveSuccessorToken,
  hashPermanentToken,
  lineageOf,
  MAX_LINEAGE_WALK,
  MAX_PERMANENT_TOKEN_LENGTH,
  reachesByRotation,
} from './device-secrets.js';

const SERVER_SECRET = Buffer.from('server-secret-of-at-least-32-characters');
const OTHER_SERVER_SECRET = Buffer.from('another-server-secret-32-characters-long');

const keyBytes = (key: KeyObject): Buffer => key.export();

const TOKEN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

describe('generatePermanentToken', () => {
  it('returns <lineage>.<secret> in base64url: 128 random bits of lineage, 256 of secret', () => {
    const token = generatePermanentToken();
    expect(token).toMatch(TOKEN);
    const [lineage, secret] = token.split('.') as [string, string];
    expect(Buffer.from(lineage, 'base64url')).toHaveLength(16);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(Buffer.from(secret, 'base64url').toString('base64url')).toBe(secret);
    expect(lineageOf(token)).toBe(lineage);
  });

  it('never repeats across 1000 draws, lineage or secret, and every draw is well-formed', () => {
    const tokens = Array.from({ length: 1_000 }, generatePermanentToken);
    expect(new Set(tokens.map((token) => token.split('.')[0])).size).toBe(1_000);
    expect(new Set(tokens.map((token) => token.split('.')[1])).size).toBe(1_000);
    for (const token of tokens) expect(token).toMatch(TOKEN);
  });

  it('uses the whole alphabet (it is random, not a counter or a hex string)', () => {
    const characters = new Set(Array.from({ length: 200 }, () => generatePermanentToken().split('.')[1]).join(''));
    // 200 × 43 draws from 64 symbols: missing any one is astronomically unlikely.
    expect(characters.size).toBe(64);
  });

  it('fits well under the longest header the service hashes', () => {
    expect(generatePermanentToken().length).toBeLessThan(MAX_PERMANENT_TOKEN_LENGTH);
  });
});

describe('lineageOf', () => {
  it.each([
    ['an old-format token (secret only)', 'a'.repeat(43)],
    ['a lineage too short', `${'a'.repeat(21)}.${'b'.repeat(43)}`],
    ['a secret too short', `${'a'.repeat(22)}.${'b'.repeat(42)}`],
    ['two dots', `${'a'.repeat(22)}.${'b'.repeat(43)}.`],
    ['characters outside base64url', `${'a'.repeat(21)}+.${'b'.repeat(43)}`],
  ])('is undefined for %s', (_label, token) => {
    expect(lineageOf(token)).toBeUndefined();
  });
});

describe('successors and reachesByRotation', () => {
  it('keep the lineage along the chain; old-format tokens stay old-format', () => {
    const token = generatePermanentToken();
    const next = deriveSuccessorToken(SERVER_SECRET, token);
    expect(next).toMatch(TOKEN);
    expect(lineageOf(next)).toBe(lineageOf(token));
    expect(deriveSuccessorToken(SERVER_SECRET, 'a'.repeat(43))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('finds the current token from any retired one within the given number of rotations, and no further', () => {
    const chain = [generatePermanentToken()];
    for (let i = 0; i < 5; i++) chain.push(deriveSuccessorToken(SERVER_SECRET, chain.at(-1)!));
    const current = hashPermanentToken(chain[5]!);
    for (let i = 0; i < 5; i++) expect(reachesByRotation(SERVER_SECRET, chain[i]!, current, 5)).toBe(true);
    expect(reachesByRotation(SERVER_SECRET, chain[0]!, current, 4)).toBe(false);
    expect(reachesByRotation(SERVER_SECRET, chain[5]!, current, 5)).toBe(false);
    expect(reachesByRotation(OTHER_SERVER_SECRET, chain[0]!, current, 5)).toBe(false);
  });

  it(`never walks more than ${MAX_LINEAGE_WALK} rotations, whatever it is told`, () => {
    const chain = [generatePermanentToken()];
    for (let i = 0; i <= MAX_LINEAGE_WALK; i++) chain.push(deriveSuccessorToken(SERVER_SECRET, chain.at(-1)!));
    expect(reachesByRotation(SERVER_SECRET, chain[1]!, hashPermanentToken(chain.at(-1)!), Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(reachesByRotation(SERVER_SECRET, chain[0]!, hashPermanentToken(chain.at(-1)!), Number.MAX_SAFE_INTEGER)).toBe(false);
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
