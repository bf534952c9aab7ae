import type { TestApp } from './test-app.js';

/**
 * Inserts `count` devices of `userId` straight into the table, 1,000 rows per statement (far below
 * every driver's bind-parameter limit), created a minute before the clock's now. Their tokens are
 * unusable: for tests of per-user work, not of refresh.
 */
export async function insertDevices(t: TestApp, userId: string, count: number): Promise<void> {
  const repository = t.dataSource.getRepository(t.deviceEntity);
  const created = new Date(t.clock.now() - 60_000);
  const existing = await repository.count();
  for (let start = 0; start < count; start += 1_000) {
    await repository.insert(
      Array.from({ length: Math.min(1_000, count - start) }, (_, i) => ({
        userId,
        permanentTokenHash: `${userId}:${existing + start + i}`.padStart(64, '0'),
        jwtSecret: 'ab'.repeat(32),
        name: 'bulk',
        details: '',
        created,
        lastRequestDatetime: created,
        lineage: null,
        rotations: 0,
      })),
    );
  }
}
