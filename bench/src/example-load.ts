/**
 * The example app under an independent load generator (`npm run bench:example`): `wrk` (Debian's
 * package; a C program, not this process) against `node example/dist/main.js` on Express and SQLite in
 * WAL mode, as `npm start` runs it, with the device cache off (`JWT_DEVICE_CACHE_SIZE=0`), so every
 * guarded request reads its device row. On 2+ cores the app runs on core 0 and wrk on core 1.
 *
 * Rounds interleave the three routes; each round's ratios to unguarded `GET /health` are taken, and the
 * report gives their medians (absolute numbers drift on a shared machine; ratios within a round don't).
 * It also checks that a device row deleted straight in the database is refused on the next request.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { median } from './load.js';

// Seven short rounds rather than three long ones: on a shared VM single rounds of refresh ÷ /health
// were seen anywhere from 0.35× to 0.92×, and a median of seven moves far less than one of three.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 32;
const TARGETS = { me: 0.55, refresh: 0.6 } as const;

const pinned = cpus().length >= 2 && has('taskset');
const dir = mkdtempSync(join(tmpdir(), 'jwt-devices-example-load-'));
const database = join(dir, 'example.sqlite');

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startExample(port: number): Promise<ChildProcess> {
  const env = {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: `sqlite:${database}`,
    JWT_SECRET: 'example-load-secret-at-least-32-characters',
    JWT_DEVICE_CACHE_SIZE: '0',
    THROTTLE_LOGIN_PER_MINUTE: '0',
    THROTTLE_REFRESH_PER_MINUTE: '0',
  };
  const [command, args] = pinned ? ['taskset', ['-c', '0', 'node', 'example/dist/main.js']] : ['node', ['example/dist/main.js']];
  const child = spawn(command, args as string[], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`the example app exited with ${child.exitCode}`);
    try {
      if ((await call(`http://127.0.0.1:${port}/health`)).status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the example app did not answer /health within 20 s');
}

/** One request on a fresh connection (wrk's load can leave a pooled keep-alive connection closed under fetch). */
function call(url: string, method = 'GET', headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

interface WrkResult {
  rps: number;
  errors: number;
  /** The app's CPU time (user + system) per request, in µs: steadier than req/s on a shared machine. */
  cpuUs: number;
}

/** CPU time (user + system) a process has used, in µs, from /proc (Linux); NaN elsewhere. */
function cpuTimeUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** One wrk run; `script` sets the method and headers (wrk's Lua API). */
function wrk(url: string, script: string, pid: number): WrkResult {
  const file = join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(file, script);
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', file, url];
  const cpuBefore = cpuTimeUs(pid);
  const output = execFileSync(pinned ? 'taskset' : 'wrk', pinned ? ['-c', '1', 'wrk', ...args] : args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(output)?.[1] ?? 0);
  const cpuUs = (cpuTimeUs(pid) - cpuBefore) / (rps * SECONDS);
  return { rps, errors, cpuUs };
}

const lua = (method: string, headers: Record<string, string>) =>
  [`wrk.method = "${method}"`, ...Object.entries(headers).map(([name, value]) => `wrk.headers["${name}"] = "${value}"`)].join('\n');

async function main(): Promise<void> {
  if (!has('wrk')) throw new Error('wrk is not installed: apt-get install -y wrk');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await startExample(port);
  try {
    const login = async () => {
      const body = JSON.stringify({ username: 'alice', password: 'alice-password' });
      const response = await call(`${base}/auth-token/`, 'POST', { 'content-type': 'application/json', 'x-device-model': 'wrk' }, body);
      if (response.status !== 200) throw new Error(`login answered ${response.status}`);
      return JSON.parse(response.body) as { token: string; permanent_token: string; device_id: number };
    };
    const device = await login();
    const routes = {
      health: () => wrk(`${base}/health`, lua('GET', {}), app.pid!),
      me: () => wrk(`${base}/me`, lua('GET', { Authorization: `Bearer ${device.token}` }), app.pid!),
      refresh: () => wrk(`${base}/device-refresh-token/`, lua('POST', { 'Permanent-Token': device.permanent_token }), app.pid!),
    };
    // Warm-up (JIT) of both guarded routes, so that no route's first round runs cold.
    routes.me();
    routes.refresh();
    const ratios = { me: [] as number[], refresh: [] as number[] };
    const cpuRatios = { me: [] as number[], refresh: [] as number[] };
    const rows: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const health = routes.health();
      const me = routes.me();
      const refresh = routes.refresh();
      for (const [name, result] of Object.entries({ health, me, refresh })) {
        if (result.errors > 0) throw new Error(`${name} answered ${result.errors} errors in round ${round}`);
      }
      ratios.me.push(me.rps / health.rps);
      ratios.refresh.push(refresh.rps / health.rps);
      cpuRatios.me.push(health.cpuUs / me.cpuUs);
      cpuRatios.refresh.push(health.cpuUs / refresh.cpuUs);
      const cell = (result: WrkResult) => `${result.rps.toFixed(0)} (${result.cpuUs.toFixed(0)} µs)`;
      rows.push(`| ${round} | ${cell(health)} | ${cell(me)} | ${cell(refresh)} |`);
    }

    // A device row deleted behind the module's back is refused at once: with the cache off, every request reads it.
    const victim = await login();
    const before = await call(`${base}/me`, 'GET', { authorization: `Bearer ${victim.token}` });
    const connection = new Database(database);
    const deleted = connection.prepare('DELETE FROM jwt_devices_device WHERE id = ?').run(victim.device_id).changes;
    connection.close();
    const after = await call(`${base}/me`, 'GET', { authorization: `Bearer ${victim.token}` });
    const deletedRefused = deleted === 1 && before.status === 200 && after.status === 401;

    const spread = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
    const verdict = (name: keyof typeof TARGETS) =>
      `${median(ratios[name]).toFixed(2)}× in req/s (target ≥ ${TARGETS[name]}×: ${median(ratios[name]) >= TARGETS[name] ? 'met' : 'MISSED'}; ` +
      `rounds ${spread(ratios[name])}); ${median(cpuRatios[name]).toFixed(2)}× by CPU per request (rounds ${spread(cpuRatios[name])})`;
    console.log(
      [
        `## The example app under wrk (Express, SQLite WAL, JWT_DEVICE_CACHE_SIZE=0)`,
        '',
        `${ROUNDS} interleaved rounds of ${SECONDS} s per route, ${CONNECTIONS} connections; ${pinned ? 'app on core 0, wrk on core 1 (taskset)' : 'not pinned'}.`,
        '',
        'req/s, and in brackets the app\'s CPU time per request.',
        '',
        '| round | GET /health | GET /me | refresh |',
        '|--:|--:|--:|--:|',
        ...rows,
        '',
        `- guarded \`GET /me\` ÷ \`GET /health\`, median: ${verdict('me')}`,
        `- refresh ÷ \`GET /health\`, median: ${verdict('refresh')}`,
        `- a device row deleted in the database: /me ${before.status} before, ${after.status} after (${deletedRefused ? 'refused at once' : 'NOT REFUSED'})`,
      ].join('\n'),
    );
    if (!deletedRefused) process.exitCode = 1;
  } finally {
    app.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
