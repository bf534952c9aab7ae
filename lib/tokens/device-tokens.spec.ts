import { JwtService } from '@nestjs/jwt';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidTokenError, TokenExpiredError } from '../jwt-devices.errors.js';
import { type DeviceJwtClaims, DeviceTokens, MAX_JWT_LENGTH } from './device-tokens.js';

const KEY = createSecretKey(Buffer.from('k'.repeat(32)));
const OTHER_KEY = createSecretKey(Buffer.from('o'.repeat(32)));
const tokens = new DeviceTokens(new JwtService({}));

/**
 * The clock the tests verify at: 2001-09-09, long before the wall clock, so a test only passes when
 * `verify` judges times by the `now` it is given.
 */
const NOW = 1_000_000_000_000;
const NOW_S = NOW / 1_000;
const CLAIMS = { user_id: 1, device_id: '7', iat: NOW_S, exp: NOW_S + 300, username: 'alice' } satisfies DeviceJwtClaims;

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
const HS256_HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** A token with any header and payload text, HMAC-SHA256 signed with `key`, built by hand. */
function handMade(headerJson: string, payloadText: string, key: KeyObject = KEY): string {
  const signingInput = `${b64(headerJson)}.${b64(payloadText)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/** Whether `verify` accepts the token (at {@link NOW}, with `key`); any other error than InvalidTokenError fails the test. */
function verifies(token: string, key: KeyObject = KEY, now = NOW): boolean {
  try {
    tokens.verify(token, key, now);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return false;
  }
}

/** What `verify` throws for `token`; fails the test when it accepts it. */
function verifyError(token: string, key: KeyObject = KEY, now = NOW): InvalidTokenError {
  try {
    tokens.verify(token, key, now);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return error as InvalidTokenError;
  }
  throw new Error('expected verify to refuse the token');
}

/** Replaces the character at `index` (negative counts from the end) with a different base64url character. */
function flipChar(text: string, index: number): string {
  const i = index < 0 ? text.length + index : index;
  const replacement = text[i] === 'A' ? 'B' : 'A';
  return text.slice(0, i) + replacement + text.slice(i + 1);
}

describe('DeviceTokens', () => {
  describe('round trip', () => {
    it('signs a compact HS256 JWT with exactly our header, which peek reads and verify accepts', () => {
      const token = tokens.sign({ ...CLAIMS }, KEY);
      const parts = token.split('.');
      expect(parts).toHaveLength(3);
      expect(parts[0]).toBe(HS256_HEADER);
      expect(Buffer.from(parts[0]!, 'base64url').toString()).toBe('{"alg":"HS256","typ":"JWT"}');
      expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
      expect(tokens.peek(token)).toEqual(CLAIMS);
      expect(tokens.verify(token, KEY, NOW)).toEqual(CLAIMS);
    });

    it('produces a standard HMAC-SHA256 signature (interoperable with other JWT libraries)', () => {
      const token = tokens.sign({ ...CLAIMS }, KEY);
      const [header, payload, signature] = token.split('.');
      expect(signature).toBe(createHmac('sha256', Buffer.from('k'.repeat(32))).update(`${header}.${payload}`).digest('base64url'));
    });

    it('keeps the claims it is given, iat included (nothing is added from the wall clock)', () => {
      const token = tokens.sign({ ...CLAIMS, iat: NOW_S - 10 }, KEY);
      expect(tokens.peek(token)).toEqual({ ...CLAIMS, iat: NOW_S - 10 });
    });

    it('round-trips unicode claims', () => {
      const claims = { ...CLAIMS, username: 'ålice 📱 \u0000 "quoted"' };
      const token = tokens.sign(claims, KEY);
      expect(tokens.peek(token)).toEqual(claims);
      expect(tokens.verify(token, KEY, NOW)).toEqual(claims);
    });

    it('accepts a hand-made token with exactly our header (the format is the standard one)', () => {
      const token = handMade('{"alg":"HS256","typ":"JWT"}', JSON.stringify(CLAIMS));
      expect(tokens.peek(token)).toEqual(CLAIMS);
      expect(tokens.verify(token, KEY, NOW)).toEqual(CLAIMS);
    });
  });

  describe('times', () => {
    const token = tokens.sign({ ...CLAIMS }, KEY);

    it('judges exp by the now it is given, in milliseconds, not by the wall clock', () => {
      expect(verifies(token, KEY, CLAIMS.exp * 1_000 - 1)).toBe(true);
      expect(verifies(token, KEY, NOW)).toBe(true);
    });

    it('refuses a token at and after its exp with TokenExpiredError (an InvalidTokenError)', () => {
      for (const now of [CLAIMS.exp * 1_000, CLAIMS.exp * 1_000 + 1, (CLAIMS.exp + 3_600) * 1_000]) {
        const error = verifyError(token, KEY, now);
        expect(error).toBeInstanceOf(TokenExpiredError);
        expect(error.message).toMatch(/expired/);
      }
    });

    it('refuses a token without exp, which jsonwebtoken alone would let live forever', () => {
      const { exp: _exp, ...claims } = CLAIMS;
      const forever = handMade('{"alg":"HS256","typ":"JWT"}', JSON.stringify(claims));
      expect(new JwtService({}).verify(forever, { secret: KEY as never, algorithms: ['HS256'] })).toMatchObject({ user_id: 1 });
      expect(verifyError(forever)).not.toBeInstanceOf(TokenExpiredError);
    });

    it.each([
      ['1e400 (Infinity once parsed)', '1e400'],
      ['past the largest safe integer', String(2 ** 53)],
      ['a fraction', String(NOW_S + 300.5)],
      ['a string', `"${NOW_S + 300}"`],
      ['null', 'null'],
      ['an array', `[${NOW_S + 300}]`],
    ])('refuses an exp that is %s', (_label, exp) => {
      const payload = `{"user_id":1,"device_id":"7","iat":${NOW_S},"exp":${exp}}`;
      expect(JSON.parse(payload)).toHaveProperty('exp');
      expect(verifies(handMade('{"alg":"HS256","typ":"JWT"}', payload))).toBe(false);
    });

    it('refuses a token before its nbf, with its own message, and accepts it from nbf on', () => {
      const notYet = tokens.sign({ ...CLAIMS, nbf: NOW_S + 60 }, KEY);
      const error = verifyError(notYet);
      expect(error).not.toBeInstanceOf(TokenExpiredError);
      expect(error.message).toBe('Token is not valid yet.');
      expect(verifies(notYet, KEY, (NOW_S + 60) * 1_000)).toBe(true);
    });

    it.each([
      ['1e400', '1e400'],
      ['a fraction', String(NOW_S - 0.5)],
      ['a string', `"${NOW_S - 1}"`],
    ])('refuses an nbf that is %s', (_label, nbf) => {
      const payload = `{"user_id":1,"iat":${NOW_S},"exp":${NOW_S + 300},"nbf":${nbf}}`;
      expect(verifies(handMade('{"alg":"HS256","typ":"JWT"}', payload))).toBe(false);
    });
  });

  describe('refuses', () => {
    const token = tokens.sign({ ...CLAIMS }, KEY);
    const [header, payload, signature] = token.split('.') as [string, string, string];

    it('a token signed with another key', () => {
      const other = tokens.sign({ ...CLAIMS }, OTHER_KEY);
      expect(tokens.peek(other)).toEqual(CLAIMS); // peek trusts nothing: it only finds the key
      expect(verifies(other)).toBe(false);
      expect(verifies(token, OTHER_KEY)).toBe(false);
      expect(verifies(token)).toBe(true);
    });

    it('a tampered payload', () => {
      const forged = b64(JSON.stringify({ ...CLAIMS, user_id: 2 }));
      expect(verifies(`${header}.${forged}.${signature}`)).toBe(false);
      expect(verifies(`${header}.${flipChar(payload, 3)}.${signature}`)).toBe(false);
    });

    it('a tampered signature', () => {
      expect(verifies(`${header}.${payload}.${flipChar(signature, 0)}`)).toBe(false);
      expect(verifies(`${header}.${payload}.${flipChar(signature, 20)}`)).toBe(false);
      expect(verifies(`${header}.${payload}.${'A'.repeat(43)}`)).toBe(false);
    });

    it('a signature of another length', () => {
      for (const forged of [
        `${header}.${payload}.${signature.slice(0, 42)}`,
        `${header}.${payload}.${signature}A`,
        `${header}.${payload}.`,
        `${header}.${payload}`,
      ]) {
        expect(tokens.peek(forged)).toBeUndefined();
        expect(verifies(forged)).toBe(false);
      }
    });

    it('alg none with an empty signature', () => {
      const none = `${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify(CLAIMS))}.`;
      expect(tokens.peek(none)).toBeUndefined();
      expect(verifies(none)).toBe(false);
      // Even with our header's bytes and no signature.
      expect(tokens.peek(`${header}.${payload}.`)).toBeUndefined();
      expect(verifies(`${header}.${payload}.`)).toBe(false);
    });

    it.each(['none', 'None', 'NONE', 'HS512', 'HS384', 'RS256', 'ES256', 'PS256'])('alg %s (even when HMAC-SHA256 signed)', (alg) => {
      const forged = handMade(JSON.stringify({ alg, typ: 'JWT' }), JSON.stringify(CLAIMS));
      expect(tokens.peek(forged)).toBeUndefined();
      expect(verifies(forged)).toBe(false);
    });

    const OTHER_HEADERS: Array<[label: string, headerJson: string]> = [
      ['kid', '{"alg":"HS256","typ":"JWT","kid":"../../etc/passwd"}'],
      ['jku', '{"alg":"HS256","typ":"JWT","jku":"https://evil.example/keys.json"}'],
      ['jwk', '{"alg":"HS256","typ":"JWT","jwk":{"kty":"oct","k":"AAAA"}}'],
      ['crit', '{"alg":"HS256","typ":"JWT","crit":["exp"]}'],
      ['reordered keys', '{"typ":"JWT","alg":"HS256"}'],
      ['no typ', '{"alg":"HS256"}'],
      ['whitespace', '{"alg": "HS256", "typ": "JWT"}'],
      ['duplicate alg', '{"alg":"none","alg":"HS256","typ":"JWT"}'],
    ];

    it.each([...OTHER_HEADERS, ['lower-case alg', '{"alg":"hs256","typ":"JWT"}']])(
      'a header with %s, in peek (so the service never verifies it)',
      (_label, headerJson) => {
        expect(tokens.peek(handMade(headerJson, JSON.stringify(CLAIMS)))).toBeUndefined();
      },
    );

    it('a header with a lower-case alg, in verify', () => {
      expect(verifies(handMade('{"alg":"hs256","typ":"JWT"}', JSON.stringify(CLAIMS)))).toBe(false);
    });

    it.each(OTHER_HEADERS)('a header with %s, in verify alone', (_label, headerJson) => {
      expect(verifies(handMade(headerJson, JSON.stringify(CLAIMS)))).toBe(false);
    });

    it('a base64 (not base64url) or padded header, or leading whitespace', () => {
      for (const forged of [`${header}=.${payload}.${signature}`, ` ${token}`]) {
        expect(tokens.peek(forged)).toBeUndefined();
        expect(verifies(forged)).toBe(false);
      }
    });

    it('extra dots and segments', () => {
      for (const forged of [
        `${header}.${payload}.extra.${signature}`,
        `${header}..${payload}.${signature}`,
        `${header}.${payload}..${signature}`,
        `${token}.`,
        `${header}.${payload}.${signature}.${signature}`,
        `${header}.${header}.${payload}.${signature}`,
      ]) {
        expect(tokens.peek(forged)).toBeUndefined();
        expect(verifies(forged)).toBe(false);
      }
    });

    it('characters outside base64url in the payload', () => {
      for (const forged of [
        `${header}.${payload}=.${signature}`,
        `${header}.${payload.slice(0, 4)}+/${payload.slice(4)}.${signature}`,
        `${header}.${payload.slice(0, 4)} ${payload.slice(4)}.${signature}`,
      ]) {
        expect(tokens.peek(forged)).toBeUndefined();
        expect(verifies(forged)).toBe(false);
      }
    });

    it('a non-canonical base64url signature that decodes to the same bytes', () => {
      // 32 bytes = 256 bits in 43 characters of 6 bits: the last character carries 2 unused bits.
      const last = signature.at(-1)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      for (const low of [1, 2, 3]) {
        const altered = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ low]!}`;
        expect(Buffer.from(altered, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
        expect(verifies(`${header}.${payload}.${altered}`)).toBe(false);
      }
    });

    it('an oversized token in peek, even when its signature is right', () => {
      const big = tokens.sign({ ...CLAIMS, filler: 'x'.repeat(MAX_JWT_LENGTH) }, KEY);
      expect(big.length).toBeGreaterThan(MAX_JWT_LENGTH);
      expect(tokens.peek(big)).toBeUndefined();
      expect(tokens.peek('a'.repeat(1_000_000))).toBeUndefined();
      expect(tokens.peek(`${header}.${'A'.repeat(1_000_000)}.${signature}`)).toBeUndefined();
    });

    it('but accepts a token just under the size limit', () => {
      let filler = 'x'.repeat(5_000);
      let big = tokens.sign({ ...CLAIMS, filler }, KEY);
      filler += 'x'.repeat(Math.floor(((MAX_JWT_LENGTH - big.length) * 3) / 4));
      big = tokens.sign({ ...CLAIMS, filler }, KEY);
      expect(big.length).toBeLessThanOrEqual(MAX_JWT_LENGTH);
      expect(big.length).toBeGreaterThan(MAX_JWT_LENGTH - 8);
      expect(tokens.peek(big)).toEqual({ ...CLAIMS, filler });
      expect(verifies(big)).toBe(true);
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
      expect(tokens.peek(forged)).toBeUndefined();
      expect(verifies(forged)).toBe(false);
    });

    it('an empty payload segment', () => {
      const signingInput = `${HS256_HEADER}.`;
      const forged = `${signingInput}.${createHmac('sha256', KEY).update(signingInput).digest('base64url')}`;
      expect(tokens.peek(forged)).toBeUndefined();
      expect(verifies(forged)).toBe(false);
    });

    it.each(['', '.', '..', 'abc', 'a.b.c', `${HS256_HEADER}.`, `${HS256_HEADER}..`, 'Bearer x', '\u0000'])('%j', (garbage) => {
      expect(tokens.peek(garbage)).toBeUndefined();
      expect(verifies(garbage)).toBe(false);
    });
  });
});
