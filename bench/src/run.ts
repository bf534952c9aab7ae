/**
 * `npm run bench`: builds the package, then measures the module's routes against Nest's floor and
 * against @nestjs/passport + passport-jwt, on Express and Fastify, SQLite and (when reachable)
 * PostgreSQL, in interleaved rounds; checks the issue's targets and writes bench/results/latest.md.
 *
 *   npm run bench                      full run (3 rounds, < 5 minutes on 2 cores)
 *   npm run bench -- --quick           smoke run (~1 minute): 1 round, short measurements, 100k-row scale check
 *   npm run bench -- --profile fastify:sqlite:refresh[,express:postgres:login,fastify:postgres:cold:1000000…]
 *                                      `node --cpu-prof` one server while one route is under load; prints where the CPU goes
 *
 * Other flags: --rounds N, --duration S, --warmup S, --connections N, --seed N, --scale-rows N,
 * --no-postgres, --sqlite-wal, --out FILE. PostgreSQL comes from BENCH_POSTGRES_HOST/PORT/USER/PASSWORD/DATABASE
 * (else TEST_POSTGRES_*, else 127.0.0.1:5432 postgres@test).
 */
import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CacheHeapResult } from './cache-heap.js';
import { load, percentile, seededRandom, shuffle } from './load.js';
import { renderProfile, summarizeProfile } from './profile.js';
import type { Adapter, DatabaseKind } from './protocol.js';
import { type Group, groupName, type MachineInfo, renderReport, type Sample, type Settings, targets } from './report.js';
import { checkServer, type Credentials, logIn, ROUTE, type RouteKey, ROUTES } from './routes.js';
import { Databases, pinning, ServerHandle } from './servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const ADAPTERS: readonly Adapter[] = ['express', 'fastify'];
/** Rows of the ordinary servers' device table: the bench device plus this many fillers. */
const BASE_ROWS = 1_000;
const SCALE_ROUTES: readonly RouteKey[] = ['warm', 'cold', 'refresh'];
const SCALE_ADAPTER: Adapter = 'fastify';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    seed: { type: 'string' },
    'scale-rows': { type: 'string' },
    'no-postgres': { type: 'boolean', default: false },
    'sqlite-wal': { type: 'boolean', default: false },
    profile: { type: 'string' },
    out: { type: 'string' },
  },
});

