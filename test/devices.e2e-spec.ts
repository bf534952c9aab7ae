import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, createTestApp, login, type TestApp } from './support/test-app.js';
import { DAY, HOUR, MINUTE, SECOND } from './support/fake-clock.js';

// The scenarios of drf-jwt-devices' own test suite, ported, plus what docs/CONTRACT.md adds.

let t: TestApp;
afterEach(() => t?.close());

const jwt = (token: string) => ({ Authorization: `JWT ${token}` });

describe('POST /auth-token/', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it('creates a device named by X-Device-Model, with the User-Agent as details', async () => {
    expect(await t.devices()).toHaveLength(0);
    const response = await t.http.post('/auth-token/').set({ 'X-Device-Model': 'Nokia', 'User-Agent': 'agent' }).send(ALICE);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['device_id', 'permanent_token', 'token']);
    const [device] = await t.devices();
    expect(response.body.device_id).toBe(device!.id);
    expect(typeof response.body.device_id).toBe('number');
    expect(device).toMatchObject({ name: 'Nokia', details: 'agent', userId: '1' });
    expect(await t.devices()).toHaveLength(1);
  });

  it('names the device by its User-Agent when no X-Device-Model is sent (a browser)', async () => {
    const body = await login(t, ALICE, { 'User-Agent': 'agent' });
    const [device] = await t.devices();
    expect(device).toMatchObject({ id: body.device_id, name: 'agent', details: '' });
    expect((await t.http.get('/devices/').set(jwt(body.token))).status).toBe(200);
  });

  it('stores the permanent token only as its SHA-256', async () => {
    const body = await login(t);
    expect(body.permanent_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const rows = await t.dataSource.createQueryBuilder().select('*').from(t.deviceEntity, 'device').getRawMany();
    expect(JSON.stringify(rows)).not.toContain(body.permanent_token);
    expect(JSON.stringify(rows)).not.toContain(body.permanent_token.split('.')[1]); // the secret; the lineage is stored
    expect(rows[0].permanent_token_hash).toBe(createHash('sha256').update(body.permanent_token).digest('hex'));
  });

  it('gives every login its own device, permanent token and JWT secret', async () => {
    const first = await login(t);
    const second = await login(t);
    expect(second.device_id).not.toBe(first.device_id);
    expect(second.permanent_token).not.toBe(first.permanent_token);
    const [a, b] = await t.devices();
    expect(a!.jwtSecret).not.toBe(b!.jwtSecret);
    expect(a!.jwtSecret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs a JWT with drf-jwt-devices claims: user_id, username, device_id as a string, exp', async () => {
    const body = await login(t);
    const [header, payload] = body.token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ user_id: 1, username: 'alice', device_id: String(body.device_id) });
    expect(payload.exp * 1000 - t.clock.now()).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(payload.exp * 1000 - t.clock.now()).toBeLessThanOrEqual(5 * MINUTE + SECOND);
  });

  it('refuses wrong or missing credentials with 400 and creates no device', async () => {
    for (const body of [{ ...ALICE, password: 'wrong' }, { username: 'nobody', password: 'x' }, { username: 'alice' }, {}]) {
      const response = await t.http.post('/auth-token/').send(body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(typeof response.body.message).toBe('string');
    }
    const malformed = await t.http.post('/auth-token/').set('Content-Type', 'application/json').send('{"username": "alice",');
    expect(malformed.status).toBe(400);
    expect(await t.devices()).toHaveLength(0);
  });

  it('cuts device name and details to 255 characters instead of refusing them', async () => {
    await login(t, ALICE, { 'X-Device-Model': 'm'.repeat(300), 'User-Agent': 'u'.repeat(300) });
    const [device] = await t.devices();
    expect(device!.name).toBe('m'.repeat(255));
    expect(device!.details).toBe('u'.repeat(255));
  });
});

