import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { JwtDevicesEvent } from '../lib/index.js';
import { SECOND } from './support/fake-clock.js';
import { createTestApp, login, type TestApp } from './support/test-app.js';

let t: TestApp;
afterEach(() => t?.close());

const refresh = (token: string) => t.http.post('/device-refresh-token/').set('Permanent-Token', token);
const me = (jwt: string) => t.http.get('/me').set('Authorization', `JWT ${jwt}`);

describe('permanent token rotation (permanentTokenRotation: true)', () => {
  it('is off by default: refresh answers {token} and the permanent token stays', async () => {
    t = await createTestApp();
    const body = await login(t);
    const first = await refresh(body.permanent_token);
    expect(Object.keys(first.body)).toEqual(['token']);
    expect((await refresh(body.permanent_token)).status).toBe(200);
  });

  it('answers {token, permanent_token} with a new permanent token that works, and retires the old one', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({ options: { permanentTokenRotation: true, onEvent: (event) => void events.push(event) } });
    const body = await login(t);
    const rotated = await refresh(body.permanent_token);
    expect(rotated.status).toBe(200);
    expect(Object.keys(rotated.body).sort()).toEqual(['permanent_token', 'token']);
    expect(rotated.body.permanent_token).not.toBe(body.permanent_token);
    expect(rotated.body.permanent_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect((await me(rotated.body.token)).status).toBe(200);

    t.clock.advance(SECOND);
    const next = await refresh(rotated.body.permanent_token);
    expect(next.status).toBe(200);
    expect(next.body.permanent_token).not.toBe(rotated.body.permanent_token);
    expect(events.filter((e) => e.type === 'device.rotated')).toHaveLength(2);
    const [device] = await t.devices();
    expect(JSON.stringify(device)).not.toContain(next.body.permanent_token);
  });

  it('gives every refresh that raced on one token the same successor (N parallel refreshes)', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true } });
    const body = await login(t);
    const responses = await Promise.all(Array.from({ length: 30 }, () => refresh(body.permanent_token)));
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    const successors = new Set(responses.map((r) => r.body.permanent_token));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    expect((await refresh(successor!)).status).toBe(200);
    expect(await t.devices()).toHaveLength(1);
  });

  it('returns the same successor to a retry within the reuse interval', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true, permanentTokenReuseInterval: '10s' } });
    const body = await login(t);
    const first = await refresh(body.permanent_token);
    t.clock.advance(9 * SECOND);
    const retry = await refresh(body.permanent_token);
    expect(retry.status).toBe(200);
    expect(retry.body.permanent_token).toBe(first.body.permanent_token);
    expect((await me(retry.body.token)).status).toBe(200);
  });

  it('takes a retired token after the interval as theft: revokes the device, its current token and its live JWTs at once', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({ options: { permanentTokenRotation: true, onEvent: (event) => void events.push(event) } });
    const body = await login(t);
    const legit = await refresh(body.permanent_token);
    expect((await me(legit.body.token)).status).toBe(200);

    t.clock.advance(11 * SECOND);
    const replay = await refresh(body.permanent_token); // the thief's copy
    expect(replay.status).toBe(400);
    expect(replay.body.message).toMatch(/stolen/);
    expect(await t.devices()).toHaveLength(0);
    expect((await me(legit.body.token)).status).toBe(401);
    expect((await me(body.token)).status).toBe(401);
    expect((await refresh(legit.body.permanent_token)).status).toBe(400);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['device.reuse-detected', 'device.revoked']));
    expect(events.find((e) => e.type === 'device.revoked')).toMatchObject({ reason: 'theft', deviceId: body.device_id, userId: '1' });
  });

  it('also revokes when the thief refreshed first and the owner replays later', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true } });
    const body = await login(t);
    const thief = await refresh(body.permanent_token);
    t.clock.advance(60 * SECOND);
    expect((await refresh(body.permanent_token)).status).toBe(400);
    expect((await refresh(thief.body.permanent_token)).status).toBe(400);
    expect((await me(thief.body.token)).status).toBe(401);
  });

  it('leaves the other devices of the user alone when one is revoked for theft', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true } });
    const stolen = await login(t);
    const other = await login(t);
    await refresh(stolen.permanent_token);
    t.clock.advance(11 * SECOND);
    await refresh(stolen.permanent_token).expect(400);
    expect((await t.devices()).map((d) => d.id)).toEqual([other.device_id]);
    expect((await me(other.token)).status).toBe(200);
  });

  it('takes ANY retired token as theft: log in (T0), refresh twice, wait, present T0 → the device and its live JWTs die', async () => {
    const events: JwtDevicesEvent[] = [];
    t = await createTestApp({ options: { permanentTokenRotation: true, onEvent: (event) => void events.push(event) } });
    const body = await login(t);
    const t1 = await refresh(body.permanent_token);
    t.clock.advance(SECOND);
    const t2 = await refresh(t1.body.permanent_token);
    expect(t2.status).toBe(200);
    expect(await t.devices()).toMatchObject([{ rotations: 2, lineage: body.permanent_token.split('.')[0] }]);

    t.clock.advance(11 * SECOND);
    const replay = await refresh(body.permanent_token);
    expect(replay.status).toBe(400);
    expect(replay.body.message).toMatch(/stolen/);
    expect(await t.devices()).toHaveLength(0);
    expect((await me(t2.body.token)).status).toBe(401);
    expect((await refresh(t2.body.permanent_token)).status).toBe(400);
    expect(events.find((e) => e.type === 'device.revoked')).toMatchObject({ reason: 'theft', deviceId: body.device_id });
  });

  it('never revokes for a forged token that carries a real lineage', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true } });
    const body = await login(t);
    const t1 = await refresh(body.permanent_token);
    const t2 = await refresh(t1.body.permanent_token);
    t.clock.advance(60 * SECOND);
    const lineage = body.permanent_token.split('.')[0];
    for (const secret of ['A'.repeat(43), t2.body.permanent_token.split('.')[1].split('').reverse().join('')]) {
      const forged = await refresh(`${lineage}.${secret}`);
      expect(forged.status).toBe(400);
      expect(forged.body.message).not.toMatch(/stolen/);
    }
    expect(await t.devices()).toHaveLength(1);
    expect((await refresh(t2.body.permanent_token)).status).toBe(200);
  });

  it('keeps a device created before lineages working (old-format token), with the previous-token rule', async () => {
    t = await createTestApp({ options: { permanentTokenRotation: true } });
    const body = await login(t);
    // What the previous version stored: a 43-character token, no lineage, no rotations.
    const old = 'o'.repeat(43);
    await t.dataSource.getRepository(t.deviceEntity).update(body.device_id, { lineage: null, permanentTokenHash: createHash('sha256').update(old).digest('hex') });
    const first = await refresh(old);
    expect(first.status).toBe(200);
    expect(first.body.permanent_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await refresh(first.body.permanent_token);
    expect(second.status).toBe(200);
    t.clock.advance(60 * SECOND);
    expect((await refresh(old)).body.message).not.toMatch(/stolen/);
    expect(await t.devices()).toHaveLength(1);
    expect((await refresh(first.body.permanent_token)).body.message).toMatch(/stolen/);
    expect(await t.devices()).toHaveLength(0);
  });
});
