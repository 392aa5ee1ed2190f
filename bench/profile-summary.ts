/**
 * Where a V8 CPU profile (.cpuprofile, from node --cpu-prof) spent its time: self time per
 * function, self time per area (acerelay's folders, Node's HTTP/stream/net internals,
 * packages, GC), and inclusive time of the heaviest functions. Percentages are of busy time
 * (idle excluded).
 */
import { readFileSync } from 'node:fs';
import { ROOT } from './processes.ts';

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
  samples: number[];
  timeDeltas: number[];
  /** µs, CLOCK_MONOTONIC (the clock of process.hrtime). */
  startTime: number;
}

export interface Slice {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  self: Slice[];
  areas: Slice[];
  inclusive: Slice[];
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function fileOf(url: string): string {
  return url.replace(/^file:\/\//, '').replace(`${ROOT}`, '').replace(/^\//, '');
}

function keyOf(f: CallFrame): string {
  if (SPECIAL.has(f.functionName)) return f.functionName;
  const file = fileOf(f.url);
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : '(native)'}`;
}

function areaOf(f: CallFrame): string {
  if (SPECIAL.has(f.functionName)) return f.functionName;
  const file = fileOf(f.url);
  if (file.startsWith('src/')) return file.split('/').slice(0, 2).join('/').replace(/\.ts$/, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return `package ${pkg[1]}`;
  if (file.startsWith('node:')) {
    const m = file.replace(/^node:(internal\/)?/, '');
    if (/^_http|^http/.test(m)) return 'node http';
    if (/^streams?|^stream/.test(m)) return 'node streams';
    if (/^net|^stream_base|^tcp/.test(m)) return 'node net';
    if (/^timers|^process\/task_queues/.test(m)) return 'node timers/microtasks';
    return `node ${m.split('/')[0]}`;
  }
  return file ? 'other' : '(native)';
}

function top(map: Map<string, number>, busy: number, n: number): Slice[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / busy) * 1000) / 10 }));
}

/** Summarises the samples taken within `window` (µs on the process's monotonic clock), or all. */
export function summariseProfile(path: string, window: [number, number] | null = null, n = 15): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of prof.nodes) byId.set(node.id, node);
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    at += prof.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) continue;
    const dt = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
    const node = byId.get(prof.samples[i]!);
    if (!node) continue;
    total += dt;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    self.set(keyOf(node.callFrame), (self.get(keyOf(node.callFrame)) ?? 0) + dt);
    areas.set(areaOf(node.callFrame), (areas.get(areaOf(node.callFrame)) ?? 0) + dt);
    // Inclusive: every function on the stack once per sample.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (SPECIAL.has(f.functionName)) continue;
      const k = keyOf(f);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const busy = Math.max(1, total - idle);
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    self: top(self, busy, n),
    areas: top(areas, busy, n),
    inclusive: top(inclusive, busy, n),
  };
}
