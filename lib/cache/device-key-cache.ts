import type { KeyObject } from 'node:crypto';

/** What the JWT guard needs to know of a device, kept in memory between requests. */
export interface CachedDevice {
  readonly id: number;
  readonly userId: string;
  /** The device's JWT signing key, derived once. */
  readonly key: KeyObject;
  /** `last_request_datetime` in ms, for the expiry check; moved forward when this instance writes it. */
  lastRequestMs: number;
  /** `created` in ms, for `permanentTokenMaxAge`. */
  readonly createdMs: number;
  /** When this entry stops being trusted and the row is read again (the staleness bound). */
  readonly staleAt: number;
}

/** A JWT already verified on this instance, so its next use skips decoding and the HMAC. */
export interface VerifiedToken {
  /** The device it belongs to; `null` for a plain JWT. */
  readonly deviceId: number | null;
  readonly userId: string;
  /**
   * The key it was verified with. Keys are kept per device and secret (see `DeviceKeys.keyOf`), so the
   * device's key, cached or freshly read, is this very object while its secret is unchanged.
   */
  readonly key: KeyObject;
  /** `exp` and `nbf` in ms. */
  readonly expiresMs: number;
  readonly notBeforeMs: number;
}

/** A device's signing key, with the secret it was derived from (a row with another secret needs another key). */
interface DerivedKey {
  readonly secret: string;
  readonly key: KeyObject;
}

/** A `Map` that keeps at most `max` entries, dropping the least recently used. */
export class BoundedLru<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.max === 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Most revocations remembered for in-flight reads; older ones make every older read uncacheable. */
const MAX_TOMBSTONES = 10_000;

/**
 * Fewest verified JWTs, and fewest devices' derived keys, an instance remembers, also with the device
 * cache off: they spare HMACs, never a read, so they cannot hide a revoked device.
 */
export const MIN_REMEMBERED = 10_000;

/**
 * A bounded, least-recently-used map of device id → {@link CachedDevice}. A warm device costs the JWT
 * guard no query and no key derivation. Entries live at most `ttlMs` (so a device revoked on another
 * instance is refused within that bound) and are dropped at once when a device is revoked. A `Map`
 * keeps insertion order, so re-inserting on use makes the first key the least recently used one.
 *
 * A read of a device row that began before the device was revoked must not put it back: callers take
 * a {@link ticket} before reading and pass it to {@link set}, which refuses devices revoked since.
 */
export class DeviceCache {
  private readonly entries: BoundedLru<number, CachedDevice>;
  /**
   * JWTs verified on this instance. One is only as good as its device: the cached entry, or with the
   * cache off (or stale) a fresh read of the row, must still hold the key it was verified with.
   */
  private readonly tokens: BoundedLru<string, VerifiedToken>;
  /** Device id → its derived key (see `DeviceKeys.keyOf`); dropped when the device is revoked. */
  private readonly keys: BoundedLru<number, DerivedKey>;
  /** Device id → sequence number of its revocation, for reads still in flight. */
  private readonly tombstones = new Map<number, number>();
  private sequence = 0;
  /** Reads with a ticket below this cannot be checked any more (tombstones dropped, or a clear). */
  private floor = 0;

  constructor(
    maxEntries: number,
    private readonly ttlMs: number,
  ) {
    const remembered = Math.max(maxEntries, MIN_REMEMBERED);
    this.entries = new BoundedLru(ttlMs === 0 ? 0 : maxEntries);
    this.tokens = new BoundedLru(remembered);
    this.keys = new BoundedLru(remembered);
  }

  /** The fresh entry of a device, or `undefined` (absent or stale). */
  get(id: number, now: number): CachedDevice | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.staleAt > now) return entry;
    this.entries.delete(id);
    return undefined;
  }

  /** Taken before reading a device row; see {@link set}. */
  ticket(): number {
    return this.sequence;
  }

  /**
   * Caches a device read (or created) after `ticket` was taken.
   * @returns the entry, or `undefined` when the device was revoked since the ticket: the row that was
   * read is out of date and the caller must treat the device as gone. After a {@link clear} the entry
   * serves the request at hand but is not kept, since what was missed is unknown.
   */
  set(device: Omit<CachedDevice, 'staleAt'>, now: number, ticket: number): CachedDevice | undefined {
    if ((this.tombstones.get(device.id) ?? -1) > ticket) return undefined;
    const entry: CachedDevice = { ...device, staleAt: now + this.ttlMs };
    if (ticket >= this.floor) this.entries.set(device.id, entry);
    return entry;
  }

  /** The key kept for a device while its secret is `secret`, or `undefined`. */
  keptKey(id: number, secret: string): KeyObject | undefined {
    const kept = this.keys.get(id);
    return kept !== undefined && kept.secret === secret ? kept.key : undefined;
  }

  /** Keeps a device's key, derived from `secret`, until the device is revoked or other keys push it out. */
  keepKey(id: number, secret: string, key: KeyObject): void {
    this.keys.set(id, { secret, key });
  }

  /** A JWT verified on this instance before, or `undefined`. */
  knownToken(token: string): VerifiedToken | undefined {
    return this.tokens.get(token);
  }

  /** Remembers a verified JWT, tied to the key it was verified with. */
  rememberToken(token: string, verified: VerifiedToken): void {
    this.tokens.set(token, verified);
  }

  /** Forgets a revoked device, and keeps reads that began earlier from caching it again. */
  revoke(id: number): void {
    this.entries.delete(id);
    this.keys.delete(id);
    this.tombstones.delete(id);
    this.tombstones.set(id, ++this.sequence);
    if (this.tombstones.size > MAX_TOMBSTONES) {
      const [oldest, revokedAt] = this.tombstones.entries().next().value!;
      this.tombstones.delete(oldest);
      this.floor = revokedAt;
    }
  }

  /** Forgets every device (after revocations may have been missed), in-flight reads included. */
  clear(): void {
    this.entries.clear();
    this.tokens.clear();
    this.keys.clear();
    this.tombstones.clear();
    this.floor = ++this.sequence;
  }

  /** Number of devices held. */
  get size(): number {
    return this.entries.size;
  }
}
