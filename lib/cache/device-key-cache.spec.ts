import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeviceCache } from './device-key-cache.js';

const key = createSecretKey(Buffer.alloc(32, 1));
const device = (id: number, userId = 'u') => ({ id, userId, key, lastRequestMs: 0, createdMs: 0 });

describe('DeviceCache', () => {
  it('keeps an entry until its TTL, then reads as missing', () => {
    const cache = new DeviceCache(10, 1_000);
    cache.set(device(1), 0, cache.ticket());
    expect(cache.get(1, 999)?.id).toBe(1);
    expect(cache.get(1, 1_000)).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its size', () => {
    const cache = new DeviceCache(2, 1_000);
    cache.set(device(1), 0, cache.ticket());
    cache.set(device(2), 0, cache.ticket());
    cache.get(1, 0); // 2 is now the least recently used
    cache.set(device(3), 0, cache.ticket());
    expect([1, 2, 3].map((id) => cache.get(id, 0)?.id)).toEqual([1, undefined, 3]);
    expect(cache.size).toBe(2);
  });

  it('refuses a device revoked after the ticket of the read that found it', () => {
    const cache = new DeviceCache(10, 1_000);
    const ticket = cache.ticket(); // a read begins
    cache.revoke(1); // the device is revoked meanwhile
    expect(cache.set(device(1), 0, ticket)).toBeUndefined();
    expect(cache.get(1, 0)).toBeUndefined();
    // A read that began after the revocation (it would not find the row) is not refused by it.
    expect(cache.set(device(1), 0, cache.ticket())?.id).toBe(1);
  });

  it('after clear(), serves reads that began before it without keeping them', () => {
    const cache = new DeviceCache(10, 1_000);
    const before = cache.ticket();
    cache.clear();
    expect(cache.set(device(1), 0, before)?.id).toBe(1);
    expect(cache.get(1, 0)).toBeUndefined();
    cache.set(device(1), 0, cache.ticket());
    expect(cache.get(1, 0)?.id).toBe(1);
  });

  it('keeps nothing when its size or TTL is 0, but still answers', () => {
    for (const cache of [new DeviceCache(0, 1_000), new DeviceCache(10, 0)]) {
      expect(cache.set(device(1), 0, cache.ticket())?.id).toBe(1);
      expect(cache.get(1, 0)).toBeUndefined();
    }
  });

  it('bounds its tombstones; reads older than the oldest forgotten one are served but not kept', () => {
    const cache = new DeviceCache(10, 1_000);
    const old = cache.ticket();
    for (let id = 100; id < 100 + 10_001; id++) cache.revoke(id);
    expect(cache.set(device(1), 0, old)?.id).toBe(1);
    expect(cache.get(1, 0)).toBeUndefined();
    expect(cache.set(device(100 + 10_000), 0, old)).toBeUndefined();
  });
});
