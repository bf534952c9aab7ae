import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeviceKeys } from '../lib/cache/device-keys.js';
import { MIN_REMEMBERED } from '../lib/cache/device-key-cache.js';
import { DeviceTokens } from '../lib/tokens/device-tokens.js';
import { DevicesService, type JwtDevicesEvent } from '../lib/index.js';
import { DAY, HOUR, MINUTE } from './support/fake-clock.js';
import { ALICE, BOB, createTestApp, login, type TestApp } from './support/test-app.js';

let t: TestApp;
afterEach(() => t?.close());

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('PATCH /devices/:id/ renames one of the caller’s devices', () => {
  it('answers 200 with the renamed device; 400 for a bad name; 404 for another user’s device', async () => {
    t = await createTestApp();
    const phone = await login(t, ALICE, { 'X-Device-Model': 'Pixel' });
    const bob = await login(t, BOB);
    const renamed = await t.http.patch(`/devices/${phone.device_id}/`).set(auth(phone.token)).send({ name: '  Café phone 📱 ' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: phone.device_id, name: 'Café phone 📱', current: true });
    expect((await t.devices())[0]!.name).toBe('Café phone 📱');

    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 42 }, { name: null }, { name: 'x'.repeat(256) }, [], 'name']) {
      const response = await t.http.patch(`/devices/${phone.device_id}`).set(auth(phone.token)).send(body as object);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await t.http.patch('/devices/abc/').set(auth(phone.token)).send({ name: 'x' })).status).toBe(400);
    expect((await t.http.patch(`/devices/${bob.device_id}/`).set(auth(phone.token)).send({ name: 'mine now' })).status).toBe(404);
    expect((await t.devices()).find((d) => d.id === bob.device_id)!.name).toBe('');
    expect((await t.http.patch(`/devices/${phone.device_id}/`).send({ name: 'x' })).status).toBe(401);
  });
});

describe('signing out other devices and all devices', () => {
  it('DELETE /devices/others/ leaves exactly the current device; other users untouched', async () => {
    t = await createTestApp();
    const devices = [await login(t), await login(t), await login(t)];
    const bob = await login(t, BOB);
    const current = devices[1]!;
    expect((await t.http.delete('/devices/others/').set(auth(current.token))).status).toBe(204);
    expect((await t.devices()).map((d) => d.id)).toEqual([current.device_id, bob.device_id]);
    expect((await t.http.get('/me').set(auth(devices[0]!.token))).status).toBe(401);
    expect((await t.http.get('/me').set(auth(current.token))).status).toBe(200);
    expect((await t.http.delete('/devices/others').set(auth(current.token))).status).toBe(204);
  });

  it('DELETE /devices/ signs out every device of the caller, the current one included', async () => {
    t = await createTestApp();
    const one = await login(t);
    const two = await login(t);
    const bob = await login(t, BOB);
    expect((await t.http.delete('/devices/').set(auth(one.token))).status).toBe(204);
    expect((await t.devices()).map((d) => d.id)).toEqual([bob.device_id]);
    for (const token of [one.token, two.token]) expect((await t.http.get('/me').set(auth(token))).status).toBe(401);
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', two.permanent_token)).status).toBe(400);
  });

  it('revokeAllForUser() does the same for the app, e.g. after a password change', async () => {
    t = await createTestApp();
    await login(t);
    await login(t);
    const bob = await login(t, BOB);
    expect(await t.app.get(DevicesService).revokeAllForUser(1)).toBe(2);
    expect((await t.devices()).map((d) => d.id)).toEqual([bob.device_id]);
  });
});

