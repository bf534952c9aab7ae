import { createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJwt, signJwt, verifyJwtSignature } from './jwt-hs256.js';
import { cleanDeviceText, describeDevice, MAX_DEVICE_TEXT, parseDeviceId, readAuthorizationToken, readCredentials } from './request-input.js';

// Property-based tests (fast-check): every reader of hostile input, over generated input.
const RUNS = { numRuns: 500 };
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => createSecretKey(Buffer.from(bytes)));
const claimsArb = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 });

describe('JWT codec properties', () => {
  it('verifies what it signed, with the same key only', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, keyArb, (claims, key, otherKey) => {
        const token = signJwt(claims, key);
        const decoded = decodeJwt(token);
        expect(decoded).toBeDefined();
        expect(verifyJwtSignature(decoded!, key)).toBe(true);
        expect(verifyJwtSignature(decoded!, otherKey)).toBe(otherKey.equals(key));
      }),
      RUNS,
    );
  });

  it('refuses any token with one character changed', () => {
    fc.assert(
      fc.property(claimsArb, keyArb, fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (claims, key, at, replacement) => {
        const token = signJwt(claims, key);
        const index = at % token.length;
        fc.pre(token[index] !== replacement);
        const tampered = token.slice(0, index) + replacement + token.slice(index + 1);
        const decoded = decodeJwt(tampered);
        expect(decoded === undefined || !verifyJwtSignature(decoded, key)).toBe(true);
      }),
      RUNS,
    );
  });

  it('never throws on arbitrary strings, and decodes only objects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()), (text) => {
        const decoded = decodeJwt(text);
        if (decoded) expect(typeof decoded.payload === 'object' && !Array.isArray(decoded.payload)).toBe(true);
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

  it('readCredentials returns strings it was given, or a message, for any body', () => {
    fc.assert(
      fc.property(fc.anything(), (body) => {
        const result = readCredentials(body);
        if (typeof result !== 'string') {
          expect(result.username).toBe((body as { username: unknown }).username);
          expect(result.password).toBe((body as { password: unknown }).password);
        }
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