function numberFlag(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${name} must be a number ≥ ${min}; got "${value}"`);
  return parsed;
}

const quick = flags.quick ?? false;
const settings: Settings = {
  quick,
  rounds: numberFlag('rounds', flags.rounds, quick ? 1 : 3, 1),
  durationS: numberFlag('duration', flags.duration, quick ? 0.75 : 1.25, 0.25),
  warmupS: numberFlag('warmup', flags.warmup, 0.25, 0),
  connections: numberFlag('connections', flags.connections, 10, 1),
  seed: numberFlag('seed', flags.seed, 1, 0),
  scaleRows: numberFlag('scale-rows', flags['scale-rows'], quick ? 100_000 : 1_000_000, BASE_ROWS + 1),
};

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function packageVersion(name: string): string {
  for (const path of [join(ROOT, 'node_modules', name, 'package.json'), join(ROOT, 'node_modules', '@nestjs', 'platform-fastify', 'node_modules', name, 'package.json')]) {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      // try the next place
    }
  }
  return '?';
}

function machineInfo(databases: string[]): MachineInfo {
  const names = ['@nestjs/core', 'express', 'fastify', '@nestjs/passport', 'passport-jwt', 'jsonwebtoken', 'typeorm', 'better-sqlite3', 'pg', 'autocannon'];
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    node: process.version,
    os: `${type()} ${release()}`,
    versions: Object.fromEntries(names.map((name) => [name, packageVersion(name)])),
    databases,
  };
}

/** Busy CPU time of the whole machine so far, µs (Linux /proc/stat; undefined elsewhere). */
function machineBusyUs(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq (steal …), in USER_HZ ticks (100 per second on Linux).
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
    return ((user + nice + system + irq + softirq) * 1_000_000) / 100;
  } catch {
    return undefined;
  }
}

interface Server {
  handle: ServerHandle;
  credentials: Credentials;
  group: Group;
}

/** One measurement: warm-up, then a measured run between two reads of the server's CPU counters. */
async function measure(server: Server, route: RouteKey): Promise<Sample> {
  const target = ROUTE[route].target(server.handle.url, server.credentials);
  if (settings.warmupS > 0) await load(target, settings.warmupS, settings.connections);
  const before = await server.handle.usage();
  const run = await load(target, settings.durationS, settings.connections);
  const after = await server.handle.usage();
  // Logins add devices: take them out again so every server keeps its row count.
  if (route === 'login' || route === 'rawLogin') await server.handle.prune(server.credentials.deviceId);
  const responses = Math.max(1, run.responses);
  return {
    rps: run.ok / run.seconds,
    p50: percentile(run.latencies, 50),
    p99: percentile(run.latencies, 99),
    cpuUs: (after.user - before.user + after.system - before.system) / responses,
    sqlPerRequest: (after.queries - before.queries) / responses,
    responses: run.responses,
    problems: run.problems,
  };
}

function measureCacheHeap(devices: number): Promise<CacheHeapResult | string> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(new URL('./cache-heap.js', import.meta.url)), [String(devices)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (message: { ok: boolean; result?: CacheHeapResult; message?: string }) => {
      resolve(message.ok ? message.result! : `failed: ${message.message}`);
    });
    child.once('exit', (code) => resolve(`the measuring process exited (${code}) without an answer`));
  });
}

interface ServerSpec {
  name: string;
  role: Group['role'];
  adapter: Adapter;
  database: DatabaseKind;
  rows: number;
  routes: readonly RouteKey[];
  label: string;
}

async function startServers(databases: Databases, specs: ServerSpec[], execArgv: string[] = []) {
  const started = await Promise.allSettled(
    specs.map(async (spec) => {
      const database = await databases.create(spec.database, spec.label);
      const handle = await ServerHandle.start(spec.name, { adapter: spec.adapter, database, fillerRows: spec.rows - 1 }, execArgv);
      const group: Group = { name: spec.name, role: spec.role, adapter: spec.adapter, database: spec.database, rows: spec.rows, routes: spec.routes, samples: new Map() };
      return { handle, group };
    }),
  );
  const servers: { handle: ServerHandle; group: Group }[] = [];
  const errors: string[] = [];
  for (const result of started) {
    if (result.status === 'fulfilled') servers.push(result.value);
    else errors.push((result.reason as Error).message);
  }
  return { servers, errors };
}

async function benchmark(): Promise<number> {
  const startedAt = performance.now();
  const databases = await Databases.open(!flags['no-postgres'], flags['sqlite-wal']);
  const running: ServerHandle[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all(running.map((server) => server.stop().catch(() => undefined)));
    await databases.dispose();
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));

  try {
    const notes: string[] = [];
    if (databases.postgresSkipReason) notes.push(`PostgreSQL skipped: ${databases.postgresSkipReason}.`);
    notes.push(
      flags['sqlite-wal']
        ? 'SQLite runs in WAL mode only (`--sqlite-wal`: TypeORM `enableWAL: true`; better-sqlite3 is built with WAL synchronous NORMAL, so a commit does not fsync).'
        : 'SQLite is measured twice: “SQLite” with TypeORM’s defaults (rollback journal, synchronous FULL: every INSERT, i.e. login, commits with its own journal file and fsyncs) and “SQLite (WAL)” with `enableWAL: true` (WAL, synchronous NORMAL: a commit does not fsync), as the example app runs. The scale check uses the former.',
    );
    notes.push(
      'servers' in pinning
        ? `CPU pinning (\`taskset -a -cp\`): the load generator runs on core ${pinning.loadGenerator}, every server on core(s) ${pinning.servers}; PostgreSQL is not pinned.`
        : `No CPU pinning: ${pinning.unavailable}; server and load generator share the cores.`,
    );
    const scaleKinds = databases.kinds.filter((kind) => kind !== 'sqlite-wal' || !databases.kinds.includes('sqlite'));
    const specs: ServerSpec[] = [
      ...databases.kinds.flatMap((database) =>
        ADAPTERS.map((adapter) => ({
          name: groupName(adapter, database),
          role: 'main' as const,
          adapter,
          database,
          rows: BASE_ROWS,
          routes: ROUTES.map((route) => route.key),
          label: `${adapter}_${database}`,
        })),
      ),
      // The scale check compares two servers that differ in their table only: same routes, same traffic.
      ...scaleKinds.flatMap((database) =>
        [BASE_ROWS, settings.scaleRows].map((rows) => ({
          name: groupName(SCALE_ADAPTER, database, `, ${rows.toLocaleString('en-US')} rows`),
          role: 'scale' as const,
          adapter: SCALE_ADAPTER,
          database,
          rows,
          routes: SCALE_ROUTES,
          label: `${SCALE_ADAPTER}_${database}_scale_${rows}`,
        })),
      ),
    ];
    log(`Starting ${specs.length} servers (the ${settings.scaleRows.toLocaleString('en-US')}-row tables are filled at start-up)…`);
    const { servers: startedServers, errors } = await startServers(databases, specs);
    running.push(...startedServers.map(({ handle }) => handle));
    if (errors.length) throw new Error(`Servers failed to start:\n${errors.join('\n')}`);
    for (const { handle } of startedServers) {
      if (handle.config.fillerRows > BASE_ROWS) log(`  ${handle.name}: ${handle.config.fillerRows.toLocaleString('en-US')} filler rows in ${(handle.seedMs / 1000).toFixed(1)} s`);
    }

    const failures: string[] = [];
    const servers: Server[] = [];
    for (const { handle, group } of startedServers) {
      const credentials = await logIn(handle);
      failures.push(...(await checkServer(handle, credentials)));
      servers.push({ handle, credentials, group });
    }
    if (failures.length) log(`Functional checks failed:\n  ${failures.join('\n  ')}`);
    else log(`Functional checks passed on all ${servers.length} servers.`);

    // One item per route of a main server; the scale check's 1k/many-row pair of a route is one item whose two
    // measurements run back to back (in a random order), so their ratio is not blurred by drift within a round.
    const scaleServers = servers.filter((server) => server.group.role === 'scale');
    const items: { server: Server; route: RouteKey }[][] = [
      ...servers.filter((server) => server.group.role === 'main').flatMap((server) => server.group.routes.map((route) => [{ server, route }])),
      ...scaleKinds.flatMap((database) =>
        SCALE_ROUTES.map((route) => scaleServers.filter((server) => server.group.database === database).map((server) => ({ server, route }))),
      ),
    ];
    const measurements = items.reduce((sum, item) => sum + item.length, 0);
    const perMeasurement = settings.warmupS + settings.durationS + 0.05;
    log(`${settings.rounds} rounds × ${measurements} measurements, ≈ ${Math.round(settings.rounds * measurements * perMeasurement)} s.`);
    const random = seededRandom(settings.seed);
    const loadBefore = loadavg()[0]!;
    const busyBefore = machineBusyUs();
    const parentBefore = process.cpuUsage();
    const serversBefore = await Promise.all(servers.map((server) => server.handle.usage()));
    const wallBefore = performance.now();
    for (let round = 0; round < settings.rounds; round++) {
      const order = shuffle(items, random).flatMap((item) => shuffle(item, random));
      for (const [index, { server, route }] of order.entries()) {
        let sample: Sample | undefined;
        try {
          sample = await measure(server, route);
        } catch (error) {
          failures.push(`${server.group.name} ${ROUTE[route].label}, round ${round + 1}: ${(error as Error).message}`);
        }
        const samples = server.group.samples.get(route) ?? [];
        samples[round] = sample;
        server.group.samples.set(route, samples);
        log(
          `  ${Math.round((performance.now() - startedAt) / 1000).toString().padStart(3)} s  round ${round + 1}/${settings.rounds} [${String(index + 1).padStart(2)}/${order.length}] ${server.group.name.padEnd(34)} ${ROUTE[route].label.padEnd(48)} ` +
            (sample ? `${Math.round(sample.rps).toString().padStart(6)} req/s  p99 ${sample.p99.toFixed(2)} ms  ${sample.cpuUs.toFixed(0)} µs CPU${sample.problems.length ? `  ⚠ ${sample.problems.join(', ')}` : ''}` : 'failed'),
        );
      }
    }

    const serversAfter = await Promise.all(servers.map((server) => server.handle.usage()));
    const parentUs = process.cpuUsage(parentBefore);
    const busyAfter = machineBusyUs();
    const wallS = (performance.now() - wallBefore) / 1000;
    const serversUs = serversAfter.reduce((sum, after, i) => sum + after.user + after.system - serversBefore[i]!.user - serversBefore[i]!.system, 0);
    const ownS = (parentUs.user + parentUs.system + serversUs) / 1e6;
    const availableS = wallS * cpus().length;
    const busyS = busyBefore !== undefined && busyAfter !== undefined ? (busyAfter - busyBefore) / 1e6 : undefined;
    const otherS = busyS === undefined ? undefined : Math.max(0, busyS - ownS);
    const machine =
      busyS !== undefined && otherS !== undefined
        ? `the machine’s CPUs were busy ${busyS.toFixed(0)} of ${availableS.toFixed(0)} core-seconds; ` +
          `the bench’s own Node processes (load generator and servers) used ${ownS.toFixed(0)}, everything else (PostgreSQL included) ${otherS.toFixed(0)}`
        : `the bench’s own Node processes used ${ownS.toFixed(0)} core-seconds`;
    notes.push(`During the ${wallS.toFixed(0)} s of measurements ${machine}. Load average (1 min) before: ${loadBefore.toFixed(2)}, after: ${loadavg()[0]!.toFixed(2)}.`);
    // PostgreSQL's own work is a few percent of the run; much more means someone else was using the machine.
    if (otherS !== undefined ? otherS > availableS * 0.15 : loadBefore >= cpus().length) {
      notes.push('⚠ Other processes used a good part of the CPU during the run: these numbers are noisier than they should be; run again on an idle machine.');
    }

    log('Measuring the DeviceCache heap with 100,000 devices…');
    const heap = await measureCacheHeap(100_000);
    const groups = servers.map((server) => server.group);
    const main = groups.filter((group) => group.role === 'main');
    const scale = scaleKinds.flatMap((database) => {
      const base = groups.find((group) => group.role === 'scale' && group.database === database && group.rows === BASE_ROWS);
      const big = groups.find((group) => group.role === 'scale' && group.database === database && group.rows === settings.scaleRows);
      return base && big ? [{ database, base, big }] : [];
    });
    const databaseVersions = [...new Set(servers.map((server) => server.handle.databaseVersion))];
    await cleanup();

    const input = {
      machine: machineInfo(databaseVersions),
      settings,
      groups: main,
      scale,
      heap,
      failures,
      notes,
      elapsedS: (performance.now() - startedAt) / 1000,
    };
    const report = renderReport(input);
    mkdirSync(RESULTS, { recursive: true });
    const out = flags.out ?? join(RESULTS, 'latest.md');
    writeFileSync(out, report);
    process.stdout.write(`\n${report}\n`);
    log(`Written to ${relative(process.cwd(), out) || out}`);
    const broken = failures.length > 0 || targets(input).some((target) => target.pass === undefined);
    return broken ? 1 : 0;
  } finally {
    await cleanup();
  }
}

