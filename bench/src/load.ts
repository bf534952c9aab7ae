/**
 * The load generator: autocannon, used programmatically from the parent process. Latencies are taken
 * from autocannon's per-response event (float milliseconds): its own histogram keeps whole
 * milliseconds only, too coarse for sub-millisecond local requests.
 */
import autocannon, { type Result } from 'autocannon';

export interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** Seconds the run lasted. */
  seconds: number;
  /** 2xx responses. */
  ok: number;
  /** Every response, 2xx or not. */
  responses: number;
  /** Non-2xx responses by status, connection errors and timeouts; empty when the run was clean. */
  problems: string[];
  /** Latencies of the 2xx responses, ms. */
  latencies: Float64Array;
}

export async function load(target: Target, seconds: number, connections: number): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: target.method,
        headers: target.headers,
        ...(target.body === undefined ? {} : { body: target.body }),
        connections,
        duration: seconds,
        // The run stops on a sampling tick: a short interval keeps its length close to `seconds`.
        sampleInt: 250,
        timeout: 10,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status < 200 || status > 299) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
    });
  });
  const problems: string[] = [];
  for (const [status, { count: n }] of Object.entries(result.statusCodeStats)) {
    if (!status.startsWith('2')) problems.push(`${n}× HTTP ${status}`);
  }
  if (result.errors) problems.push(`${result.errors} connection errors`);
  if (result.timeouts) problems.push(`${result.timeouts} timeouts`);
  return {
    seconds: result.duration,
    ok: result['2xx'],
    responses: result['2xx'] + result.non2xx,
    problems,
    latencies: latencies.slice(0, count),
  };
}

/** The `p`th percentile (0–100) of `values` (sorted in place), nearest-rank. */
export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort();
  const rank = Math.ceil((p / 100) * values.length);
  return values[Math.min(values.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = finite.length >> 1;
  return finite.length % 2 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2;
}

/** A small seeded PRNG (mulberry32), so the shuffled order of a run can be repeated with `--seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
