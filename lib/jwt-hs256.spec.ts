import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt, MAX_JWT_LENGTH, signJwt, verifyJwtSignature } from './jwt-hs256.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const KEY = createSecretKey(Buffer.from('k'.repeat(32)));
const OTHER_KEY = createSecretKey(Buffer.from('o'.repeat(32)));
const PAYLOAD = { user_id: 1, device_id: '7', iat: 1_767_225_600, exp: 1_767_225_900, username: 'alice' };

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
const HS256_HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** A token with any header and payload text, signed (HS256) with `key`. */
function handMade(headerJson: string, payloadText: string, key = KEY): string {
  const signingInput = `${b64(headerJson)}.${b64(payloadText)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/** decode + verify, as the service does. */
function accepts(token: string, key = KEY): boolean {
  const jwt = decodeJwt(token);
  return jwt !== undefined && verifyJwtSignature(jwt, key);
}

/** Replaces the character at `index` (negative counts from the end) with a different base64url character. */
function flipChar(text: string, index: number): string {
  const i = index < 0 ? text.length + index : index;
  const replacement = text[i] === 'A' ? 'B' : 'A';
  return text.slice(0, i) + replacement + text.slice(i + 1);
}

describe('signJwt / decodeJwt / verifyJwtSignature', () => {
  beforeEach(() => {
    vi.mocked(timingSafeEqual).mockClear();
  });

  describe('round trip', () => {
    it('signs a compact HS256 JWT that decodes to the same claims and verifies with the same key', () => {
      const token = signJwt({ ...PAYLOAD }, KEY);
      const parts = token.split('.');
      expect(parts).toHaveLength(3);
      expect(JSON.parse(Buffer.from(parts[0]!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

      const jwt = decodeJwt(token);
      expect(jwt).toBeDefined();
      expect(jwt!.payload).toEqual(PAYLOAD);
      expect(jwt!.signingInput).toBe(`${parts[0]}.${parts[1]}`);
      expect(jwt!.signature).toBe(parts[2]);
      expect(verifyJwtSignature(jwt!, KEY)).toBe(true);
    });

    it('produces a standard HMAC-SHA256 signature (interoperable with other JWT libraries)', () => {
      const token = signJwt({ a: 1 }, KEY);
      const [header, payload, signature] = token.split('.');
      expect(signature).toBe(createHmac('sha256', Buffer.from('k'.repeat(32))).update(`${header}.${payload}`).digest('base64url'));
    });

    it('round-trips unicode claims', () => {
      const token = signJwt({ username: 'ålice 📱 \u0000 "quoted"' }, KEY);
      expect(decodeJwt(token)?.payload).toEqual({ username: 'ålice 📱 \u0000 "quoted"' });
      expect(accepts(token)).toBe(true);
    });

    it('accepts a hand-made token with exactly our header (the format is the standard one)', () => {
      expect(accepts(handMade('{"alg":"HS256","typ":"JWT"}', JSON.stringify(PAYLOAD)))).toBe(true);
    });
  });

  describe('refuses', () => {
    const token = signJwt({ ...PAYLOAD }, KEY);
    const [header, payload, signature] = token.split('.') as [string, string, string];

    it('a token signed with another key', () => {
      expect(decodeJwt(signJwt({ ...PAYLOAD }, OTHER_KEY))).toBeDefined();
      expect(accepts(signJwt({ ...PAYLOAD }, OTHER_KEY))).toBe(false);
      expect(accepts(token, OTHER_KEY)).toBe(false);
    });

    it('a tampered payload', () => {
      const forged = b64(JSON.stringify({ ...PAYLOAD, user_id: 2 }));
      expect(accepts(`${header}.${forged}.${signature}`)).toBe(false);
      expect(accepts(`${header}.${flipChar(payload, 3)}.${signature}`)).toBe(false);
    });

    it('a tampered signature', () => {
      expect(accepts(`${header}.${payload}.${flipChar(signature, 0)}`)).toBe(false);
      expect(accepts(`${header}.${payload}.${flipChar(signature, 20)}`)).toBe(false);
      expect(accepts(`${header}.${payload}.${'A'.repeat(43)}`)).toBe(false);
    });

    it('a signature of another length', () => {
      expect(decodeJwt(`${header}.${payload}.${signature.slice(0, 42)}`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload}.${signature}A`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload}.`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload}`)).toBeUndefined();
    });

    it('alg none with an empty signature', () => {
      const none = `${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify(PAYLOAD))}.`;
      expect(decodeJwt(none)).toBeUndefined();
      expect(accepts(none)).toBe(false);
      // Even with our header's bytes and no signature.
      expect(decodeJwt(`${header}.${payload}.`)).toBeUndefined();
    });

    it.each(['none', 'None', 'NONE', 'HS512', 'HS384', 'RS256', 'ES256', 'PS256'])('alg %s (even when HMAC-SHA256 signed)', (alg) => {
      expect(accepts(handMade(JSON.stringify({ alg, typ: 'JWT' }), JSON.stringify(PAYLOAD)))).toBe(false);
      expect(decodeJwt(handMade(JSON.stringify({ alg, typ: 'JWT' }), JSON.stringify(PAYLOAD)))).toBeUndefined();
    });

    it.each([
      ['kid', '{"alg":"HS256","typ":"JWT","kid":"../../etc/passwd"}'],
      ['jku', '{"alg":"HS256","typ":"JWT","jku":"https://evil.example/keys.json"}'],
      ['jwk', '{"alg":"HS256","typ":"JWT","jwk":{"kty":"oct","k":"AAAA"}}'],
      ['crit', '{"alg":"HS256","typ":"JWT","crit":["exp"]}'],
      ['reordered keys', '{"typ":"JWT","alg":"HS256"}'],
      ['no typ', '{"alg":"HS256"}'],
      ['whitespace', '{"alg": "HS256", "typ": "JWT"}'],
      ['duplicate alg', '{"alg":"none","alg":"HS256","typ":"JWT"}'],
      ['lower-case alg', '{"alg":"hs256","typ":"JWT"}'],
    ])('a header with %s', (_label, headerJson) => {
      expect(decodeJwt(handMade(headerJson, JSON.stringify(PAYLOAD)))).toBeUndefined();
    });

    it('a base64 (not base64url) or padded header', () => {
      expect(decodeJwt(`${header}=.${payload}.${signature}`)).toBeUndefined();
      expect(decodeJwt(` ${token}`)).toBeUndefined();
    });

    it('extra dots and segments', () => {
      expect(decodeJwt(`${header}.${payload}.extra.${signature}`)).toBeUndefined();
      expect(decodeJwt(`${header}..${payload}.${signature}`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload}..${signature}`)).toBeUndefined();
      expect(decodeJwt(`${token}.`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload}.${signature}.${signature}`)).toBeUndefined();
      expect(decodeJwt(`${header}.${header}.${payload}.${signature}`)).toBeUndefined();
    });

    it('characters outside base64url in the payload', () => {
      expect(decodeJwt(`${header}.${payload}=.${signature}`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload.slice(0, 4)}+/${payload.slice(4)}.${signature}`)).toBeUndefined();
      expect(decodeJwt(`${header}.${payload.slice(0, 4)} ${payload.slice(4)}.${signature}`)).toBeUndefined();
    });

    it('a non-canonical base64url signature that decodes to the same bytes', () => {
      // 32 bytes = 256 bits in 43 characters of 6 bits: the last character carries 2 unused bits.
      const last = signature.at(-1)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const aliases = [1, 2, 3].map((low) => alphabet[alphabet.indexOf(last) ^ low]!);
      for (const alias of aliases) {
        const altered = `${signature.slice(0, -1)}${alias}`;
        expect(Buffer.from(altered, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
        const forged = `${header}.${payload}.${altered}`;
        const jwt = decodeJwt(forged);
        expect(jwt).toBeDefined();
        expect(verifyJwtSignature(jwt!, KEY)).toBe(false);
      }
    });

    it('an oversized token, even when its signature is right', () => {
      const big = signJwt({ ...PAYLOAD, filler: 'x'.repeat(MAX_JWT_LENGTH) }, KEY);
      expect(big.length).toBeGreaterThan(MAX_JWT_LENGTH);
      expect(decodeJwt(big)).toBeUndefined();
      expect(decodeJwt('a'.repeat(1_000_000))).toBeUndefined();
      expect(decodeJwt(`${header}.${'A'.repeat(1_000_000)}.${signature}`)).toBeUndefined();
    });

    it('accepts a token just under the size limit', () => {
      let filler = 'x'.repeat(5_000);
      let big = signJwt({ filler }, KEY);
      filler += 'x'.repeat(Math.floor(((MAX_JWT_LENGTH - big.length) * 3) / 4));
      big = signJwt({ filler }, KEY);
      expect(big.length).toBeLessThanOrEqual(MAX_JWT_LENGTH);
      expect(big.length).toBeGreaterThan(MAX_JWT_LENGTH - 8);
      expect(accepts(big)).toBe(true);
    });

    it.each([
      ['an array', '[1,2,3]'],
      ['null', 'null'],
      ['a number', '123'],
      ['a string', '"user"'],
      ['true', 'true'],
      ['invalid JSON', '{"user_id":1'],
      ['not JSON at all', 'hello'],
      ['bytes that are not UTF-8 JSON', Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1')],
    ])('a payload that is %s, even correctly signed', (_label, payloadText) => {
      const forged = handMade('{"alg":"HS256","typ":"JWT"}', payloadText);
      expect(decodeJwt(forged)).toBeUndefined();
    });

    it('an empty payload segment', () => {
      const signingInput = `${HS256_HEADER}.`;
      const forged = `${signingInput}.${createHmac('sha256', KEY).update(signingInput).digest('base64url')}`;
      expect(decodeJwt(forged)).toBeUndefined();
    });

    it.each(['', '.', '..', 'abc', 'a.b.c', `${HS256_HEADER}.`, `${HS256_HEADER}..`, 'Bearer x', '\u0000'])('%j', (garbage) => {
      expect(decodeJwt(garbage)).toBeUndefined();
    });
  });

  describe('signature comparison', () => {
    const token = signJwt({ ...PAYLOAD }, KEY);

    it('compares with timingSafeEqual, on two 32-byte buffers', () => {
      const jwt = decodeJwt(token)!;
      expect(verifyJwtSignature(jwt, KEY)).toBe(true);
      expect(timingSafeEqual).toHaveBeenCalled();
      for (const [a, b] of vi.mocked(timingSafeEqual).mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }

      vi.mocked(timingSafeEqual).mockClear();
      expect(verifyJwtSignature(jwt, OTHER_KEY)).toBe(false);
      expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    });

    it('returns false rather than throwing for a signature of another length', () => {
      const jwt = decodeJwt(token)!;
      for (const signature of ['', 'abc', jwt.signature.slice(0, 42), `${jwt.signature}AAAA`, '!!!!']) {
        expect(verifyJwtSignature({ ...jwt, signature }, KEY)).toBe(false);
      }
    });
  });
});
