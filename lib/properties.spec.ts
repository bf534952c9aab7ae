import { BadRequestException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LoginDto } from './http/dto/login.dto.js';
import { JwtDevicesBodyPipe } from './http/jwt-devices.pipes.js';
import { readAuthorizationToken } from './http/request-input.js';
import { InvalidTokenError, JwtDevicesError, TokenExpiredError } from './jwt-devices.errors.js';
import { cleanDeviceText, describeDevice, MAX_DEVICE_TEXT } from './sessions/device-names.js';
import { parseDeviceId } from './store/device-store.js';
import { type DeviceJwtClaims, DeviceTokens } from './tokens/device-tokens.js';

// Property-based tests (fast-check): every reader of hostile input, over generated input.
const RUNS = { numRuns: 500 };

const tokens = new DeviceTokens(new JwtService({}));
/** The clock tokens are verified at (ms); times in claims are seconds around it. */
const NOW = 1_700_000_000_000;
const NOW_S = NOW / 1_000;

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => createSecretKey(Buffer.from(bytes)));
/**
 * Claim names jsonwebtoken's sign() cannot take: it looks every claim name up in a plain object of
 * validators, so a name inherited from Object.prototype (`constructor`, `toString`, `__proto__`, …)
 * makes it throw a TypeError (see the known-bug test below).
 */
const OBJECT_PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);
/** App claims beside the module's own; the registered time claims are the module's. */
const extraClaimsArb = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('sub', 'aud', 'iss', 'jti', 'kid', 'alg', 'device_id', 'user_id')),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 6 },
).map((claims) => Object.fromEntries(Object.entries(claims).filter(([name]) => !['iat', 'exp', 'nbf', ...OBJECT_PROTOTYPE_NAMES].includes(name))));
/** Claims of a token that is valid at {@link NOW}. */
const claimsArb = fc
  .record({
    extra: extraClaimsArb,
    user_id: fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: 1 })),
    device_id: fc.option(fc.integer({ min: 1, max: 2_147_483_647 }).map(String), { nil: undefined }),
    iat: fc.integer({ min: 1, max: NOW_S }),
    exp: fc.integer({ min: NOW_S + 1, max: 100_000_000_000 }),
  })
  .map(({ extra, device_id, ...own }): DeviceJwtClaims => ({ ...extra, ...own, ...(device_id !== undefined && { device_id }) }));