describe('devicesPerUser', () => {
  it('evicts the least recently used device, not the new login', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({
      options: { devicesPerUser: 2, permanentTokenExpirationAccuracy: '1m', onEvent: (event) => void events.push(event) },
    });
    const oldest = await login(t);
    t.clock.advance(HOUR);
    const middle = await login(t);
    t.clock.advance(HOUR);
    // The oldest device refreshes: now `middle` is the least recently used.
    await t.http.post('/device-refresh-token/').set('Permanent-Token', oldest.permanent_token).expect(200);
    t.clock.advance(MINUTE);
    const newest = await login(t);
    const bob = await login(t, BOB);
    expect((await t.devices()).map((d) => d.id)).toEqual([oldest.device_id, newest.device_id, bob.device_id]);
    expect((await t.http.get('/me').set(auth(middle.token))).status).toBe(401);
    expect(events.filter((e) => e.type === 'device.revoked')).toEqual([
      expect.objectContaining({ deviceId: middle.device_id, reason: 'evicted' }),
    ]);
  });
});

describe('permanentTokenMaxAge', () => {
  it('expires a device this long after login however active it is', async () => {
    t = await createTestApp({ options: { permanentTokenMaxAge: '2d' } });
    const body = await login(t);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(12 * HOUR);
      await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200);
    }
    t.clock.advance(12 * HOUR + 1);
    expect((await t.http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token)).status).toBe(400);
    expect(await t.devices()).toHaveLength(0);
  });

  it('refuses the JWTs of a device past its maximum age', async () => {
    t = await createTestApp({ options: { permanentTokenMaxAge: '1h', jwtExpiration: '1d' } });
    const body = await login(t);
    t.clock.advance(HOUR + 1);
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(401);
  });
});

describe('device cache staleness bound', () => {
  it('refuses a device deleted behind its back (another instance) within deviceCacheTtl, and at once after a revoke here', async () => {
    t = await createTestApp({ options: { deviceCacheTtl: '5s' } });
    const body = await login(t);
    await t.http.get('/me').set(auth(body.token)).expect(200);
    await t.dataSource.getRepository(t.deviceEntity).delete({ id: body.device_id });
    // This instance still trusts its cached key for up to 5 s (the documented bound)…
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(200);
    t.clock.advance(5_001);
    // …and then reads the row again.
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(401);
  });

  it('with deviceCacheTtl: 0 reads the row on every request', async () => {
    t = await createTestApp({ options: { deviceCacheTtl: 0 } });
    const body = await login(t);
    await t.dataSource.getRepository(t.deviceEntity).delete({ id: body.device_id });
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(401);
  });

  it('with the cache off, refuses a JWT verified before at once when its row is deleted, or given a new secret', async () => {
    t = await createTestApp({ options: { deviceCacheSize: 0 } });
    const deleted = await login(t);
    const rekeyed = await login(t);
    const untouched = await login(t);
    // Verified once, then known: the second request takes the path that skips the signature check.
    for (const body of [deleted, rekeyed, untouched]) for (let i = 0; i < 2; i++) await t.http.get('/me').set(auth(body.token)).expect(200);
    const repository = t.dataSource.getRepository(t.deviceEntity);
    await repository.delete({ id: deleted.device_id });
    await repository.update({ id: rekeyed.device_id }, { jwtSecret: 'f'.repeat(64) });
    expect((await t.http.get('/me').set(auth(deleted.token))).status).toBe(401);
    expect((await t.http.get('/me').set(auth(rekeyed.token))).status).toBe(401);
    expect((await t.http.get('/me').set(auth(untouched.token))).status).toBe(200);
  });

  it('refuses a JWT whose device got a new secret once the cached entry is stale, though the JWT was verified before', async () => {
    t = await createTestApp({ options: { deviceCacheTtl: '5s' } });
    const body = await login(t);
    await t.http.get('/me').set(auth(body.token)).expect(200);
    await t.dataSource.getRepository(t.deviceEntity).update({ id: body.device_id }, { jwtSecret: 'f'.repeat(64) });
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(200); // the cached entry, within the bound
    t.clock.advance(5_001);
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(401);
  });

  it('keeps a device’s derived key while its secret is unchanged, and verifies a known JWT in full again once the key was dropped', async () => {
    t = await createTestApp({ options: { deviceCacheSize: 0 } });
    const body = await login(t);
    await t.http.get('/me').set(auth(body.token)).expect(200);
    const verifications = vi.spyOn(t.app.get(DeviceTokens), 'verify');
    await t.http.get('/me').set(auth(body.token)).expect(200);
    expect(verifications).not.toHaveBeenCalled(); // the row gave the kept key: no signature check
    const keys = t.app.get(DeviceKeys);
    const row = (await t.devices())[0]!;
    const key = keys.keyOf(row);
    expect(keys.keyOf(row)).toBe(key);
    expect(keys.keyOf({ ...row, jwtSecret: 'f'.repeat(64) })).not.toBe(key);
    // As many other devices read since: this one's key is dropped, and derived anew (the same bytes).
    const now = Date.now();
    for (let i = 1; i <= MIN_REMEMBERED; i++) {
      keys.remember({ ...row, id: 1_000_000 + i, jwtSecret: `other-secret-${i}` }, now, keys.ticket());
    }
    expect(keys.keyOf(row)).not.toBe(key);
    expect(keys.keyOf(row).export().equals(key.export())).toBe(true);
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(200);
    expect(verifications).toHaveBeenCalledTimes(1); // another key object: the known JWT is verified again
    expect(keys.keyOf(row)).toBe(keys.keyOf(row));
    await t.http.get('/me').set(auth(body.token)).expect(200);
    expect(verifications).toHaveBeenCalledTimes(1); // and trusted with that key from then on
  });

  it('never keeps the key of a device that a forged JWT names (the signature is checked first)', async () => {
    t = await createTestApp({ options: { deviceCacheSize: 0 } });
    const alice = await login(t);
    const bob = await login(t, BOB);
    const signingInput = bob.token.slice(0, bob.token.lastIndexOf('.'));
    const forged = `${signingInput}.${createHmac('sha256', 'not-the-device-key').update(signingInput).digest('base64url')}`;
    await t.http.get('/me').set(auth(alice.token)).expect(200);
    expect((await t.http.get('/me').set(auth(forged))).status).toBe(401);
    const keys = t.app.get(DeviceKeys);
    const rows = await t.devices();
    const row = (id: number) => rows.find((device) => device.id === id)!;
    expect(keys.keyOf(row(alice.device_id))).toBe(keys.keyOf(row(alice.device_id)));
    expect(keys.keyOf(row(bob.device_id))).not.toBe(keys.keyOf(row(bob.device_id)));
  });

  it('does not let a cached entry outlive the device’s expiry', async () => {
    t = await createTestApp({ options: { deviceCacheTtl: '30d', jwtExpiration: '30d' } });
    const body = await login(t);
    await t.http.get('/me').set(auth(body.token)).expect(200);
    t.clock.advance(7 * DAY + 1);
    expect((await t.http.get('/me').set(auth(body.token))).status).toBe(401);
  });
});

