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

/**
 * A bounded, least-recently-used map of device id → {@link CachedDevice}. A warm device costs the JWT
 * guard no query and no key derivation. Entries live at most `ttlMs` (so a device revoked on another
 * instance is refused within that bound) and are dropped at once when this instance revokes, expires
 * or changes the device. A `Map` keeps insertion order, so re-inserting on use makes the first key the
 * least recently used one.
 */
export class DeviceCache {
  private readonly entries = new Map<number, CachedDevice>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  /** The fresh entry of a device, or `undefined` (absent or stale). */
  get(id: number, now: number): CachedDevice | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.entries.delete(id);
    if (entry.staleAt <= now) return undefined;
    this.entries.set(id, entry);
    return entry;
  }

  /** Caches a device just read or created; a no-op when caching is off. */
  set(device: Omit<CachedDevice, 'staleAt'>, now: number): CachedDevice {
    const { id } = device;
    const entry: CachedDevice = { ...device, staleAt: now + this.ttlMs };
    if (this.maxEntries === 0 || this.ttlMs === 0) return entry;
    this.entries.delete(id);
    this.entries.set(id, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** Forgets a device: the next request for it reads the database. */
  delete(id: number): void {
    this.entries.delete(id);
  }

  /** Forgets every device of `userId` but `keep` (after a sign-out of many devices). */
  deleteUser(userId: string, keep: number | null = null): void {
    for (const [id, entry] of this.entries) if (entry.userId === userId && id !== keep) this.entries.delete(id);
  }

  /** Forgets every device. */
  clear(): void {
    this.entries.clear();
  }

  /** Number of devices held. */
  get size(): number {
    return this.entries.size;
  }
}
