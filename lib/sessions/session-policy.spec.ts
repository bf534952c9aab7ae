import { describe, expect, it } from 'vitest';
import { DeviceKeys } from '../cache/device-keys.js';
import { LocalDeviceRevocations } from '../cache/device-revocations.js';
import {
  DeviceEvictedError,
  InvalidDeviceInputError,
  InvalidPermanentTokenError,
  InvalidTokenError,
  JwtDevicesError,
  LoginRevokedError,
  StalePermanentTokenError,
  StoreUnavailableError,
  PermanentTokenReusedError,
} from '../jwt-devices.errors.js';
import { DeviceEvents, type DeviceRevokedReason, type JwtDevicesEvent } from '../jwt-devices.events.js';
import type { JwtDevicesModuleOptions } from '../jwt-devices.options.js';
import { resolveJwtDevicesOptions } from '../jwt-devices.options-resolver.js';
import type { DeviceStore, StoredDevice } from '../store/device-store.js';
import { InMemoryDeviceStore } from '../store/in-memory-device.store.js';
import { deriveDeviceKey, deriveSuccessorToken, generatePermanentToken, hashPermanentToken } from '../tokens/device-secrets.js';
import { DeviceManagement, SIGN_OUT_BATCH } from './device-management.js';
import { LoginAttempt } from './login-attempt.js';
import { SessionPolicy } from './session-policy.js';

// The session rules over InMemoryDeviceStore: no database, no Nest app, explicit clocks.

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Defaults the tests rely on: permanentTokenExpiration '7d', accuracy '30m', deviceCacheTtl '5s', reuse interval '10s'. */
const EXPIRATION = 7 * DAY;
const ACCURACY = 30 * MINUTE;
const CACHE_TTL = 5 * SECOND;
const REUSE_INTERVAL = 10 * SECOND;
const T0 = Date.UTC(2026, 0, 1);
const PHONE = { name: 'Pixel 8', details: 'okhttp/4.12' };

type Overrides = Partial<Omit<JwtDevicesModuleOptions, 'jwtSecret' | 'users' | 'onEvent'>>;
type StoreMethod = keyof DeviceStore;

/**
 * The session rules wired by hand, as the module wires them, over an {@link InMemoryDeviceStore}
 * wrapped so that every store call is recorded (and can be preceded by a hook).
 */
