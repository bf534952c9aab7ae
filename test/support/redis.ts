import { randomBytes } from 'node:crypto';
import { reachable } from './reachable.js';

/** The Redis server of the multi-instance suites: TEST_REDIS_HOST/PORT, else the CI machine's. */
export const REDIS = { host: process.env.TEST_REDIS_HOST ?? '127.0.0.1', port: Number(process.env.TEST_REDIS_PORT ?? 6379) };

/** The `redis` option's URL for that server. */
export const REDIS_URL = `redis://${REDIS.host}:${REDIS.port}`;

/** A pub/sub channel of one test's own, so test files running side by side never hear each other. */
export function testChannel(): string {
  return `jwt-devices-test-${randomBytes(6).toString('hex')}`;
}

/** Whether Redis answers. Under CI=true a missing Redis fails the run instead of skipping suites. */
export async function redisReachable(): Promise<boolean> {
  const up = await reachable(REDIS);
  if (!up && process.env.CI) throw new Error(`CI=true but Redis is not reachable at ${REDIS.host}:${REDIS.port}.`);
  return up;
}
