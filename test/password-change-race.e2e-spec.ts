import { afterEach, describe, expect, it } from 'vitest';
import { DevicesService, type JwtDevicesUsers, LoginRevokedError } from '../lib/index.js';
import { createTestDatabase, currentDatabaseKind, type TestDatabase } from './support/databases.js';
import { ALICE, createTestApp, login, type TestApp } from './support/test-app.js';
import { type TestUser, TestUsers } from './support/users.js';

/**
 * Issue 12, item 5: a login whose credentials were checked (with the old password) just before
 * `revokeAllForUser()` must not create a device that outlives the sweep, whichever instance serves
 * which. Two app instances share one database (on SQLite, a file); the login's credential check is held
 * open until the other instance has revoked, so the interleaving is the bad one every time.
 */

const kind = currentDatabaseKind();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh database that several DataSources open one after the other (on SQLite, a file), dropped after the test. */
async function sharedDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase(kind, { shared: true });
  cleanups.push(() => database.drop());
  return database;
}

/** The app's users, whose credential check can be held open: `hold()` makes the next check wait until `release()`. */
class HeldUsers implements JwtDevicesUsers<TestUser> {
  private readonly users = new TestUsers();
  private held: { started: () => void; release: Promise<void> } | undefined;

  /** Holds the next credential check; resolves once it has started, with the function that lets it finish. */
  hold(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    return new Promise((started) => {
      this.held = { started: () => started(release), release: released };
    });
  }

  findUser(userId: string): TestUser | undefined {
    return this.users.findUser(userId);
  }

  async validateUser(username: string, password: string): Promise<TestUser | undefined> {
    const user = this.users.validateUser(username, password); // checked now, with the password of now
    const held = this.held;
    this.held = undefined;
    if (held) {
      held.started();
      await held.release;
    }
    return user;
  }
}

async function twoInstances(): Promise<{ a: TestApp; b: TestApp; users: HeldUsers }> {
  const database = await sharedDatabase();
  const users = new HeldUsers();
  const a = await createTestApp({ sharedDatabase: database, options: { users } });
  cleanups.push(() => a.close());
  const b = await createTestApp({ sharedDatabase: database });
  cleanups.push(() => b.close());
  return { a, b, users };
}

const auth = (token: string) => ({ Authorization: `JWT ${token}` });

describe(`a login racing revokeAllForUser() across two instances (${kind})`, () => {
  it('a login checked before the revocation on the other instance gets 409 and leaves no device; the next login works', async () => {
    const { a, b, users } = await twoInstances();
    const earlier = await login(a);
    const started = users.hold();
    const racing = a.http.post('/auth-token/').send(ALICE).then((response) => response);
    const release = await started; // alice's old password has just been checked on A…
    expect(await b.app.get(DevicesService).revokeAllForUser(1)).toBe(1); // …and B signs her out everywhere
    release();
    const response = await racing;
    expect(response.status).toBe(409);
    expect(response.body.message).toMatch(/revoked while this login was being checked/);
    expect(response.body).not.toHaveProperty('token');
    expect(await a.devices()).toEqual([]);
    expect((await b.http.get('/me').set(auth(earlier.token))).status).toBe(401); // (A trusts its cache for deviceCacheTtl)

    const next = await login(a); // began after the revocation
    expect((await b.http.get('/me').set(auth(next.token))).status).toBe(200);
    expect((await a.devices()).map(({ id }) => id)).toEqual([next.device_id]);
  });

  it('the same over HTTP: DELETE /devices/ on the other instance while the check is held gives the login 409 and no device', async () => {
    const { a, b, users } = await twoInstances();
    const signedIn = await login(b);
    const started = users.hold();
    const racing = a.http.post('/auth-token/').send(ALICE).then((response) => response);
    const release = await started;
    expect((await b.http.delete('/devices/').set(auth(signedIn.token))).status).toBe(204);
    release();
    const response = await racing;
    expect(response.status).toBe(409);
    expect(response.body).not.toHaveProperty('token');
    expect(await a.devices()).toEqual([]);
    expect((await a.http.get('/me').set(auth(signedIn.token))).status).toBe(401);
  });

  it('ten rounds, the held check released just before or just after the other instance revokes: no login keeps a device', async () => {
    const { a, b, users } = await twoInstances();
    let refused = 0;
    for (let round = 0; round < 10; round++) {
      const started = users.hold();
      const racing = a.http.post('/auth-token/').send(ALICE).then((response) => response);
      const release = await started;
      if (round % 2) setTimeout(release, 0);
      const revoking = b.app.get(DevicesService).revokeAllForUser('1');
      if (!(round % 2)) release();
      await revoking;
      const response = await racing;
      expect(await a.devices(), `round ${round}`).toEqual([]);
      if (response.status === 200) {
        // Released before B's mark was written, the login read no newer mark and answered; B's sweep,
        // which follows its mark, then removed the device: its JWT is refused (on A within deviceCacheTtl).
        expect((await b.http.get('/me').set(auth(response.body.token))).status, `round ${round}`).toBe(401);
      } else {
        expect(response.status, `round ${round}`).toBe(409);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0); // the mark check itself refuses (without it every round answers 200)
  });

  it('DevicesService.issue() with a loginAttempt() taken before the revocation refuses; issue() after revokeAllForUser() (the password-change flow) succeeds', async () => {
    const { a, b } = await twoInstances();
    const service = a.app.get(DevicesService);
    const attempt = service.loginAttempt();
    await b.app.get(DevicesService).revokeAllForUser(1);
    await expect(service.issue({ id: 1, username: 'alice' }, undefined, { attempt })).rejects.toThrow(LoginRevokedError);
    expect(await a.devices()).toEqual([]);

    for (let round = 0; round < 5; round++) {
      await service.revokeAllForUser(1); // this instance, then at once:
      const issued = (await service.issue({ id: 1, username: 'alice' })) as { token: string };
      expect((await b.http.get('/me').set(auth(issued.token))).status, `round ${round}`).toBe(200);
    }
  });

  it('another user’s revocation does not refuse this user’s login', async () => {
    const { a, b, users } = await twoInstances();
    const started = users.hold();
    const racing = a.http.post('/auth-token/').send(ALICE).then((response) => response);
    const release = await started;
    await b.app.get(DevicesService).revokeAllForUser(2);
    release();
    expect((await racing).status).toBe(200);
  });
});
