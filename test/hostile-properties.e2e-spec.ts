import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, createTestApp, login, type TestApp } from './support/test-app.js';

// Property-based (fast-check) requests to every route: whatever is generated, no 5xx, and the device
// table changes only when the answer says it did.
let t: TestApp;
let alice: Awaited<ReturnType<typeof login>>;
beforeAll(async () => {
  t = await createTestApp();
  alice = await login(t, ALICE);
});
afterAll(() => t.close());

const RUNS = { numRuns: 120 };
const hostileText = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom("' OR 1=1 --", '../../etc/passwd', '%00', '${jndi:x}', '<script>', '{"a":1}', 'null', '-1', '0', '1e309', 'eyJhbGciOiJub25lIn0.e30.'),
);
/** Header values Node's client will send: printable latin1 only. */
const headerValue = hostileText.map((text) => Buffer.from(text, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, ''));

async function deviceCount(): Promise<number> {
  return t.dataSource.getRepository(t.deviceEntity).count();
}

describe('generated hostile requests', () => {
  it('POST /auth-token/ with any JSON body and device headers: 200 or 400, one device per 200', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), headerValue, async (body, model) => {
        const before = await deviceCount();
        const response = await t.http.post('/auth-token/').set('X-Device-Model', model).send(JSON.stringify(body)).set('Content-Type', 'application/json');
        expect([200, 400]).toContain(response.status);
        expect(await deviceCount()).toBe(before + (response.status === 200 ? 1 : 0));
      }),
      RUNS,
    );
  });

  it('authenticated routes with any Authorization, Device-Id and id: 4xx unless the credentials are real, nothing deleted', async () => {
    const before = await deviceCount();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(headerValue.map((v) => `Bearer ${v}`), headerValue.map((v) => `JWT ${v}`), headerValue),
        headerValue,
        fc.oneof(hostileText.map(encodeURIComponent), fc.integer().map(String)),
        async (authorization, deviceId, id) => {
          const responses = await Promise.all([
            t.http.get('/devices/').set('Authorization', authorization),
            t.http.delete('/device-logout/').set({ Authorization: authorization, 'Device-Id': deviceId }),
            t.http.delete(`/devices/${id}/`).set('Authorization', authorization),
            t.http.patch(`/devices/${id}/`).set('Authorization', authorization).send({ name: deviceId }),
            t.http.post('/device-refresh-token/').set('Permanent-Token', deviceId),
          ]);
          for (const response of responses) {
            expect(response.status).toBeGreaterThanOrEqual(400);
            expect(response.status).toBeLessThan(500);
          }
        },
      ),
      RUNS,
    );
    expect(await deviceCount()).toBeGreaterThanOrEqual(before);
    expect((await t.http.get('/me').set('Authorization', `JWT ${alice.token}`)).status).toBe(200);
  });

  it('a real JWT with any one claim replaced by a generated value is refused, or is exactly as valid as before', async () => {
    const [header, payload, signature] = alice.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('user_id', 'device_id', 'exp', 'iat', 'username', 'nbf', 'kid'), fc.jsonValue({ maxDepth: 1 }), async (claim, value) => {
        fc.pre(JSON.stringify(claims[claim]) !== JSON.stringify(value));
        const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, [claim]: value })).toString('base64url')}.${signature}`;
        expect((await t.http.get('/me').set('Authorization', `JWT ${forged}`)).status).toBe(401);
      }),
      RUNS,
    );
  });
});