describe('user ids are case-sensitive on every database', () => {
  it('keeps the devices of users "Alice" and "alice" apart (MySQL/MariaDB compare text case-insensitively by default)', async () => {
    const people = [
      { id: 'Alice', username: 'Alice', password: 'upper' },
      { id: 'alice', username: 'alice', password: 'lower' },
    ];
    t = await createTestApp({
      options: {
        users: {
          validateUser: (username, password) => people.find((p) => p.username === username && p.password === password),
          findUser: (id) => people.find((p) => p.id === id),
        },
      },
    });
    const upper = (await t.http.post('/auth-token/').send({ username: 'Alice', password: 'upper' }).expect(200)).body;
    const lower = (await t.http.post('/auth-token/').send({ username: 'alice', password: 'lower' }).expect(200)).body;
    const listed = await t.http.get('/devices/').set(auth(lower.token)).expect(200);
    expect(listed.body.map((d: { id: number }) => d.id)).toEqual([lower.device_id]);
    expect((await t.http.delete(`/devices/${upper.device_id}/`).set(auth(lower.token))).status).toBe(404);
    await t.http.delete('/devices/others/').set(auth(lower.token)).expect(204);
    expect((await t.devices()).map((d) => d.id)).toEqual([upper.device_id, lower.device_id]);
  });
});