describe('plain JWT mode (permanentTokenAuth: false)', () => {
  beforeEach(async () => {
    t = await createTestApp({ options: { permanentTokenAuth: false } });
  });

  it('logs in with a plain {token}, creates no device, and that token authenticates', async () => {
    const response = await t.http.post('/auth-token/').set({ 'X-Device-Model': 'Nokia', 'User-Agent': 'agent' }).send(ALICE);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body)).toEqual(['token']);
    expect(await t.devices()).toHaveLength(0);
    const devices = await t.http.get('/devices/').set(jwt(response.body.token));
    expect(devices.status).toBe(200);
    expect(devices.body).toEqual([]);
    const me = await t.http.get('/me').set(jwt(response.body.token));
    expect(me.body).toEqual({ device: { id: null, userId: '1' } });
  });

  it('refuses a plain token once expired or forged', async () => {
    const { token } = (await t.http.post('/auth-token/').send(ALICE)).body;
    const [header, payload] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ user_id: 2, exp: 9999999999 })).toString('base64url')}.${token.split('.')[2]}`;
    expect(payload).toBeTruthy();
    expect((await t.http.get('/me').set(jwt(forged))).status).toBe(401);
    t.clock.advance(5 * MINUTE + SECOND);
    expect((await t.http.get('/me').set(jwt(token))).status).toBe(401);
  });
});

describe('DELETE /device-logout/', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it('deletes the device named by Device-Id', async () => {
    const body = await login(t, ALICE, { 'X-Device-Model': 'Android 123' });
    const response = await t.http.delete('/device-logout/').set({ ...jwt(body.token), 'Device-Id': String(body.device_id) });
    expect(response.status).toBe(204);
    expect(await t.devices()).toHaveLength(0);
  });

  it("answers 404 for another user's device and leaves it alone", async () => {
    const alice = await login(t, ALICE, { 'X-Device-Model': 'Android 123' });
    const bob = await login(t, BOB, { 'X-Device-Model': 'Nokia' });
    const response = await t.http.delete('/device-logout/').set({ ...jwt(alice.token), 'Device-Id': String(bob.device_id) });
    expect(response.status).toBe(404);
    expect(await t.devices()).toHaveLength(2);
  });

  it('answers 400 without Device-Id or with one that is not a positive integer, 404 for an unknown one', async () => {
    const alice = await login(t);
    expect((await t.http.delete('/device-logout/').set(jwt(alice.token))).status).toBe(400);
    for (const id of ['abc', '0', '-1', '1.5', '']) {
      expect((await t.http.delete('/device-logout/').set({ ...jwt(alice.token), 'Device-Id': id })).status).toBe(400);
    }
    expect((await t.http.delete('/device-logout/').set({ ...jwt(alice.token), 'Device-Id': '999' })).status).toBe(404);
    expect(await t.devices()).toHaveLength(1);
  });

  it('answers 401 without a valid JWT', async () => {
    const alice = await login(t);
    expect((await t.http.delete('/device-logout/').set('Device-Id', String(alice.device_id))).status).toBe(401);
    expect(await t.devices()).toHaveLength(1);
  });

  it('logs out one device while the others keep working', async () => {
    const phone = await login(t);
    const laptop = await login(t);
    await t.http.delete('/device-logout').set({ ...jwt(laptop.token), 'Device-Id': String(phone.device_id) }).expect(204);
    expect((await t.http.get('/devices/').set(jwt(phone.token))).status).toBe(401);
    expect((await t.http.get('/devices/').set(jwt(laptop.token))).status).toBe(200);
  });
});

describe('POST /device-refresh-token/', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it('trades a permanent token for a new JWT and expires an idle device (drf-jwt-devices test_refreshing)', async () => {
    const body = await login(t, ALICE, { 'X-Device-Model': 'Android 123' });
    t.clock.advance(2 * DAY);

    expect((await t.http.post('/device-refresh-token/')).status).toBe(400);
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', '23124csfdgfdhthfdfdf')).status).toBe(400);

    const response = await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body)).toEqual(['token']);
    expect(response.body.token).not.toBe(body.token);
    const [device] = await t.devices();
    expect(device!.lastRequestDatetime.getTime()).toBe(t.clock.now());
    expect((await t.http.get('/devices/').set(jwt(response.body.token))).status).toBe(200);

    t.clock.advance(8 * DAY);
    const expired = await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token);
    expect(expired.status).toBe(400);
    expect(expired.body.message).toMatch(/expired/i);
    expect(await t.devices()).toHaveLength(0);
  });

  it('slides the expiry on every refresh', async () => {
    const body = await login(t);
    for (let i = 0; i < 4; i++) {
      t.clock.advance(6 * DAY);
      expect((await t.http.post('/device-refresh-token').set('Permanent-Token', body.permanent_token)).status).toBe(200);
    }
    t.clock.advance(7 * DAY + 1);
    expect((await t.http.post('/device-refresh-token').set('Permanent-Token', body.permanent_token)).status).toBe(400);
    expect(await t.devices()).toHaveLength(0);
  });

  it('writes last_request_datetime at most once per accuracy window', async () => {
    const body = await login(t);
    const loggedInAt = t.clock.now();
    const refresh = () => t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200);

    t.clock.advance(10 * MINUTE);
    await refresh();
    expect((await t.devices())[0]!.lastRequestDatetime.getTime()).toBe(loggedInAt);

    t.clock.advance(21 * MINUTE);
    await refresh();
    const touchedAt = t.clock.now();
    expect((await t.devices())[0]!.lastRequestDatetime.getTime()).toBe(touchedAt);

    t.clock.advance(29 * MINUTE);
    await refresh();
    expect((await t.devices())[0]!.lastRequestDatetime.getTime()).toBe(touchedAt);
  });

  it('measures expiry from the stored last_request_datetime', async () => {
    const body = await login(t);
    t.clock.advance(29 * MINUTE); // inside the accuracy window: not written
    await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200);
    t.clock.advance(7 * DAY - 29 * MINUTE + 1);
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token)).status).toBe(400);
  });

  it('refuses the JWT of an expired device too', async () => {
    const body = await login(t, ALICE);
    t.clock.advance(7 * DAY + 1);
    expect((await t.http.get('/me').set(jwt(body.token))).status).toBe(401);
  });

  it('deletes the device of a user who no longer exists', async () => {
    const body = await login(t, BOB);
    t.users.remove('bob');
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token)).status).toBe(400);
    expect(await t.devices()).toHaveLength(0);
  });
});

describe('JWT verification', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it('accepts Bearer and JWT prefixes, in any letter case', async () => {
    const { token } = await login(t);
    for (const scheme of ['Bearer', 'JWT', 'bearer', 'jwt']) {
      expect((await t.http.get('/me').set('authorization', `${scheme} ${token}`)).status).toBe(200);
    }
  });

  it('refuses the JWT of a deleted device at once', async () => {
    const phone = await login(t);
    const laptop = await login(t);
    expect((await t.http.get('/me').set(jwt(phone.token))).status).toBe(200);
    await t.http.delete(`/devices/${phone.device_id}/`).set(jwt(laptop.token)).expect(204);
    const refused = await t.http.get('/me').set(jwt(phone.token));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('refuses an expired JWT, and the refreshed one works', async () => {
    const body = await login(t);
    t.clock.advance(5 * MINUTE + SECOND);
    const expired = await t.http.get('/me').set(jwt(body.token));
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/i);
    const { token } = (await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200)).body;
    expect((await t.http.get('/me').set(jwt(token))).status).toBe(200);
  });

  it('refuses tampered, forged, alg:none and garbage tokens', async () => {
    const alice = await login(t);
    const bob = await login(t, BOB);
    const [header, payload, signature] = alice.token.split('.') as [string, string, string];
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const candidates = [
      `${header}.${encode({ ...claims, exp: claims.exp + 3600 })}.${signature}`, // longer life
      `${header}.${encode({ ...claims, user_id: 2 })}.${signature}`, // someone else
      `${header}.${encode({ ...claims, device_id: String(bob.device_id) })}.${signature}`, // another device
      `${header}.${payload}.${signature.slice(0, -2)}AA`,
      `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      `${encode({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
      `${header}.${payload}`,
      'garbage',
      '',
    ];
    for (const token of candidates) {
      const response = await t.http.get('/me').set('Authorization', `Bearer ${token}`);
      expect(response.status, token).toBe(401);
    }
  });

  it('refuses a JWT whose user no longer exists', async () => {
    const bob = await login(t, BOB);
    t.users.remove('bob');
    expect((await t.http.get('/me').set(jwt(bob.token))).status).toBe(401);
  });

  it('answers 401 without credentials', async () => {
    const response = await t.http.get('/devices/');
    expect(response.status).toBe(401);
    expect(response.body.message).toMatch(/Authorization/);
  });
});

describe('GET /devices/ and DELETE /devices/:id/', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it("lists the caller's own devices, oldest first, with ISO dates and the current one marked", async () => {
    const first = await login(t, ALICE, { 'X-Device-Model': 'Android' });
    t.clock.advance(HOUR);
    const second = await login(t, ALICE, { 'User-Agent': 'Firefox' });
    await login(t, BOB);
    const response = await t.http.get('/devices/').set(jwt(second.token));
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(2);
    for (const device of response.body) {
      expect(Object.keys(device)).toEqual(expect.arrayContaining(['id', 'created', 'name', 'details', 'last_request_datetime']));
      expect(new Date(device.created).toISOString()).toBe(device.created);
      expect(new Date(device.last_request_datetime).toISOString()).toBe(device.last_request_datetime);
    }
    expect(response.body.map((d: { id: number }) => d.id)).toEqual([first.device_id, second.device_id]);
    expect(response.body.map((d: { current: boolean }) => d.current)).toEqual([false, true]);
    expect(response.body[0]).toMatchObject({ name: 'Android', created: '2026-01-01T00:00:00.000Z' });
    expect(response.body[1]).toMatchObject({ name: 'Firefox', details: '' });
  });

  it("deletes the caller's device, 404 for another user's (untouched), 401 without a JWT", async () => {
    const alice = await login(t);
    const aliceOther = await login(t);
    const bob = await login(t, BOB);
    expect((await t.http.delete(`/devices/${aliceOther.device_id}/`)).status).toBe(401);
    expect((await t.http.delete(`/devices/${bob.device_id}/`).set(jwt(alice.token))).status).toBe(404);
    expect((await t.devices()).map((d) => d.id)).toContain(bob.device_id);
    expect((await t.http.delete(`/devices/${aliceOther.device_id}/`).set(jwt(alice.token))).status).toBe(204);
    expect((await t.devices()).map((d) => d.id)).toEqual([alice.device_id, bob.device_id]);
    expect((await t.http.delete(`/devices/${aliceOther.device_id}`).set(jwt(alice.token))).status).toBe(404);
  });

  it('answers 400 for an id that is not a positive integer, 404 for one past the column range', async () => {
    const alice = await login(t);
    for (const id of ['abc', '0', '-1', '1.5', '1e3']) {
      expect((await t.http.delete(`/devices/${id}/`).set(jwt(alice.token))).status).toBe(400);
    }
    expect((await t.http.delete('/devices/99999999999999999999/').set(jwt(alice.token))).status).toBe(404);
    expect(await t.devices()).toHaveLength(1);
  });
});

describe('Permanent-Token is refused everywhere but refresh', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it('answers 400 on every other route, the app’s own included, before authentication and with no effect', async () => {
    const alice = await login(t);
    const pt = { 'Permanent-Token': alice.permanent_token };
    const requests = [
      t.http.post('/auth-token/').set(pt).send(ALICE),
      t.http.delete('/device-logout/').set({ ...pt, ...jwt(alice.token), 'Device-Id': String(alice.device_id) }),
      t.http.get('/devices/').set({ ...pt, ...jwt(alice.token) }),
      t.http.delete(`/devices/${alice.device_id}/`).set({ ...pt, ...jwt(alice.token) }),
      t.http.get('/me').set({ ...pt, ...jwt(alice.token) }),
      t.http.get('/me').set(pt),
      t.http.get('/public').set(pt),
      t.http.post('/public').set({ 'PERMANENT-TOKEN': 'anything' }),
      t.http.get('/public').set({ 'permanent-token': '' }),
    ];
    for (const response of await Promise.all(requests)) {
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(/Permanent-Token/);
    }
    expect((await t.devices()).map((d) => d.id)).toEqual([alice.device_id]);
    expect((await t.http.get('/public')).status).toBe(200);
  });

  it('can be turned off (permittedHeadersGuard: false)', async () => {
    await t.close();
    t = await createTestApp({ options: { permittedHeadersGuard: false } });
    expect((await t.http.get('/public').set('Permanent-Token', 'x')).status).toBe(200);
  });
});

describe('trailing slashes', () => {
  beforeEach(async () => {
    t = await createTestApp();
  });

  it('serves every route with and without it', async () => {
    for (const path of ['/auth-token/', '/auth-token']) {
      expect((await t.http.post(path).send(ALICE)).status).toBe(200);
    }
    const alice = await login(t);
    for (const path of ['/device-refresh-token/', '/device-refresh-token']) {
      expect((await t.http.post(path).set('Permanent-Token', alice.permanent_token)).status).toBe(200);
    }
    for (const path of ['/devices/', '/devices']) {
      expect((await t.http.get(path).set(jwt(alice.token))).status).toBe(200);
    }
    const [one, two] = await t.devices();
    expect((await t.http.delete(`/devices/${one!.id}/`).set(jwt(alice.token))).status).toBe(204);
    expect((await t.http.delete(`/devices/${two!.id}`).set(jwt(alice.token))).status).toBe(204);
    expect((await t.http.delete('/device-logout').set({ ...jwt(alice.token), 'Device-Id': String(alice.device_id) })).status).toBe(204);
  });
});
