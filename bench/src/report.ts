/** Turns the measurements into the Markdown report: a table per adapter/database, the scale check, the cache heap, the targets. */
import type { CacheHeapResult } from './cache-heap.js';
import { median } from './load.js';
import type { Adapter, DatabaseKind } from './protocol.js';
import { RAW_BASELINE, ROUTE, type RouteKey } from './routes.js';

/** One measurement of one route. */
export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU (user + system) per response, µs. */
  cpuUs: number;
  /** SQL statements the server sent per response. */
  sqlPerRequest: number;
  responses: number;
  problems: string[];
}

/** The measurements of one server: per route, one sample per round (index = round). */
export interface Group {
  name: string;
  /** `main`: all routes; `scale`: the 1,000-row / many-row pair of the scale check (three routes each). */
  role: 'main' | 'scale';
  adapter: Adapter;
  database: DatabaseKind;
  /** Device rows in its table while measured. */
  rows: number;
  routes: readonly RouteKey[];
  samples: Map<RouteKey, (Sample | undefined)[]>;
}

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  node: string;
  os: string;
  versions: Record<string, string>;
  databases: string[];
}

export interface Settings {
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  seed: number;
  quick: boolean;
  scaleRows: number;
}

export interface ReportInput {
  machine: MachineInfo;
  settings: Settings;
  groups: Group[];
  scale: { database: DatabaseKind; base: Group; big: Group }[];
  heap: CacheHeapResult | string;
  failures: string[];
  notes: string[];
  elapsedS: number;
}

export interface Target {
  /** `undefined`: could not be evaluated (route failed). */
  pass: boolean | undefined;
  line: string;
}

const ADAPTER_NAME: Record<Adapter, string> = { express: 'Express', fastify: 'Fastify' };
const DATABASE_NAME: Record<DatabaseKind, string> = { sqlite: 'SQLite', 'sqlite-wal': 'SQLite (WAL)', postgres: 'PostgreSQL' };

export function groupName(adapter: Adapter, database: DatabaseKind, suffix = ''): string {
  return `${ADAPTER_NAME[adapter]} · ${DATABASE_NAME[database]}${suffix}`;
}

function samplesOf(group: Group, route: RouteKey): Sample[] {
  return (group.samples.get(route) ?? []).filter((sample): sample is Sample => sample !== undefined);
}

function medianOf(group: Group, route: RouteKey, metric: keyof Omit<Sample, 'problems'>): number {
  return median(samplesOf(group, route).map((sample) => sample[metric]));
}

function failed(group: Group, route: RouteKey): boolean {
  const samples = group.samples.get(route) ?? [];
  return samples.length === 0 || samples.some((sample) => sample === undefined || sample.problems.length > 0);
}

/**
 * req/s of `route` in `group` over req/s of `reference` in `referenceGroup`: the median of the
 * per-round ratios (both measured in the same round, so slow drift of the machine cancels out).
 */
export function ratio(group: Group, route: RouteKey, reference: RouteKey, referenceGroup: Group = group): number {
  return medianRatio(group, route, reference, referenceGroup, 'rps');
}

/**
 * Server CPU µs per request of `route` over that of `reference` (same group unless given): the median of
 * per-round ratios. Lower is cheaper.
 */
export function cpuRatio(group: Group, route: RouteKey, reference: RouteKey, referenceGroup: Group = group): number {
  return medianRatio(group, route, reference, referenceGroup, 'cpuUs');
}

/** The median over rounds of one measure of `route` over the same measure of `reference`. */
function medianRatio(group: Group, route: RouteKey, reference: RouteKey, referenceGroup: Group, measure: 'rps' | 'cpuUs'): number {
  const own = group.samples.get(route) ?? [];
  const ref = referenceGroup.samples.get(reference) ?? [];
  const ratios: number[] = [];
  for (let round = 0; round < Math.min(own.length, ref.length); round++) {
    const a = own[round];
    const b = ref[round];
    if (a && b && b[measure] > 0) ratios.push(a[measure] / b[measure]);
  }
  return median(ratios);
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
function fmtInt(value: number): string {
  return Number.isFinite(value) ? integer.format(value) : '–';
}
function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}
function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}
function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function table(group: Group): string {
  const lines = [
    `### ${group.name} (${fmtInt(group.rows)} device rows)`,
    '',
    '| route | req/s | p50 ms | p99 ms | CPU µs/req | SQL/req | × no-op guard | × passport-jwt string | × passport-jwt KeyObject | CPU × raw driver |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const key of group.routes) {
    const problems = [...new Set((group.samples.get(key) ?? []).flatMap((sample) => sample?.problems ?? ['not measured']))];
    const mark = problems.length ? ` ⚠ ${problems.join('; ')}` : '';
    lines.push(
      `| ${ROUTE[key].label}${mark} | ${fmtInt(medianOf(group, key, 'rps'))} | ${fmt(medianOf(group, key, 'p50'), 2)} | ${fmt(medianOf(group, key, 'p99'), 2)} | ` +
        `${fmt(medianOf(group, key, 'cpuUs'), 0)} | ${fmt(medianOf(group, key, 'sqlPerRequest'), 2)} | ${fmtRatio(ratio(group, key, 'noop'))} | ` +
        `${fmtRatio(ratio(group, key, 'passportString'))} | ${fmtRatio(ratio(group, key, 'passportKeyObject'))} | ` +
        `${key in RAW_BASELINE ? fmtRatio(cpuRatio(group, key, RAW_BASELINE[key as keyof typeof RAW_BASELINE])) : ''} |`,
    );
  }
  return lines.join('\n');
}

