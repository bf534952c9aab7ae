import { afterEach, describe, expect, it } from 'vitest';
import type { JwtDevicesUsers } from '../lib/index.js';
import { insertDevices } from './support/bulk-devices.js';
import { currentDatabaseKind } from './support/databases.js';
import { createTestApp, login, type TestApp } from './support/test-app.js';

/** Issue 12, "Security round 2": the store-level items (byte-exact user ids, bounded sign-outs) on a real database. */

let t: TestApp;
afterEach(() => t?.close());

const jwt = (token: string) => ({ Authorization: `JWT ${token}` });

/** Users whose ids are strings that differ only by trailing spaces (or only by case). */
function stringIdUsers(ids: string[]): JwtDevicesUsers<{ id: string; username: string }> {
  const users = ids.map((id, i) => ({ id, username: `user${i}`, password: `password${i}` }));
  return {
    validateUser: (username, password) => users.find((user) => user.username === username && user.password === password),
    findUser: (id) => users.find((user) => user.id === id),
    getUserId: (user) => user.id,
  };
}

describe('user ids compare byte for byte (MySQL/MariaDB: NO PAD binary collation)', () => {
  it('"bob " neither lists, renames nor signs out the devices of "bob"', async () => {
    t = await createTestApp({ options: { users: stringIdUsers(['bob', 'bob ', 'Bob']) } });
    const bob = await login(t, { username: 'user0', password: 'password0' });
    const spaced = await login(t, { username: 'user1', password: 'password1' });
    const capital = await login(t, { username: 'user2', password: 'password2' });

    const listed = await t.http.get('/devices/').set(jwt(spaced.token));
    expect(listed.body.map((device: { id: number }) => device.id)).toEqual([spaced.device_id]);
    expect((await t.http.patch(`/devices/${bob.device_id}/`).set(jwt(spaced.token)).send({ name: 'mine' })).status).toBe(404);
    expect((await t.http.delete(`/devices/${bob.device_id}/`).set(jwt(spaced.token))).status).toBe(404);
    expect((await t.http.delete('/devices/others/').set(jwt(spaced.token))).status).toBe(204);
    expect((await t.http.delete('/devices/').set(jwt(spaced.token))).status).toBe(204);

    expect((await t.devices()).map(({ id, userId }) => [id, userId])).toEqual([
      [bob.device_id, 'bob'],
      [capital.device_id, 'Bob'],
    ]);
    expect((await t.http.get('/devices/').set(jwt(bob.token))).body).toMatchObject([{ id: bob.device_id, name: expect.not.stringMatching(/^mine$/) }]);
  });
});

describe('bounded per-user work', () => {
  it('signs out the others of 70,000 devices of one user (past PostgreSQL\'s 65,535 bind parameters), in rounds', { timeout: 300_000 }, async () => {
    t = await createTestApp();
    const repository = t.dataSource.getRepository(t.deviceEntity);
    await insertDevices(t, '1', 70_000);
    const caller = await login(t);
    const bob = await login(t, { username: 'bob', password: 'bob-password' });
    expect((await t.http.delete('/devices/others/').set(jwt(caller.token))).status).toBe(204);
    expect(await repository.count()).toBe(2);
    expect((await t.http.get('/me').set(jwt(caller.token))).status).toBe(200);
    expect((await t.http.get('/me').set(jwt(bob.token))).status).toBe(200);
  });

  // Issue 12, item 2's "done when": 100,000 devices of one user, rows inserted directly.
  it.runIf(currentDatabaseKind() === 'postgres')('a user with 100,000 devices gets a bounded device list (one page, a Link to the next) and signs out every other device', { timeout: 300_000 }, async () => {
    t = await createTestApp();
    await insertDevices(t, '1', 100_000);
    const caller = await login(t);
    const started = performance.now();
    const first = await t.http.get('/devices/').set(jwt(caller.token)).expect(200);
    const elapsed = performance.now() - started;
    expect(first.body).toHaveLength(100);
    expect(first.text.length).toBeLessThan(100 * 300);
    expect(first.headers.link).toMatch(/^<\/devices\/\?after=\d+>; rel="next"$/);
    const next = first.headers.link.match(/<([^>]+)>/)![1];
    const second = await t.http.get(next).set(jwt(caller.token)).expect(200);
    expect(second.body).toHaveLength(100);
    expect(second.body[0].id).toBeGreaterThan(first.body[99].id);
    const last = await t.http.get(`/devices/?after=${caller.device_id - 1}`).set(jwt(caller.token)).expect(200);
    expect(last.body).toEqual([expect.objectContaining({ id: caller.device_id, current: true })]);
    expect(last.headers.link).toBeUndefined();
    expect(elapsed).toBeLessThan(5_000);

    expect((await t.http.delete('/devices/others/').set(jwt(caller.token))).status).toBe(204);
    expect(await t.dataSource.getRepository(t.deviceEntity).count()).toBe(1);
    expect((await t.http.get('/devices/').set(jwt(caller.token)).expect(200)).body).toEqual([expect.objectContaining({ id: caller.device_id })]);
  });
});
