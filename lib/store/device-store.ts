/**
 * Where devices are kept. The session rules see only this interface; the TypeORM implementation
 * (`TypeOrmDeviceStore`) holds every query, and {@link InMemoryDeviceStore} serves unit tests. An app can
 * provide its own under the {@link DeviceStore} token, as `@nestjs/throttler` does with `ThrottlerStorage`.
 *
 * Every method either does all of its work or throws; implementations turn driver failures into
 * `StoreUnavailableError` (a 503 the client can retry) and never put a token hash or secret in a log.
 */

/** Largest id an `integer` column holds on every supported database (PostgreSQL's int4). */
export const MAX_DEVICE_ID = 2_147_483_647;

/** What every check of a device needs: its secrets, owner and times. */
export interface StoredDevice {
  readonly id: number;
  /** The app's user id, as a string. */
  readonly userId: string;
  /** The per-device JWT secret (hex) from which its signing key is derived. */
  readonly jwtSecret: string;
  /** SHA-256 (hex) of the current permanent token. */
  readonly permanentTokenHash: string;
  /** With rotation: SHA-256 of the token the current one replaced. */
  readonly previousTokenHash: string | null;
  readonly created: Date;
  readonly lastRequestDatetime: Date;
  /** With rotation: when the permanent token last rotated. */
  readonly rotatedAt: Date | null;
  /** Random id carried by every permanent token of the device; `null` for devices created before lineages. */
  readonly lineage: string | null;
  /** How many times the permanent token has rotated; `null` for devices created before lineages. */
  readonly rotations: number | null;
}

/** What a device list shows. */
export interface ListedDevice {
  readonly id: number;
  readonly created: Date;
  readonly name: string;
  readonly details: string;
  readonly lastRequestDatetime: Date;
}

/** Which devices {@link DeviceStore.list} returns. */
export interface DeviceListPage {
  /** Only devices with a greater id; `null` from the first. */
  readonly after: number | null;
  /** At most this many. */
  readonly limit: number;
}

/** A device to create at login. */
export interface NewDevice {
  readonly userId: string;
  readonly permanentTokenHash: string;
  readonly jwtSecret: string;
  readonly name: string;
  readonly details: string;
  readonly created: Date;
  /** The lineage its permanent token carries. */
  readonly lineage: string | null;
}

/** Which of a set of devices a delete may remove; every given condition must hold. */
export interface DeviceDeleteFilter {
  /** Only devices of this user. */
  readonly userId?: string;
  /** Only devices last used before this time (expiry sweeps). */
  readonly idleBefore?: Date;
}

/** The device store: one method per statement the session rules need. */
export interface DeviceStore {
  /** Creates a device. @returns its id. */
  insert(device: NewDevice): Promise<number>;
  /** The device with this id. */
  findById(id: number): Promise<StoredDevice | undefined>;
  /** The device whose current permanent token hashes to `hash`. */
  findByTokenHash(hash: string): Promise<StoredDevice | undefined>;
  /** The device whose previous (rotated-out) permanent token hashes to `hash`. */
  findByPreviousTokenHash(hash: string): Promise<StoredDevice | undefined>;
  /** The device whose permanent tokens carry this lineage. */
  findByLineage(lineage: string): Promise<StoredDevice | undefined>;
  /**
   * Sets `last_request_datetime` to `at` when the stored value is before `ifBefore`: one conditional
   * write, so concurrent refreshes write once and never move it backwards.
   */
  touch(id: number, at: Date, ifBefore: Date): Promise<void>;
  /**
   * Replaces the permanent token hash `fromHash` with `toHash` (keeping `fromHash` as the previous one),
   * stamping `rotatedAt` and `lastRequestDatetime` with `at` and counting the rotation in `rotations`.
   * @returns false when the device no longer holds `fromHash` (another refresh rotated it first).
   */
  rotate(id: number, fromHash: string, toHash: string, at: Date): Promise<boolean>;
  /**
   * The user's devices in order of id (oldest first), those after `page.after` only, at most
   * `page.limit` of them: a page of a keyset pagination.
   */
  list(userId: string, page: DeviceListPage): Promise<ListedDevice[]>;
  /** Renames one of the user's devices. @returns it, or `undefined` when the user has no such device. */
  rename(userId: string, id: number, name: string): Promise<ListedDevice | undefined>;
  /** Ids of the user's devices, most recently used first; at most `limit` of them when given. */
  idsOfUser(userId: string, limit?: number): Promise<number[]>;
  /** Devices idle since before `cutoff`, least recently used first, at most `limit`. */
  findIdle(cutoff: Date, limit: number): Promise<Array<{ id: number; userId: string }>>;
  /**
   * Records, by the store's clock (the database's, shared by every instance), that every device of the
   * user is being revoked now: one row per user, never moved back.
   */
  markRevoked(userId: string): Promise<void>;
  /** Milliseconds since the user's last {@link markRevoked}, by the store's clock; `null` when never. */
  sinceRevoked(userId: string): Promise<number | null>;
  /**
   * Deletes those of `ids` that match `filter`. @returns the ids of the rows this call deleted (not those
   * that were already gone, or that a concurrent call deleted), in any order.
   */
  delete(ids: readonly number[], filter?: DeviceDeleteFilter): Promise<number[]>;
}

/** Injection token of the {@link DeviceStore}; interface and token share one name. */
export const DeviceStore = Symbol('JwtDevicesDeviceStore');

/**
 * A device id from a header, path parameter or JWT claim: a positive integer written in decimal digits
 * (a number is accepted too, for claims). `'abc'`, `'1.5'`, `'-1'`, `'0'`, `'1e3'` → `undefined`.
 * Ids past {@link MAX_DEVICE_ID} cannot exist; they come back as `Infinity` so callers can answer
 * "not found" without asking the store.
 */
export function parseDeviceId(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  if (id < 1) return undefined;
  return id > MAX_DEVICE_ID ? Infinity : id;
}

/** Whether `id` can name a stored device (a positive integer within the column's range). */
export function isStorableId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id <= MAX_DEVICE_ID;
}