function scaleTable(input: ReportInput): string {
  const { scaleRows } = input.settings;
  const lines = [
    `| database | route | req/s @ ${fmtInt(1000)} rows | req/s @ ${fmtInt(scaleRows)} rows | ratio | CPU µs/req @ 1k | CPU µs/req @ ${compact(scaleRows)} | p99 ms @ 1k | p99 ms @ ${compact(scaleRows)} |`,
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { database, base, big } of input.scale) {
    for (const key of big.routes) {
      lines.push(
        `| ${DATABASE_NAME[database]} | ${ROUTE[key].label} | ${fmtInt(medianOf(base, key, 'rps'))} | ${fmtInt(medianOf(big, key, 'rps'))} | ` +
          `${fmtRatio(ratio(big, key, key, base))} | ${fmt(medianOf(base, key, 'cpuUs'), 0)} | ${fmt(medianOf(big, key, 'cpuUs'), 0)} | ` +
          `${fmt(medianOf(base, key, 'p99'), 2)} | ${fmt(medianOf(big, key, 'p99'), 2)} |`,
      );
    }
  }
  return lines.join('\n');
}

function compact(rows: number): string {
  return rows >= 1_000_000 && rows % 1_000_000 === 0 ? `${rows / 1_000_000}M` : rows >= 1000 && rows % 1000 === 0 ? `${rows / 1000}k` : String(rows);
}

/** The targets of the issue, each checked against this run's numbers. */
export function targets(input: ReportInput): Target[] {
  const result: Target[] = [];
  const check = (group: Group, route: RouteKey, reference: RouteKey, min: number, what: string, referenceGroup: Group = group) => {
    const value = ratio(group, route, reference, referenceGroup);
    const broken = failed(group, route) || failed(referenceGroup, reference);
    const pass = broken || !Number.isFinite(value) ? undefined : value >= min;
    const detail =
      `${Number.isFinite(value) ? `${value.toFixed(3)}×` : '–'} (${fmtInt(medianOf(group, route, 'rps'))} vs ${fmtInt(medianOf(referenceGroup, reference, 'rps'))} req/s; ` +
      `CPU ${fmt(medianOf(group, route, 'cpuUs'), 0)} vs ${fmt(medianOf(referenceGroup, reference, 'cpuUs'), 0)} µs/req)`;
    result.push({ pass, line: `${what} ≥ ${min}×: ${detail}${broken ? ' — route had errors' : ''}` });
  };
  /** `route`'s CPU µs per request at most `max` times `reference`'s. */
  const checkCpu = (group: Group, route: RouteKey, reference: RouteKey, max: number, what: string) => {
    const value = cpuRatio(group, route, reference);
    const broken = failed(group, route) || failed(group, reference);
    const pass = broken || !Number.isFinite(value) ? undefined : value <= max;
    const detail = `${Number.isFinite(value) ? `${value.toFixed(2)}×` : '–'} (CPU ${fmt(medianOf(group, route, 'cpuUs'), 0)} vs ${fmt(medianOf(group, reference, 'cpuUs'), 0)} µs/req)`;
    result.push({ pass, line: `${what} ≤ ${max}×: ${detail}${broken ? ' — route had errors' : ''}` });
  };
  const main = input.groups;
  for (const group of main.filter((g) => g.adapter === 'express')) {
    check(group, 'warm', 'noop', 0.9, `[${group.name}] warm guard / no-op guard, req/s`);
  }
  for (const group of main.filter((g) => g.adapter === 'fastify' && g.database !== 'sqlite-wal')) {
    checkCpu(group, 'cold', 'warm', 1.5, `[${group.name}] cache-off guard / warm guard, CPU per request`);
  }
  for (const group of main.filter((g) => (g.adapter === 'fastify' && g.database === 'postgres') || (g.adapter === 'express' && g.database === 'sqlite-wal'))) {
    check(group, 'refresh', 'warm', group.database === 'postgres' ? 0.5 : 0.7, `[${group.name}] refresh / warm guard, req/s`);
  }
  for (const group of main.filter((g) => g.database !== 'sqlite')) {
    check(group, 'login', 'warm', 0.4, `[${group.name}] login (trivial password check) / warm guard, req/s`);
  }
  for (const group of main) {
    for (const [route, raw] of Object.entries(RAW_BASELINE) as [RouteKey, RouteKey][]) {
      checkCpu(group, route, raw, 1.3, `[${group.name}] ${route} / raw driver baseline, CPU per request`);
    }
  }
  for (const group of main) {
    check(group, 'warm', 'passportString', group.adapter === 'express' ? 2 : 4, `[${group.name}] warm guard / passport-jwt string secret`);
  }
  for (const { base, big } of input.scale) {
    for (const key of big.routes) {
      check(big, key, key, 0.8, `[${big.name}] ${ROUTE[key].label}: ${compact(input.settings.scaleRows)} rows / 1k rows`, base);
    }
  }
  if (typeof input.heap === 'string') {
    result.push({ pass: undefined, line: `DeviceCache heap: ${input.heap}` });
  } else {
    const { heapBytes, devices } = input.heap;
    result.push({ pass: heapBytes <= 64 * 1024 * 1024, line: `DeviceCache with ${fmtInt(devices)} devices ≤ 64 MB (heapUsed + external): ${mb(heapBytes)}` });
  }
  return result;
}