function setup(overrides: Overrides = {}) {
  const memory = new InMemoryDeviceStore();
  /** Store methods called, in order; empty it with `calls.length = 0`. */
  const calls: StoreMethod[] = [];
  /** Runs before the named store method, e.g. to change the store under a request's feet. */
  const before: Partial<Record<StoreMethod, () => Promise<void>>> = {};
  const store = new Proxy(memory, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'all') return value;
      return async (...args: unknown[]) => {
        calls.push(property as StoreMethod);
        await before[property as StoreMethod]?.();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as DeviceStore;
  /** Users `findUser` no longer finds. */
  const goneUsers = new Set<string>();
  const events: JwtDevicesEvent[] = [];
  const options = resolveJwtDevicesOptions({
    jwtSecret: 'x'.repeat(32),
    users: { findUser: (id: string) => (goneUsers.has(id) ? null : { id }) },
    onEvent: (event) => {
      events.push(event);
    },
    ...overrides,
  });
  const keys = new DeviceKeys(options, new LocalDeviceRevocations());
  const policy = new SessionPolicy(options, store, keys, new DeviceEvents(options));
  const management = new DeviceManagement(options, store, policy);

  return {
    memory,
    calls,
    before,
    goneUsers,
    events,
    options,
    policy,
    management,
    open: (userId = 'alice', now = T0) => policy.open(userId, PHONE, now),
    refresh: (token: string | undefined, now: number) => policy.refresh(token, now, options.users.findUser),
    /** The stored row of a device, or `undefined` once deleted. */
    row: (id: number): StoredDevice | undefined => memory.all().find((device) => device.id === id),
    ids: (): number[] => memory.all().map(({ id }) => id),
    /** The `device.revoked` events so far, as `[deviceId, reason]`. */
    revoked: (): Array<[number, DeviceRevokedReason]> =>
      events.flatMap((event) => (event.type === 'device.revoked' ? [[event.deviceId, event.reason] as [number, DeviceRevokedReason]] : [])),
    types: (): string[] => events.map(({ type }) => type),
  };
}

describe('SessionPolicy.open', () => {
  it('creates a device that stores the hash of its permanent token, never the token', async () => {
    const h = setup();
    const { id, permanentToken, key } = await h.open('alice', T0);
    expect(permanentToken).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const rows = h.memory.all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id,
      userId: 'alice',
      permanentTokenHash: hashPermanentToken(permanentToken),
      previousTokenHash: null,
      created: new Date(T0),
      lastRequestDatetime: new Date(T0),
      rotatedAt: null,
    });
    expect(JSON.stringify(rows)).not.toContain(permanentToken);
    expect(key.equals(deriveDeviceKey(h.options.jwtSecret, rows[0]!.jwtSecret))).toBe(true);
    expect((await h.management.list('alice')).devices).toMatchObject([{ id, ...PHONE }]);
  });

  it('emits device.created with ids and name only', async () => {
    const h = setup();
    const { id, permanentToken } = await h.open('alice', T0);
    expect(h.events).toEqual([{ type: 'device.created', deviceId: id, userId: 'alice', at: new Date(T0), name: 'Pixel 8' }]);
    const text = JSON.stringify(h.events);
    expect(text).not.toContain(permanentToken);
    expect(text).not.toContain(h.row(id)!.jwtSecret);
    expect(text).not.toContain(h.row(id)!.permanentTokenHash);
  });

  it('gives every device its own permanent token and key', async () => {
    const h = setup();
    const [a, b] = [await h.open(), await h.open()];
    expect(a.id).not.toBe(b.id);
    expect(a.permanentToken).not.toBe(b.permanentToken);
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('without devicesPerUser, keeps every device and never lists the user\'s devices', async () => {
    const h = setup();
    for (let i = 0; i < 5; i++) await h.open('alice', T0 + i);
    expect(h.ids()).toHaveLength(5);
    expect(h.calls).toEqual(Array(5).fill(['insert', 'sinceRevoked']).flat());
    expect(h.revoked()).toEqual([]);
  });

  describe('a login whose credential check began before revokeAll() of its user (issue 12, item 5)', () => {
    it('gets LoginRevokedError and leaves no device; a login begun after the revocation, and other users, are unaffected', async () => {
      const h = setup();
      const before = new LoginAttempt();
      const bobs = new LoginAttempt();
      await h.open('alice', T0);
      expect(await h.management.revokeAll('alice', T0)).toBe(1);
      const after = new LoginAttempt();
      await expect(h.policy.open('alice', PHONE, T0, before)).rejects.toThrow(LoginRevokedError);
      expect(h.ids()).toEqual([]);
      expect(h.types().slice(-2)).toEqual(['device.created', 'device.revoked']);
      const fresh = await h.policy.open('alice', PHONE, T0, after);
      const bob = await h.policy.open('bob', PHONE, T0, bobs);
      expect(h.ids()).toEqual([fresh.id, bob.id]);
    });

    it('a login whose mark read or eviction read fails leaves no device behind (an orphan would outrank real devices under devicesPerUser)', async () => {
      const h = setup({ devicesPerUser: 2 });
      const real = await h.open('alice', T0);
      const failure = new StoreUnavailableError('the database is away');
      for (const method of ['sinceRevoked', 'idsOfUser'] as const) {
        h.before[method] = () => Promise.reject(failure);
        await expect(h.open('alice', T0)).rejects.toBe(failure);
        delete h.before[method];
        expect(h.ids()).toEqual([real.id]);
      }
      const next = await h.open('alice', T0);
      expect(h.ids()).toEqual([real.id, next.id]); // the real device was not evicted by orphans
    });

    it('revokeAll() marks the user before it deletes, so a login that read no mark has its device swept', async () => {
      const h = setup();
      h.calls.length = 0;
      await h.open('alice', T0); // insert, then no mark yet
      await h.management.revokeAll('alice', T0);
      expect(h.calls).toEqual(['insert', 'sinceRevoked', 'markRevoked', 'idsOfUser', 'delete']);
      expect(h.ids()).toEqual([]);
    });
  });
});

describe('devicesPerUser', () => {
  it('evicts the least recently used device beyond the limit, never the new one, and says so', async () => {
    const h = setup({ devicesPerUser: 2 });
    const bobs = await h.open('bob', T0);
    const a = await h.open('alice', T0);
    const b = await h.open('alice', T0 + MINUTE);
    await h.refresh(a.permanentToken, T0 + 40 * MINUTE); // a is now used more recently than b
    expect(h.row(a.id)!.lastRequestDatetime).toEqual(new Date(T0 + 40 * MINUTE));
    h.events.length = 0;

    const c = await h.open('alice', T0 + 50 * MINUTE);
    expect(h.ids().sort()).toEqual([bobs.id, a.id, c.id].sort());
    expect(h.events).toEqual([
      { type: 'device.created', deviceId: c.id, userId: 'alice', at: new Date(T0 + 50 * MINUTE), name: 'Pixel 8' },
      { type: 'device.revoked', deviceId: b.id, userId: 'alice', at: new Date(T0 + 50 * MINUTE), reason: 'evicted' },
    ]);
    await expect(h.policy.deviceForJwt(b.id, T0 + 50 * MINUTE)).rejects.toThrow(InvalidTokenError);
  });

  it('keeps the new device even when the clock puts it behind the others', async () => {
    const h = setup({ devicesPerUser: 2 });
    const a = await h.open('alice', T0 + 10 * MINUTE);
    const b = await h.open('alice', T0 + 20 * MINUTE);
    const late = await h.open('alice', T0); // the least recently used by its timestamp
    expect(h.ids().sort()).toEqual([b.id, late.id].sort());
    expect(h.revoked()).toEqual([[a.id, 'evicted']]);
  });

  it('with a limit of 1, a login signs out every other device of the user only', async () => {
    const h = setup({ devicesPerUser: 1 });
    const bobs = await h.open('bob', T0);
    await h.open('alice', T0);
    await h.open('alice', T0 + 1);
    const last = await h.open('alice', T0 + 2);
    expect(h.ids().sort()).toEqual([bobs.id, last.id].sort());
    expect(h.revoked().map(([, reason]) => reason)).toEqual(['evicted', 'evicted']);
  });
});

describe('SessionPolicy.deviceForJwt', () => {
  it('serves a device it just opened from its cache, with no store read', async () => {
    const h = setup();
    const { id, key } = await h.open('alice', T0);
    h.calls.length = 0;
    const device = await h.policy.deviceForJwt(id, T0 + SECOND);
    expect(device).toMatchObject({ id, userId: 'alice' });
    expect(device.key.equals(key)).toBe(true);
    expect(h.calls).toEqual([]);
  });

  it('caches a device it read: a second call makes no store read', async () => {
    const h = setup();
    const { id, key } = await h.open('alice', T0);
    h.calls.length = 0;
    const now = T0 + CACHE_TTL + SECOND; // the entry from open() is stale by now
    const first = await h.policy.deviceForJwt(id, now);
    expect(h.calls).toEqual(['findById']);
    const second = await h.policy.deviceForJwt(id, now + SECOND);
    expect(h.calls).toEqual(['findById']);
    expect(second).toBe(first);
    expect(second.key.equals(key)).toBe(true);
  });

  it('reads the store on every call when the cache is off', async () => {
    const h = setup({ deviceCacheTtl: 0 });
    const { id } = await h.open('alice', T0);
    h.calls.length = 0;
    await h.policy.deviceForJwt(id, T0);
    await h.policy.deviceForJwt(id, T0);
    expect(h.calls).toEqual(['findById', 'findById']);
  });

  it('refuses an id no device has with InvalidTokenError', async () => {
    const h = setup();
    await h.open('alice', T0);
    await expect(h.policy.deviceForJwt(999, T0)).rejects.toThrow(InvalidTokenError);
  });

  it('refuses a device idle past permanentTokenExpiration (and accepts it up to then)', async () => {
    const h = setup();
    const { id } = await h.open('alice', T0);
    await expect(h.policy.deviceForJwt(id, T0 + EXPIRATION)).resolves.toMatchObject({ id });
    await expect(h.policy.deviceForJwt(id, T0 + EXPIRATION + 1)).rejects.toThrow(InvalidTokenError);
  });

  it('refuses a device past permanentTokenMaxAge however recently it was used, cached or not', async () => {
    const h = setup({ permanentTokenMaxAge: '1d' });
    const { id, permanentToken } = await h.open('alice', T0);
    await h.refresh(permanentToken, T0 + 20 * HOUR); // used 4 hours before its end
    await expect(h.policy.deviceForJwt(id, T0 + DAY)).resolves.toMatchObject({ id }); // now cached
    h.calls.length = 0;
    await expect(h.policy.deviceForJwt(id, T0 + DAY + 1)).rejects.toThrow(InvalidTokenError);
    expect(h.calls).toEqual(['findById']); // the cached entry was not trusted
  });

  it('forgets a revoked device: the next call reads the store and refuses it', async () => {
    const h = setup();
    const { id } = await h.open('alice', T0);
    await h.policy.deviceForJwt(id, T0 + SECOND);
    expect(await h.management.revoke('alice', id, T0 + 2 * SECOND)).toBe(true);
    h.calls.length = 0;
    await expect(h.policy.deviceForJwt(id, T0 + 3 * SECOND)).rejects.toThrow(InvalidTokenError);
    expect(h.calls).toEqual(['findById']);
  });
});

describe('SessionPolicy.refresh', () => {
  it.each([undefined, ''])('refuses a missing permanent token (%j) without asking the store', async (token) => {
    const h = setup();
    await expect(h.refresh(token, T0)).rejects.toThrow(new InvalidPermanentTokenError('The Permanent-Token header is required.'));
    expect(h.calls).toEqual([]);
  });

  it('refuses a permanent token longer than 512 characters without asking the store', async () => {
    const h = setup();
    const { permanentToken } = await h.open('alice', T0);
    h.calls.length = 0;
    for (const token of ['a'.repeat(513), permanentToken + 'a'.repeat(513 - permanentToken.length)]) {
      const refused = h.refresh(token, T0);
      await expect(refused).rejects.toThrow(InvalidPermanentTokenError);
      await expect(refused).rejects.toThrow('Invalid permanent token.');
    }
    expect(h.calls).toEqual([]);
    await h.refresh('a'.repeat(512), T0).catch(() => undefined);
    expect(h.calls).toEqual(['findByTokenHash']); // 512 is still looked up
  });

  it('refuses an unknown permanent token, and deletes nothing', async () => {
    const h = setup();
    const { id } = await h.open('alice', T0);
    const refused = h.refresh(generatePermanentToken(), T0);
    await expect(refused).rejects.toThrow(new InvalidPermanentTokenError('Invalid permanent token.'));
    await expect(refused).rejects.not.toBeInstanceOf(PermanentTokenReusedError);
    expect(h.ids()).toEqual([id]);
    expect(h.revoked()).toEqual([]);
  });

  it('returns the device, its key and user, with no new permanent token, and emits device.refreshed', async () => {
    const h = setup();
    const { id, permanentToken, key } = await h.open('alice', T0);
    const refreshed = await h.refresh(permanentToken, T0 + MINUTE);
    expect(refreshed).toEqual({ user: { id: 'alice' }, id, userId: 'alice', key: expect.anything() });
    expect(refreshed.key.equals(key)).toBe(true);
    expect('permanentToken' in refreshed).toBe(false);
    expect(h.events.at(-1)).toEqual({ type: 'device.refreshed', deviceId: id, userId: 'alice', at: new Date(T0 + MINUTE) });
  });

  it('deletes a device idle past permanentTokenExpiration and says it expired', async () => {
    const h = setup();
    const { id, permanentToken } = await h.open('alice', T0);
    await expect(h.refresh(permanentToken, T0 + EXPIRATION)).resolves.toMatchObject({ id }); // alive at the bound, and slid
    const refused = h.refresh(permanentToken, T0 + 2 * EXPIRATION + 1);
    await expect(refused).rejects.toThrow(InvalidPermanentTokenError);
    await expect(refused).rejects.toThrow(/expired/);
    expect(h.row(id)).toBeUndefined();
    expect(h.revoked()).toEqual([[id, 'expired']]);
  });

  it('deletes a device past permanentTokenMaxAge however active, and says it expired', async () => {
    const h = setup({ permanentTokenMaxAge: '1d' });
    const { id, permanentToken } = await h.open('alice', T0);
    await h.refresh(permanentToken, T0 + 23 * HOUR);
    await expect(h.refresh(permanentToken, T0 + DAY + 1)).rejects.toThrow(/expired/);
    expect(h.row(id)).toBeUndefined();
    expect(h.revoked()).toEqual([[id, 'expired']]);
  });

  it('writes last_request_datetime only once per permanentTokenExpirationAccuracy', async () => {
    const h = setup();
    const { id, permanentToken } = await h.open('alice', T0);
    const touchesAt = async (now: number): Promise<number> => {
      h.calls.length = 0;
      await h.refresh(permanentToken, now);
      return h.calls.filter((call) => call === 'touch').length;
    };
    expect(await touchesAt(T0 + MINUTE)).toBe(0);
    expect(await touchesAt(T0 + ACCURACY)).toBe(0);
    expect(h.row(id)!.lastRequestDatetime).toEqual(new Date(T0));
    expect(await touchesAt(T0 + ACCURACY + 1)).toBe(1);
    expect(h.row(id)!.lastRequestDatetime).toEqual(new Date(T0 + ACCURACY + 1));
    expect(await touchesAt(T0 + 2 * ACCURACY)).toBe(0);
    expect(await touchesAt(T0 + 2 * ACCURACY + 2)).toBe(1);
    expect(h.row(id)!.lastRequestDatetime).toEqual(new Date(T0 + 2 * ACCURACY + 2));
  });

  it('slides the expiry: a device refreshed within permanentTokenExpiration lives on', async () => {
    const h = setup();
    const { id, permanentToken } = await h.open('alice', T0);
    await h.refresh(permanentToken, T0 + 6 * DAY);
    await h.refresh(permanentToken, T0 + 12 * DAY);
    await expect(h.policy.deviceForJwt(id, T0 + 18 * DAY)).resolves.toMatchObject({ id });
    await expect(h.policy.deviceForJwt(id, T0 + 19 * DAY + 1)).rejects.toThrow(InvalidTokenError);
  });

  it('deletes the device of a user findUser no longer finds, with reason user-gone', async () => {
    const h = setup();
    const { id, permanentToken } = await h.open('alice', T0);
    h.goneUsers.add('alice');
    await expect(h.refresh(permanentToken, T0 + MINUTE)).rejects.toThrow(
      new InvalidPermanentTokenError('The user of this permanent token no longer exists; the device was deleted.'),
    );
    expect(h.row(id)).toBeUndefined();
    expect(h.revoked()).toEqual([[id, 'user-gone']]);
    expect(h.types()).not.toContain('device.refreshed');
  });
});

describe('SessionPolicy.refresh with permanentTokenRotation', () => {
  const rotating = () => setup({ permanentTokenRotation: true });

  it('returns a successor, stores only hashes of it and of the token it replaced, and emits device.rotated', async () => {
    const h = rotating();
    const { id, permanentToken } = await h.open('alice', T0);
    h.events.length = 0;
    const { permanentToken: successor } = await h.refresh(permanentToken, T0 + MINUTE);
    expect(successor).toBeDefined();
    expect(successor).not.toBe(permanentToken);
    expect(successor).toBe(deriveSuccessorToken(h.options.jwtSecret, permanentToken));
    expect(h.row(id)).toMatchObject({
      permanentTokenHash: hashPermanentToken(successor!),
      previousTokenHash: hashPermanentToken(permanentToken),
      rotatedAt: new Date(T0 + MINUTE),
      lastRequestDatetime: new Date(T0 + MINUTE),
    });
    expect(JSON.stringify(h.memory.all())).not.toContain(successor);
    expect(h.types()).toEqual(['device.rotated', 'device.refreshed']);
    // The successor works, and rotates in turn.
    const next = await h.refresh(successor, T0 + 2 * MINUTE);
    expect(next.permanentToken).toBe(deriveSuccessorToken(h.options.jwtSecret, successor!));
  });

  it('answers the old token within permanentTokenReuseInterval with the same successor, rotating nothing', async () => {
    const h = rotating();
    const { id, permanentToken } = await h.open('alice', T0);
    const { permanentToken: successor } = await h.refresh(permanentToken, T0 + MINUTE);
    const stored = h.row(id);
    for (const now of [T0 + MINUTE + 1, T0 + MINUTE + REUSE_INTERVAL]) {
      expect((await h.refresh(permanentToken, now)).permanentToken).toBe(successor);
    }
    expect(h.row(id)).toEqual(stored);
    expect(h.types().filter((type) => type === 'device.rotated')).toHaveLength(1);
  });

  it('after the interval, takes the old token as stolen: deletes the device, reuse-detected then revoked (theft)', async () => {
    const h = rotating();
    const { id, permanentToken } = await h.open('alice', T0);
    const { permanentToken: successor } = await h.refresh(permanentToken, T0 + MINUTE);
    h.events.length = 0;
    const at = T0 + MINUTE + REUSE_INTERVAL + 1;
    await expect(h.refresh(permanentToken, at)).rejects.toThrow(PermanentTokenReusedError);
    expect(h.row(id)).toBeUndefined();
    expect(h.events).toEqual([
      { type: 'device.reuse-detected', deviceId: id, userId: 'alice', at: new Date(at) },
      { type: 'device.revoked', deviceId: id, userId: 'alice', at: new Date(at), reason: 'theft' },
    ]);
    // The thief's successor dies with the device, and so do its JWTs.
    await expect(h.refresh(successor, at + 1)).rejects.toThrow(InvalidPermanentTokenError);
    await expect(h.policy.deviceForJwt(id, at + 1)).rejects.toThrow(InvalidTokenError);
  });

  it('gives concurrent refreshes of one token the same successor, rotating once', async () => {
    const h = rotating();
    const { id, permanentToken } = await h.open('alice', T0);
    h.events.length = 0;
    const [a, b] = await Promise.all([h.refresh(permanentToken, T0 + MINUTE), h.refresh(permanentToken, T0 + MINUTE)]);
    expect(a.permanentToken).toBeDefined();
    expect(b.permanentToken).toBe(a.permanentToken);
    expect(h.calls.filter((call) => call === 'rotate')).toHaveLength(2); // the second lost the race…
    expect(h.types().filter((type) => type === 'device.rotated')).toHaveLength(1); // …and did not rotate again
    expect(h.row(id)!.permanentTokenHash).toBe(hashPermanentToken(a.permanentToken!));
  });

  /** Logs in at T0 and refreshes `times` times a minute apart. @returns the device id and every token, oldest first. */
  async function chain(h: ReturnType<typeof setup>, times: number) {
    const { id, permanentToken } = await h.open('alice', T0);
    const tokens = [permanentToken];
    for (let i = 1; i <= times; i++) tokens.push((await h.refresh(tokens.at(-1), T0 + i * MINUTE)).permanentToken!);
    return { id, tokens, last: T0 + times * MINUTE };
  }

  it('takes ANY retired token of the chain as stolen after the interval (T0 after two rotations): the device and its JWTs die', async () => {
    const h = rotating();
    const { id, tokens, last } = await chain(h, 2);
    expect(h.row(id)).toMatchObject({ rotations: 2, lineage: tokens[0]!.split('.')[0] });
    h.events.length = 0;
    const at = last + REUSE_INTERVAL + 1;
    await expect(h.refresh(tokens[0], at)).rejects.toThrow(PermanentTokenReusedError);
    expect(h.row(id)).toBeUndefined();
    expect(h.events).toEqual([
      { type: 'device.reuse-detected', deviceId: id, userId: 'alice', at: new Date(at) },
      { type: 'device.revoked', deviceId: id, userId: 'alice', at: new Date(at), reason: 'theft' },
    ]);
    await expect(h.refresh(tokens[2], at + 1)).rejects.toThrow(InvalidPermanentTokenError);
    await expect(h.policy.deviceForJwt(id, at + 1)).rejects.toThrow(InvalidTokenError);
  });

  it.each([1, 5, 50])('recognises the login token after %i rotations', async (times) => {
    const h = rotating();
    const { id, tokens, last } = await chain(h, times);
    await expect(h.refresh(tokens[0], last + REUSE_INTERVAL + 1)).rejects.toThrow(PermanentTokenReusedError);
    expect(h.row(id)).toBeUndefined();
  });

  it('within the interval of the last rotation, an older token gets a plain refusal (StalePermanentTokenError) and revokes nothing', async () => {
    const h = rotating();
    const { id, tokens, last } = await chain(h, 2);
    const refused = h.refresh(tokens[0], last + REUSE_INTERVAL);
    await expect(refused).rejects.toThrow(StalePermanentTokenError);
    await expect(refused).rejects.not.toThrow(PermanentTokenReusedError);
    // A forged token of the lineage is no stale one: plainly invalid.
    const forged = `${tokens[0]!.split('.')[0]}.${'A'.repeat(43)}`;
    const unknown = h.refresh(forged, last + REUSE_INTERVAL);
    await expect(unknown).rejects.toThrow(InvalidPermanentTokenError);
    await expect(unknown).rejects.not.toThrow(StalePermanentTokenError);
    expect(h.row(id)).toBeDefined();
  });

  it('never revokes for a forged token: a known lineage with a random secret, or a token that is not of the chain', async () => {
    const h = rotating();
    const { id, tokens, last } = await chain(h, 3);
    const lineage = tokens[0]!.split('.')[0]!;
    const at = last + HOUR;
    const forged = [
      `${lineage}.${generatePermanentToken().split('.')[1]}`,
      // A successor computed with another server secret: the right shape, the wrong chain.
      deriveSuccessorToken(Buffer.from('y'.repeat(32)), tokens[0]!),
      `${lineage}.${hashPermanentToken(tokens[3]!).slice(0, 43)}`,
    ];
    for (const token of forged) {
      const refused = h.refresh(token, at);
      await expect(refused).rejects.toThrow(InvalidPermanentTokenError);
      await expect(refused).rejects.not.toThrow(PermanentTokenReusedError);
    }
    expect(h.row(id)).toBeDefined();
    expect(h.types()).not.toContain('device.reuse-detected');
    expect((await h.refresh(tokens[3], at)).permanentToken).toBeDefined();
  });

  it('walks no further than the device rotated: a token of the chain that was never issued yet revokes nothing', async () => {
    const h = rotating();
    const { id, tokens, last } = await chain(h, 2);
    // Walking backwards is impossible, and a token ahead of the current one is not retired.
    const ahead = deriveSuccessorToken(h.options.jwtSecret, deriveSuccessorToken(h.options.jwtSecret, tokens[2]!));
    await expect(h.refresh(ahead, last + HOUR)).rejects.not.toThrow(PermanentTokenReusedError);
    expect(h.row(id)).toBeDefined();
  });

  it('keeps old-format tokens (no lineage) working, with the previous-token rule', async () => {
    const h = rotating();
    const old = generatePermanentToken().split('.')[1]!;
    const id = await h.memory.insert({ userId: 'alice', permanentTokenHash: hashPermanentToken(old), jwtSecret: 'ab'.repeat(32), ...PHONE, created: new Date(T0), lineage: null });
    const first = (await h.refresh(old, T0 + MINUTE)).permanentToken!;
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = (await h.refresh(first, T0 + 2 * MINUTE)).permanentToken!;
    expect(second).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Without a lineage only the previous token is recognised: the first one is just unknown.
    const refused = h.refresh(old, T0 + HOUR);
    await expect(refused).rejects.not.toThrow(PermanentTokenReusedError);
    await expect(h.refresh(first, T0 + HOUR)).rejects.toThrow(PermanentTokenReusedError);
    expect(h.row(id)).toBeUndefined();
  });
});

describe('DeviceManagement', () => {
  it('revoke deletes one of the user\'s devices, with reason logout', async () => {
    const h = setup();
    const { id } = await h.open('alice', T0);
    const other = await h.open('alice', T0);
    expect(await h.management.revoke('alice', id, T0 + MINUTE)).toBe(true);
    expect(h.ids()).toEqual([other.id]);
    expect(h.revoked()).toEqual([[id, 'logout']]);
    expect(await h.management.revoke('alice', id, T0 + MINUTE)).toBe(false);
  });

  it('revoke leaves another user\'s device alone', async () => {
    const h = setup();
    const { id, key } = await h.open('alice', T0);
    expect(await h.management.revoke('bob', id, T0 + MINUTE)).toBe(false);
    expect(h.ids()).toEqual([id]);
    expect(h.revoked()).toEqual([]);
    const device = await h.policy.deviceForJwt(id, T0 + MINUTE);
    expect(device.key.equals(key)).toBe(true);
  });

  it.each([0, -1, 1.5, Number.POSITIVE_INFINITY, Number.NaN])('revoke of id %d answers false without asking the store', async (id) => {
    const h = setup();
    expect(await h.management.revoke('alice', id, T0)).toBe(false);
    expect(h.calls).toEqual([]);
  });

  it('revokeAllBut deletes every device of the user but the one kept, with reason signed-out', async () => {
    const h = setup();
    const a = await h.open('alice', T0);
    const kept = await h.open('alice', T0 + 1);
    const c = await h.open('alice', T0 + 2);
    const bobs = await h.open('bob', T0);
    expect(await h.management.revokeAllBut('alice', kept.id, T0 + MINUTE)).toBe(2);
    expect(h.ids().sort()).toEqual([kept.id, bobs.id].sort());
    expect(h.revoked().sort()).toEqual(
      [
        [a.id, 'signed-out'],
        [c.id, 'signed-out'],
      ].sort(),
    );
    await expect(h.policy.deviceForJwt(kept.id, T0 + MINUTE)).resolves.toMatchObject({ id: kept.id });

    expect(await h.management.revokeAllBut('alice', null, T0 + 2 * MINUTE)).toBe(1);
    expect(h.ids()).toEqual([bobs.id]);
  });

  it(`revokeAllBut works in rounds (of ${SIGN_OUT_BATCH} ids; 4 here), never reading every id at once`, async () => {
    const h = setup();
    const batchSize = 4;
    (h.management as unknown as { signOutBatch: number }).signOutBatch = batchSize;
    const count = 2 * batchSize + 3;
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const hash = i.toString(16).padStart(64, '0');
      ids.push(await h.memory.insert({ userId: 'alice', permanentTokenHash: hash, jwtSecret: 'ab'.repeat(32), ...PHONE, created: new Date(T0 + i), lineage: null }));
    }
    const bobs = await h.open('bob', T0);
    const kept = ids[count - batchSize - 2]!; // in the middle of a round
    const reads: Array<number | undefined> = [];
    const deletes: number[] = [];
    const { idsOfUser, delete: remove } = h.memory;
    h.memory.idsOfUser = (userId, limit) => (reads.push(limit), idsOfUser.call(h.memory, userId, limit));
    h.memory.delete = (batch, filter) => (deletes.push(batch.length), remove.call(h.memory, batch, filter));
    expect(await h.management.revokeAllBut('alice', kept, T0 + DAY)).toBe(count - 1);
    expect(h.ids().sort((a, b) => a - b)).toEqual([kept, bobs.id]);
    expect(reads.every((limit) => limit !== undefined && limit <= batchSize + 1)).toBe(true);
    expect(deletes.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...deletes)).toBeLessThanOrEqual(batchSize);
    expect(h.revoked()).toHaveLength(count - 1);
  });

  it('revokeAllBut cannot keep or touch another user\'s device', async () => {
    const h = setup();
    const bobs = await h.open('bob', T0);
    const alices = await h.open('alice', T0);
    expect(await h.management.revokeAllBut('alice', bobs.id, T0 + MINUTE)).toBe(1);
    expect(h.ids()).toEqual([bobs.id]);
    expect(h.revoked()).toEqual([[alices.id, 'signed-out']]);
  });

  describe('purgeExpired', () => {
    /** Five devices idle since the first minutes after T0, two in use, one exactly at the cutoff. */
    async function population() {
      const h = setup();
      const idle: number[] = [];
      for (let i = 0; i < 5; i++) idle.push((await h.open(i % 2 ? 'bob' : 'alice', T0 + i * MINUTE)).id);
      const atCutoff = (await h.open('alice', T0 + 10 * MINUTE)).id;
      const active = [(await h.open('alice', T0 + 5 * DAY)).id, (await h.open('bob', T0 + 6 * DAY)).id];
      h.calls.length = 0;
      h.events.length = 0;
      return { h, idle, atCutoff, active, now: T0 + 10 * MINUTE + EXPIRATION };
    }

    it('deletes only devices idle past permanentTokenExpiration, batchSize per statement, with reason expired', async () => {
      const { h, idle, atCutoff, active, now } = await population();
      expect(await h.management.purgeExpired(now, 2, Number.POSITIVE_INFINITY)).toBe(5);
      expect(h.ids().sort()).toEqual([atCutoff, ...active].sort());
      expect(h.calls).toEqual(['findIdle', 'delete', 'findIdle', 'delete', 'findIdle', 'delete']);
      expect(h.revoked().sort()).toEqual(idle.map((id) => [id, 'expired']).sort());
    });

    it('stops after maxBatches, having deleted the least recently used first', async () => {
      const { h, idle, now } = await population();
      expect(await h.management.purgeExpired(now, 2, 2)).toBe(4);
      expect(h.ids()).toContain(idle[4]);
      for (const id of idle.slice(0, 4)) expect(h.ids()).not.toContain(id);
      expect(h.calls.filter((call) => call === 'findIdle')).toHaveLength(2);
    });

    it('deletes nothing when no device is idle', async () => {
      const { h } = await population();
      expect(await h.management.purgeExpired(T0 + EXPIRATION, 10, Number.POSITIVE_INFINITY)).toBe(0);
      expect(h.ids()).toHaveLength(8);
      expect(h.calls).toEqual(['findIdle']);
      expect(h.revoked()).toEqual([]);
    });

    it.each([0, -1, 1.5, Number.NaN])('refuses a batchSize of %d', async (batchSize) => {
      const { h, now } = await population();
      await expect(h.management.purgeExpired(now, batchSize, 1)).rejects.toThrow(JwtDevicesError);
      expect(h.calls).toEqual([]);
    });

    // A device used again between findIdle and the delete is kept by the delete's filter: no event for it.
    it('reports device.revoked only for the devices it deleted', async () => {
      const { h, idle, now } = await population();
      h.before.delete = async () => {
        await h.memory.touch(idle[0]!, new Date(now), new Date(now)); // used again meanwhile
      };
      expect(await h.management.purgeExpired(now, 10, 1)).toBe(4);
      expect(h.ids()).toContain(idle[0]);
      expect(h.revoked().map(([id]) => id)).not.toContain(idle[0]);
    });
  });

  describe('rename', () => {
    it('renames one of the user\'s devices, cleaning the name', async () => {
      const h = setup();
      const { id } = await h.open('alice', T0);
      expect(await h.management.rename('alice', id, '  Work\u200b phone\u0000 ')).toMatchObject({ id, name: 'Work phone' });
      expect((await h.management.list('alice')).devices).toMatchObject([{ id, name: 'Work phone' }]);
    });

    it('leaves another user\'s device alone', async () => {
      const h = setup();
      const { id } = await h.open('alice', T0);
      expect(await h.management.rename('bob', id, 'Mine now')).toBeUndefined();
      expect((await h.management.list('alice')).devices).toMatchObject([{ id, name: PHONE.name }]);
    });

    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['only invisible characters', '\u200b\u0000\u202e'],
      ['256 characters', 'n'.repeat(256)],
    ])('refuses a name that is %s', async (_label, name) => {
      const h = setup();
      const { id } = await h.open('alice', T0);
      await expect(h.management.rename('alice', id, name)).rejects.toThrow(InvalidDeviceInputError);
      expect((await h.management.list('alice')).devices).toMatchObject([{ id, name: PHONE.name }]);
    });

    it('accepts 255 characters', async () => {
      const h = setup();
      const { id } = await h.open('alice', T0);
      expect(await h.management.rename('alice', id, 'n'.repeat(255))).toMatchObject({ name: 'n'.repeat(255) });
    });
  });
});

