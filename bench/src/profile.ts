/**
 * Summaries of a server's `node --cpu-prof` profile: where the CPU went while one route was under
 * load. Samples are kept only from the measured window (the server's monotonic clock, read over IPC,
 * is the clock the profiler stamps samples with), so start-up and warm-up do not count.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const MODULE_AREA = 'nestjs-jwt-devices (dist)';
const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function shortUrl(url: string): string {
  if (!url) return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.match(/\/(bench\/dist\/.*|dist\/.*)$/);
  if (dist) return dist[1]!;
  return url.replace(/^file:\/\//, '');
}

/** Who the code belongs to: an npm package, the module's dist, the bench app, Node itself, or V8. */
function area(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const { url } = frame;
  if (!url) return '(native: V8 builtins, C++ bindings)';
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).split('/');
    return `node:${path[0] === 'internal' ? path.slice(0, 2).join('/') : path[0]}`;
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first!.startsWith('@') ? `${first}/${second}` : first!;
  }
  if (url.includes('/bench/dist/')) return 'bench app (bench/dist)';
  if (url.includes('/dist/')) return MODULE_AREA;
  return shortUrl(url);
}

function functionKey(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const location = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${location}`;
}

export interface ProfileSummary {
  /** Sampled time in the window, idle included, ms. */
  sampledMs: number;
  /** Of which the thread was busy (not `(idle)`), ms. */
  busyMs: number;
  /** [name, busy µs], largest first. */
  self: [string, number][];
  areas: [string, number][];
  /** Time with an area's code anywhere on the stack (callees included). */
  areasInclusive: [string, number][];
  /** Inclusive time of the package's own functions (its dist). */
  moduleInclusive: [string, number][];
  inclusive: [string, number][];
}

/** Self time by function and by area, and inclusive time by function, for samples within [fromUs, toUs]. */
export function summarizeProfile(file: string, fromUs?: number, toUs?: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areasInclusive = new Map<string, number>();
  const moduleInclusive = new Map<string, number>();
  let total = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i]!;
    if ((fromUs !== undefined && time < fromUs) || (toUs !== undefined && time > toUs)) continue;
    // The interval until the next sample is this sample's weight.
    const weight = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]!);
    if (!node || weight <= 0) continue;
    total += weight;
    const key = functionKey(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + weight);
    const owner = area(node.callFrame);
    areas.set(owner, (areas.get(owner) ?? 0) + weight);
    const seen = new Set<string>();
    const seenAreas = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (SPECIAL.has(frame.functionName)) continue;
      const frameArea = area(frame);
      if (!seenAreas.has(frameArea)) {
        seenAreas.add(frameArea);
        areasInclusive.set(frameArea, (areasInclusive.get(frameArea) ?? 0) + weight);
      }
      const name = functionKey(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + weight);
      if (frameArea === MODULE_AREA) moduleInclusive.set(name, (moduleInclusive.get(name) ?? 0) + weight);
    }
  }
  const idle = self.get('(idle)') ?? 0;
  self.delete('(idle)');
  areas.delete('(idle)');
  const top = (map: Map<string, number>, n: number) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return {
    sampledMs: total / 1000,
    busyMs: (total - idle) / 1000,
    self: top(self, 25),
    areas: top(areas, 15),
    areasInclusive: top(areasInclusive, 12),
    moduleInclusive: top(moduleInclusive, 20),
    inclusive: top(inclusive, 30),
  };
}

/** Markdown tables of a summary; `requests` (responses served in the window) turns times into µs per request. */
export function renderProfile(title: string, summary: ProfileSummary, requests: number): string {
  const busyUs = summary.busyMs * 1000;
  const section = (heading: string, rows: [string, number][]) => [
    `#### ${heading}`,
    '',
    '| share of busy | µs/request | where |',
    '|--:|--:|---|',
    ...rows.map(
      ([name, us]) => `| ${((us / busyUs) * 100).toFixed(1)}% | ${(us / Math.max(1, requests)).toFixed(1)} | \`${name.replace(/\|/g, '\\|')}\` |`,
    ),
    '',
  ];
  return [
    `### CPU profile: ${title}`,
    '',
    `Main thread busy ${summary.busyMs.toFixed(0)} of ${summary.sampledMs.toFixed(0)} ms sampled in the measured window ` +
      `(${requests} responses: ${(busyUs / Math.max(1, requests)).toFixed(1)} µs of main-thread time per request). ` +
      'Times are main-thread wall time: `writev` and other C++ bindings include the system call they make and any time the thread ' +
      'waited for a core meanwhile (this is what makes it large on a small, shared VM); `(program)` is V8 and Node internals outside JavaScript.',
    '',
    ...section('Self time by area', summary.areas),
    ...section('Inclusive time by area (that code anywhere on the stack, callees included)', summary.areasInclusive),
    ...section('Self time by function', summary.self),
    ...section("Inclusive time of the package's own functions", summary.moduleInclusive),
    ...section('Inclusive time by function (what each call costs, callees included)', summary.inclusive),
  ].join('\n');
}
