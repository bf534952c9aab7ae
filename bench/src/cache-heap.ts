/**
 * Heap cost of the module's DeviceCache holding many devices. Run by bench/src/run.ts as a child with
 * `--expose-gc`; answers over IPC. It fills the package's own DeviceCache with keys derived by the
 * package's own derivation (from its built dist), so it measures exactly what the guard keeps.
 */
import { randomBytes } from 'node:crypto';
import { DeviceCache } from 'nestjs-jwt-devices';
// Not part of the public API: the key derivation the service runs before it caches a device.
import { deriveDeviceKey } from '../../dist/tokens/device-secrets.js';
import { JWT_SECRET } from './protocol.js';

export interface CacheHeapResult {
  devices: number;
  /** Growth of `heapUsed + external`, bytes. */
  heapBytes: number;
  /** Growth of `heapUsed` alone and of `external` alone, bytes. */
  heapUsedBytes: number;
  externalBytes: number;
  /** Growth of the resident set, bytes: also counts native memory V8 does not track (e.g. KeyObject data). */
  rssBytes: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('cache-heap needs node --expose-gc');
  for (let i = 0; i < 4; i++) gc();
}

function measure(devices: number): CacheHeapResult {
  const serverSecret = Buffer.from(JWT_SECRET, 'utf8');
  // The device secrets are made before the "before" snapshot and dropped after filling: the cache keeps only derived keys.
  let secrets: string[] | undefined = Array.from({ length: devices }, () => randomBytes(32).toString('hex'));
  collect();
  const before = process.memoryUsage();
  const now = Date.now();
  const cache = new DeviceCache(devices, 3_600_000);
  // DeviceCache is young and its signature moves (a read ticket was added to set()); call it loosely and
  // check the count below, so the measurement keeps working while the cache's API settles.
  const filler = cache as unknown as { set(device: object, now: number, ticket?: number): unknown; ticket?(): number };
  for (let i = 0; i < devices; i++) {
    // User ids as an app stores them: distinct strings.
    const device = { id: i + 1, userId: String(1_000_000 + i), key: deriveDeviceKey(serverSecret, secrets[i]!), lastRequestMs: now, createdMs: now };
    filler.set(device, now, filler.ticket?.());
  }
  secrets = undefined;
  collect();
  const after = process.memoryUsage();
  if (cache.size !== devices) throw new Error(`DeviceCache holds ${cache.size} devices, expected ${devices}`);
  return {
    devices,
    heapBytes: after.heapUsed + after.external - (before.heapUsed + before.external),
    heapUsedBytes: after.heapUsed - before.heapUsed,
    externalBytes: after.external - before.external,
    rssBytes: after.rss - before.rss,
  };
}

const devices = Number(process.argv[2] ?? 100_000);
try {
  process.send?.({ ok: true, result: measure(devices) });
} catch (error) {
  process.send?.({ ok: false, message: (error as Error).stack ?? String(error) });
}