export function renderReport(input: ReportInput): string {
  const { machine, settings } = input;
  const out: string[] = [];
  out.push('# nestjs-jwt-devices benchmark', '');
  out.push(`- Date: ${machine.date}`);
  out.push(`- Machine: ${machine.cpu}, ${machine.cores} cores; ${machine.os}`);
  out.push(`- Node ${machine.node}; ${machine.databases.join('; ')}`);
  out.push(`- Packages: ${Object.entries(machine.versions).map(([name, version]) => `${name} ${version}`).join(', ')}`);
  out.push(
    `- Run: ${settings.quick ? '**--quick** (smoke run; numbers are rough), ' : ''}${settings.rounds} interleaved rounds (seed ${settings.seed}), ` +
      `${settings.durationS} s per measurement after ${settings.warmupS} s warm-up, ${settings.connections} connections, ${Math.round(input.elapsedS)} s in all`,
  );
  out.push('');
  out.push(
    'Server and load generator are separate processes on 127.0.0.1 (autocannon in the parent, each Nest app a forked `node` child). ' +
      'Every round measures every route of every server once, in a shuffled order; the tables give medians over the rounds. ' +
      'Ratios are medians of per-round ratios of req/s. CPU µs/req is the server process’s user + system CPU (`process.cpuUsage()`, read over IPC) ' +
      'per response; the database server’s own CPU (PostgreSQL) is not in it. SQL/req counts the statements sent through TypeORM’s logger (the module’s prepared statements included; the raw-driver routes are not counted). ' +
      '“CPU × raw driver” is the route’s CPU per request over its raw-driver baseline’s in the same server and round (median of per-round ratios): the baseline routes (`bench/src/raw-driver.ts`) do the same read or insert straight through better-sqlite3 / pg with a prepared statement, and HS256 with a `KeyObject`, without the module. ' +
      'Every app has the module’s global `PermittedHeadersGuard`, as an app with the defaults does, so the “unguarded” route runs that one guard too. ' +
      '`users.validateUser` compares strings and `users.findUser` returns `{ id }`, so the module’s own cost is what is measured.',
  );
  out.push('');
  for (const note of input.notes) out.push(`- ${note}`);
  if (input.notes.length) out.push('');

  if (input.failures.length) {
    out.push('## Failed checks', '', ...input.failures.map((failure) => `- ${failure}`), '');
  }

  out.push('## Routes', '');
  for (const group of input.groups) out.push(table(group), '');

  out.push(`## Scale: ${fmtInt(settings.scaleRows)} vs 1,000 device rows`, '');
  if (input.scale.length) {
    out.push(
      `Per database, a pair of ${ADAPTER_NAME[input.scale[0]!.big.adapter]} servers that serve only these three routes (so the two run the same code, equally warmed up), ` +
        `one with 1,000 device rows and one with ${fmtInt(settings.scaleRows)} (bulk-inserted at start-up with one SQL statement). ` +
        'In every round the two measure a route back to back (in a random order); the ratio is the median of those per-round ratios.',
      '',
      scaleTable(input),
      '',
    );
  }

  out.push('## DeviceCache memory', '');
  if (typeof input.heap === 'string') {
    out.push(`Not measured: ${input.heap}`, '');
  } else {
    const heap = input.heap;
    out.push(
      `A \`DeviceCache\` filled with ${fmtInt(heap.devices)} devices (derived keys, as the guard caches them), measured after \`global.gc()\`: ` +
        `heapUsed + external **+${mb(heap.heapBytes)}** (heapUsed +${mb(heap.heapUsedBytes)}, external +${mb(heap.externalBytes)}), ` +
        `${fmt(heap.heapBytes / heap.devices, 0)} bytes per device. RSS grew ${mb(heap.rssBytes)} (RSS also counts the KeyObjects’ native key data, which V8 does not track).`,
      '',
    );
  }

  out.push('## Targets', '', '```');
  for (const target of targets(input)) {
    out.push(`${target.pass === undefined ? 'N/A ' : target.pass ? 'PASS' : 'MISS'}  ${target.line}`);
  }
  out.push('```', '');
  return out.join('\n');
}

