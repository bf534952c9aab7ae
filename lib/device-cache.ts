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

/** Most revocations remembered for in-flight reads; older ones make every older read uncacheable. */
const MAX_TOMBSTONES = 10_000;

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
  private readonly entries = new Map<number, CachedDevice>();
  /** Device id → sequence number of its revocation, for reads still in flight. */
  private readonly tombstones = new Map<number, number>();
  private sequence = 0;
  /** Reads with a ticket below this cannot be checked any more (tombstones dropped, or a clear). */
  private floor = 0;

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
    if (ticket < this.floor || this.maxEntries === 0 || this.ttlMs === 0) return entry;
    this.entries.delete(device.id);
    this.entries.set(device.id, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** Forgets a revoked device, and keeps reads that began earlier from caching it again. */
  revoke(id: number): void {
    this.entries.delete(id);
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
    this.tombstones.clear();
    this.floor = ++this.sequence;
  }

  /** Number of devices held. */
  get size(): number {
    return this.entries.size;
  }
}