const b64 = (text: string): string => Buffer.from(text).toString('base64url');
/** A token with any header and payload text, HMAC-SHA256 signed with `key`, built by hand. */
function handMade(headerJson: string, payloadText: string, key: KeyObject): string {
  const signingInput = `${b64(headerJson)}.${b64(payloadText)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}
const OUR_HEADER = '{"alg":"HS256","typ":"JWT"}';

/** What `verify` throws for `token` at `now`: an InvalidTokenError (or subclass), never anything else. */
function verifyError(token: string, key: KeyObject, now = NOW): InvalidTokenError {
  try {
    tokens.verify(token, key, now);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return error as InvalidTokenError;
  }
  throw new Error(`verify accepted ${token}`);
}

describe('DeviceTokens properties', () => {
  it('sign → verify (and peek) round-trips any claims, with the same key', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, (claims, key) => {
        const token = tokens.sign(claims, key);
        const asJson = JSON.parse(JSON.stringify(claims));
        expect(tokens.verify(token, key, NOW)).toEqual(asJson);
        expect(tokens.peek(token)).toEqual(asJson);
      }),
      RUNS,
    );
  });

  // jsonwebtoken 9 (sign.js `validate`) looks claim names up in a plain object, so a claim named like an
  // Object.prototype member crashes it with a TypeError; sign() refuses such a claim by name instead.
  it('sign refuses claims named like Object.prototype members with an error that names the claim', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, fc.constantFrom(...OBJECT_PROTOTYPE_NAMES), fc.string(), (claims, key, name, value) => {
        const withName = { ...claims };
        Object.defineProperty(withName, name, { value, enumerable: true, writable: true, configurable: true });
        expect(() => tokens.sign(withName, key)).toThrow(new JwtDevicesError(`The JWT claim "${name}" (from users.getClaims) cannot be signed by jsonwebtoken; rename it.`));
      }),
      RUNS,
    );
  });

  it('verify refuses any token with one character changed, with InvalidTokenError', () => {
    const replacementArb = fc.oneof(
      fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.='),
      fc.string({ minLength: 1, maxLength: 1 }),
      fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
    );
    fc.assert(
      fc.property(claimsArb, keyArb, fc.nat(), replacementArb, (claims, key, at, replacement) => {
        const token = tokens.sign(claims, key);
        const index = at % token.length;
        fc.pre(token[index] !== replacement);
        const tampered = token.slice(0, index) + replacement + token.slice(index + 1);
        const error = verifyError(tampered, key);
        expect(error).not.toBeInstanceOf(TokenExpiredError);
      }),
      RUNS,
    );
  });

  it('peek never throws on arbitrary strings, and returns only plain objects', () => {
    const ourPrefix = `${b64(OUR_HEADER)}.`;
    const tokenLikeArb = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.base64String(),
      fc.string().map((tail) => ourPrefix + tail),
      fc
        .tuple(fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/))
        .map(([payload, signature]) => `${ourPrefix}${payload.replace(/[+/=]/g, '')}.${signature}`),
      fc.jsonValue().map((value) => `${ourPrefix}${b64(JSON.stringify(value) ?? '')}.${'A'.repeat(43)}`),
    );
    fc.assert(
      fc.property(tokenLikeArb, (text) => {
        const claims = tokens.peek(text);
        if (claims !== undefined) expect(typeof claims === 'object' && claims !== null && !Array.isArray(claims)).toBe(true);
      }),
      RUNS,
    );
  });

  it('verify never accepts a token signed with another key', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, keyArb, (claims, key, otherKey) => {
        fc.pre(!otherKey.equals(key));
        verifyError(tokens.sign(claims, otherKey), key);
      }),
      RUNS,
    );
  });

  it('verify never accepts alg none, whatever signature follows', () => {
    fc.assert(
      fc.property(
        claimsArb,
        keyArb,
        fc.constantFrom('none', 'None', 'NONE', 'nOnE'),
        fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/)),
        (claims, key, alg, signature) => {
          const token = `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify(claims))}.${signature}`;
          expect(tokens.peek(token)).toBeUndefined();
          verifyError(token, key);
        },
      ),
      RUNS,
    );
  });

  /** Headers other than ours that still name HS256: reordered, re-spaced, or with more parameters. */
  const otherHeaderArb = fc.oneof(
    fc.constant('{"typ":"JWT","alg":"HS256"}'),
    fc.constant('{"alg": "HS256", "typ": "JWT"}'),
    fc.constant('{"alg":"HS256"}'),
    fc
      .tuple(fc.constantFrom('kid', 'jku', 'x5u', 'crit', 'cty', 'b64'), fc.jsonValue({ maxDepth: 1 }))
      .map(([name, value]) => JSON.stringify({ alg: 'HS256', typ: 'JWT', [name]: value })),
  );

  it('never accepts a header other than ours, as the service checks tokens (peek, then verify)', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, otherHeaderArb, (claims, key, header) => {
        const token = handMade(header, JSON.stringify(claims), key);
        // DevicesService refuses a token peek cannot read before it looks for a key to verify it with.
        expect(tokens.peek(token)).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('verify alone never accepts a header other than ours', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, otherHeaderArb, (claims, key, header) => {
        verifyError(handMade(header, JSON.stringify(claims), key), key);
      }),
      RUNS,
    );
  });

  it('verify accepts a hand-made token with exactly our header (so the refusals below are about the claims)', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, (claims, key) => {
        expect(tokens.verify(handMade(OUR_HEADER, JSON.stringify(claims), key), key, NOW)).toEqual(JSON.parse(JSON.stringify(claims)));
      }),
      RUNS,
    );
  });

  it('verify never accepts a token without exp', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, ({ exp: _exp, ...claims }, key) => {
        const error = verifyError(handMade(OUR_HEADER, JSON.stringify(claims), key), key);
        expect(error).not.toBeInstanceOf(TokenExpiredError);
      }),
      RUNS,
    );
  });

  it('verify never accepts exp = 1e400 (Infinity once parsed), written by hand into the payload', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, fc.constantFrom('1e400', '1E400', '9e999', '1e309'), ({ exp: _exp, ...claims }, key, huge) => {
        const payload = `${JSON.stringify(claims).slice(0, -1)}${Object.keys(claims).length > 0 ? ',' : ''}"exp":${huge}}`;
        expect(JSON.parse(payload).exp).toBe(Number.POSITIVE_INFINITY);
        verifyError(handMade(OUR_HEADER, payload, key), key);
      }),
      RUNS,
    );
  });

  it('verify refuses every token from its exp on, with TokenExpiredError', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (claims, key, after) => {
        const token = tokens.sign(claims, key);
        expect(verifyError(token, key, claims.exp * 1_000 + after)).toBeInstanceOf(TokenExpiredError);
        expect(tokens.verify(token, key, claims.exp * 1_000 - 1).exp).toBe(claims.exp);
      }),
      RUNS,
    );
  });
});

describe('request input properties', () => {
  it('parseDeviceId answers undefined, a positive integer, or Infinity, and never throws', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const id = parseDeviceId(value);
        expect(id === undefined || id === Infinity || (Number.isSafeInteger(id) && id >= 1)).toBe(true);
      }),
      RUNS,
    );
  });

  it('device names are at most 255 characters and carry no control or invisible formatting characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.string({ unit: 'binary', maxLength: 600 }), (model, agent) => {
        const { name, details } = describeDevice({ 'x-device-model': model, 'user-agent': agent });
        for (const text of [name, details, cleanDeviceText(model)]) {
          expect(Array.from(text).length).toBeLessThanOrEqual(MAX_DEVICE_TEXT);
          expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/);
        }
      }),
      RUNS,
    );
  });

  it('JwtDevicesBodyPipe turns any body into a LoginDto of the strings it was given, or a 400 with one string message', () => {
    const pipe = new JwtDevicesBodyPipe();
    const bodyArb = fc.oneof(
      fc.anything(),
      fc.record({ username: fc.oneof(fc.string(), fc.anything()), password: fc.oneof(fc.string(), fc.anything()) }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(bodyArb, (body) => {
        let result: unknown;
        try {
          result = pipe.transform(body, { type: 'body', metatype: LoginDto });
        } catch (error) {
          expect(error).toBeInstanceOf(BadRequestException);
          expect(typeof ((error as BadRequestException).getResponse() as { message: unknown }).message).toBe('string');
          return;
        }
        expect(result).toBeInstanceOf(LoginDto);
        const { username, password } = result as LoginDto;
        expect(Object.keys(result as object).sort()).toEqual(['password', 'username']);
        expect(typeof username === 'string' && typeof password === 'string').toBe(true);
        expect(username).toBe(Object.getOwnPropertyDescriptor(body, 'username')?.value);
        expect(password).toBe(Object.getOwnPropertyDescriptor(body, 'password')?.value);
      }),
      RUNS,
    );
  });

  it('readAuthorizationToken returns a token without whitespace, or nothing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('Bearer ', 'JWT ', 'bearer x', 'JWT  a.b.c ').chain((p) => fc.string().map((s) => p + s))), (value) => {
        const token = readAuthorizationToken({ authorization: value });
        if (token !== undefined) expect(token).toMatch(/^\S+$/);
      }),
      RUNS,
    );
  });
});