/** `--profile adapter:database:route[,…]`: one server under `node --cpu-prof`, one route under load, a summary of the profile. */
async function profile(specList: string): Promise<number> {
  const specs = specList.split(',').map((text) => {
    const [adapter, database, route, rowsText] = text.split(':');
    const rows = rowsText === undefined ? BASE_ROWS : Number(rowsText);
    if (!ADAPTERS.includes(adapter as Adapter) || !['sqlite', 'sqlite-wal', 'postgres'].includes(database!) || !(route! in ROUTE) || !Number.isSafeInteger(rows) || rows < 1) {
      throw new Error(
        `--profile takes adapter:database:route[:rows], e.g. fastify:sqlite:refresh or fastify:postgres:cold:1000000 (routes: ${Object.keys(ROUTE).join(', ')}); got "${text}"`,
      );
    }
    return { adapter: adapter as Adapter, database: database as DatabaseKind, route: route as RouteKey, rows };
  });
  const seconds = flags.duration === undefined ? 5 : settings.durationS;
  const directory = join(RESULTS, 'profiles');
  mkdirSync(directory, { recursive: true });
  const databases = await Databases.open(!flags['no-postgres'], flags['sqlite-wal']);
  const sections: string[] = [];
  try {
    for (const [index, spec] of specs.entries()) {
      if (!databases.kinds.includes(spec.database)) throw new Error(`PostgreSQL is not available: ${databases.postgresSkipReason}`);
      const name = `${spec.adapter}-${spec.database}-${spec.route}${spec.rows === BASE_ROWS ? '' : `-${spec.rows}rows`}`;
      const profileName = `${name}-${Date.now()}.cpuprofile`;
      const { servers, errors } = await startServers(
        databases,
        [{ name: groupName(spec.adapter, spec.database), role: 'main', adapter: spec.adapter, database: spec.database, rows: spec.rows, routes: [spec.route], label: `profile_${index}_${name}` }],
        ['--cpu-prof', `--cpu-prof-dir=${directory}`, `--cpu-prof-name=${profileName}`],
      );
      if (errors.length || !servers[0]) throw new Error(errors.join('\n'));
      const handle = servers[0].handle;
      try {
        const credentials = await logIn(handle);
        const target = ROUTE[spec.route].target(handle.url, credentials);
        await load(target, 1, settings.connections);
        const before = await handle.usage();
        const run = await load(target, seconds, settings.connections);
        const after = await handle.usage();
        await handle.stop();
        const summary = summarizeProfile(join(directory, profileName), Number(before.monotonicUs), Number(after.monotonicUs));
        const cpuUs = (after.user - before.user + after.system - before.system) / Math.max(1, run.responses);
        const section =
          renderProfile(`${groupName(spec.adapter, spec.database)} (${spec.rows.toLocaleString('en-US')} device rows), ${ROUTE[spec.route].label}`, summary, run.responses) +
          `\n\n${Math.round(run.ok / run.seconds)} req/s, ${cpuUs.toFixed(0)} µs server CPU per request${run.problems.length ? `, ⚠ ${run.problems.join(', ')}` : ''}; profile: bench/results/profiles/${profileName} (open it in Chrome DevTools).\n`;
        sections.push(section);
        process.stdout.write(`${section}\n`);
      } finally {
        await handle.stop();
      }
    }
  } finally {
    await databases.dispose();
  }
  const out = join(directory, `summary-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(out, sections.join('\n'));
  log(`Written to ${relative(process.cwd(), out)}`);
  // Old profiles pile up; say where they are.
  log(`${readdirSync(directory).filter((file) => file.endsWith('.cpuprofile')).length} .cpuprofile files in bench/results/profiles/`);
  return 0;
}

(flags.profile ? profile(flags.profile) : benchmark()).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