describe('security round 2', () => {
  it('parallel logins with devicesPerUser: 1 agree: the later one stays, the earlier is refused, never two dead tokens', async () => {
    const h = setup({ devicesPerUser: 1 });
    // Both rows exist before either login evicts (the race the store cannot order for us).
    let release!: () => void;
    const bothInserted = new Promise<void>((resolve) => (release = resolve));
    let inserts = 0;
    h.before.idsOfUser = async () => {
      if (++inserts === 2) release();
      await bothInserted;
    };
    const outcomes = await Promise.allSettled([h.open('alice', T0), h.open('alice', T0)]);
    const opened = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(opened).toHaveLength(1);
    expect(refused).toEqual([expect.any(DeviceEvictedError)]);
    expect(h.ids()).toEqual([opened[0]!.id]);
  });

  it('a device read from the store is cached only after admit() accepted its key', async () => {
    const h = setup();
    const { id } = await h.open('alice', T0);
    const later = T0 + 10 * SECOND; // past the cache's TTL: the row is read again
    h.calls.length = 0;
    await expect(
      h.policy.deviceForJwt(id, later, () => {
        throw new InvalidTokenError('forged');
      }),
    ).rejects.toThrow('forged');
    await h.policy.deviceForJwt(id, later);
    expect(h.calls).toEqual(['findById', 'findById']); // the refused read cached nothing
    h.calls.length = 0;
    await h.policy.deviceForJwt(id, later + SECOND);
    expect(h.calls).toEqual([]);
  });

  it('signing out someone else’s device has no effect: no delete, no event, nothing forgotten or published', async () => {
    const published: number[][] = [];
    const options = resolveJwtDevicesOptions({ jwtSecret: 'x'.repeat(32), users: { findUser: (id: string) => ({ id }) } });
    const store = new InMemoryDeviceStore();
    const keys = new DeviceKeys(options, { publish: (ids) => void published.push([...ids]), subscribe: () => undefined });
    const policy = new SessionPolicy(options, store, keys, new DeviceEvents(options));
    const bobs = await policy.open('bob', PHONE, T0);
    expect(await policy.remove([{ id: bobs.id, userId: 'bob' }], { userId: 'alice' }, 'logout', T0)).toBe(0);
    expect(published).toEqual([]);
    expect(keys.get(bobs.id, T0)).toBeDefined();
    expect(await policy.remove([{ id: bobs.id, userId: 'bob' }], { userId: 'bob' }, 'logout', T0)).toBe(1);
    expect(published).toEqual([[bobs.id]]);
    expect(keys.get(bobs.id, T0)).toBeUndefined();
  });
});
