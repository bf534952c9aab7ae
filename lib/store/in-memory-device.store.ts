import type { DeviceDeleteFilter, DeviceListPage, DeviceStore, ListedDevice, NewDevice, StoredDevice } from './device-store.js';

interface Row extends StoredDevice {
  name: string;
  details: string;
}

/**
 * A {@link DeviceStore} in a `Map`, for tests of an app's own code (and of the session rules) without a
 * database: `JwtDevicesModule.forRoot({ …, store: new InMemoryDeviceStore() })`. It forgets everything on
 * restart and is not shared between instances, so never use it in production.
 */
export class InMemoryDeviceStore implements DeviceStore {
  private readonly rows = new Map<number, Row>();
  private nextId = 1;
  /** `performance.now()` of each user's last revocation mark. */
  private readonly revoked = new Map<string, number>();

  /** Every stored device, for assertions. */
  all(): StoredDevice[] {
    return [...this.rows.values()].map((row) => ({ ...row }));
  }

  async insert(device: NewDevice): Promise<number> {
    for (const row of this.rows.values()) {
      if (row.permanentTokenHash === device.permanentTokenHash) throw new Error('duplicate permanent token hash');
    }
    const id = this.nextId++;
    this.rows.set(id, { ...device, id, previousTokenHash: null, lastRequestDatetime: device.created, rotatedAt: null, rotations: 0 });
    return id;
  }

  async findById(id: number): Promise<StoredDevice | undefined> {
    return this.copy(this.rows.get(id));
  }

  async findByTokenHash(hash: string): Promise<StoredDevice | undefined> {
    return this.copy(this.find((row) => row.permanentTokenHash === hash));
  }

  async findByPreviousTokenHash(hash: string): Promise<StoredDevice | undefined> {
    return this.copy(this.find((row) => row.previousTokenHash === hash));
  }

  async findByLineage(lineage: string): Promise<StoredDevice | undefined> {
    return this.copy(this.find((row) => row.lineage === lineage));
  }

  async touch(id: number, at: Date, ifBefore: Date): Promise<void> {
    const row = this.rows.get(id);
    if (row && row.lastRequestDatetime < ifBefore) this.rows.set(id, { ...row, lastRequestDatetime: at });
  }

  async rotate(id: number, fromHash: string, toHash: string, at: Date): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.permanentTokenHash !== fromHash) return false;
    this.rows.set(id, { ...row, permanentTokenHash: toHash, previousTokenHash: fromHash, rotatedAt: at, lastRequestDatetime: at, rotations: row.rotations === null ? null : row.rotations + 1 });
    return true;
  }

  async list(userId: string, { after, limit }: DeviceListPage): Promise<ListedDevice[]> {
    return [...this.rows.values()]
      .filter((row) => row.userId === userId && (after === null || row.id > after))
      .sort((a, b) => a.id - b.id)
      .slice(0, limit)
      .map(listed);
  }

  async rename(userId: string, id: number, name: string): Promise<ListedDevice | undefined> {
    const row = this.rows.get(id);
    if (!row || row.userId !== userId) return undefined;
    const renamed = { ...row, name };
    this.rows.set(id, renamed);
    return listed(renamed);
  }

  async idsOfUser(userId: string, limit = Number.POSITIVE_INFINITY): Promise<number[]> {
    return [...this.rows.values()]
      .filter((row) => row.userId === userId)
      .sort((a, b) => b.lastRequestDatetime.getTime() - a.lastRequestDatetime.getTime() || b.id - a.id)
      .slice(0, limit)
      .map(({ id }) => id);
  }

  async findIdle(cutoff: Date, limit: number): Promise<Array<{ id: number; userId: string }>> {
    return [...this.rows.values()]
      .filter((row) => row.lastRequestDatetime < cutoff)
      .sort((a, b) => a.lastRequestDatetime.getTime() - b.lastRequestDatetime.getTime())
      .slice(0, limit)
      .map(({ id, userId }) => ({ id, userId }));
  }

  async markRevoked(userId: string): Promise<void> {
    this.revoked.set(userId, performance.now());
  }

  async sinceRevoked(userId: string): Promise<number | null> {
    const at = this.revoked.get(userId);
    return at === undefined ? null : performance.now() - at;
  }

  async delete(ids: readonly number[], filter: DeviceDeleteFilter = {}): Promise<number[]> {
    const deleted: number[] = [];
    for (const id of ids) {
      const row = this.rows.get(id);
      if (!row) continue;
      if (filter.userId !== undefined && row.userId !== filter.userId) continue;
      if (filter.idleBefore !== undefined && !(row.lastRequestDatetime < filter.idleBefore)) continue;
      if (this.rows.delete(id)) deleted.push(id);
    }
    return deleted;
  }

  private find(match: (row: Row) => boolean): Row | undefined {
    for (const row of this.rows.values()) if (match(row)) return row;
    return undefined;
  }

  private copy(row: Row | undefined): StoredDevice | undefined {
    if (!row) return undefined;
    const { name: _name, details: _details, ...stored } = row;
    return stored;
  }
}

function listed({ id, created, name, details, lastRequestDatetime }: Row): ListedDevice {
  return { id, created, name, details, lastRequestDatetime };
}
