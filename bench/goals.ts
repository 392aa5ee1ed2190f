/**
 * The goals of issue 16, each with its figure before (bench/baseline/before-issue-16.json,
 * the code as it was) and in this run, and whether this run meets it. Ratios are taken within
 * one run (acerelay against nginx or the pipe measured beside it), never across runs.
 */
import type { StreamsResult } from './measure.ts';
import { chunkLabel, type BenchResults } from './report.ts';
import { round } from './stats.ts';

export const BASELINE_FILE = 'bench/baseline/before-issue-16.json';

/** The fan-out sizes the goals name (their rows are measured in rounds: bench/main.ts). */
export const FANOUT_PLAYERS = [100, 500, 1000];
const CPU_GOAL = 0.5;
const MULTI_GOAL = 0.7;
const LAG_MARGIN_MS = 100;
const REAL_TIME_SHARE = 1;
const MEMORY_GOAL = 1.5;
const PER_PLAYER_KIB = 50;

const dash = '—';

function target(rows: StreamsResult[] | undefined, name: string): StreamsResult | undefined {
  return rows?.find((r) => r.target === name);
}

function cpuRatio(rows: StreamsResult[] | undefined, ref = 'nginx'): number | null {
  const a = target(rows, 'acerelay')?.proxy?.cpuPerGB;
  const b = target(rows, ref)?.proxy?.cpuPerGB;
  return a !== undefined && b !== undefined && b > 0 ? a / b : null;
}

const x = (v: number | null) => (v === null ? dash : `${round(v, 2)}×`);
const met = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? '**met**' : '**not met**');

function fanoutRows(res: BenchResults, chunk: number, players: number): StreamsResult[] | undefined {
  return res.fanout.find((r) => (r.chunkBytes ?? 0) === chunk && r.players === players)?.results;
}

function realTime(rows: StreamsResult[] | undefined, name = 'acerelay'): string {
  const a = target(rows, name);
  return a ? `${a.window.keepingUp}/${a.players}` : dash;
}

function lag(rows: StreamsResult[] | undefined): { text: string; ok: boolean | null } {
  const a = target(rows, 'acerelay')?.window.lagMs.p99;
  const n = target(rows, 'nginx')?.window.lagMs.p99;
  if (a === undefined || n === undefined) return { text: dash, ok: null };
  return { text: `${round(a, 0)} / ${round(n, 0)}`, ok: a <= n + LAG_MARGIN_MS };
}

/** The goals table, or nothing when this run has no fan-out rows. */
export function renderGoals(res: BenchResults, before: BenchResults | null): string[] {
  if (res.fanout.length === 0 && res.unpaced.length === 0) return [];
  const L: string[] = [];
  L.push('## Issue 16 goals: before and after', '');
  L.push(
    `*Before* is \`${BASELINE_FILE}\` (a full run of the code before issue 16 on the same machine, by the bench as it was then: each`,
    'proxy measured cold, the window 1.5 s after the first bytes, one round); *after* is this run, by the bench as it is now.',
    'Every ratio is taken within one run (acerelay against the reference measured beside it); figures of different runs are',
    'not compared directly. Lag is p99, acerelay / nginx (ms); real time is acerelay\'s players at ≥ 99 % of real time (nginx\'s',
    'in the last column: where it is short of all, nginx itself fell behind and its lag is no yardstick).',
    '',
  );
  L.push(
    '| engine writes | players | CPU/GB × nginx, before → after (goal ≤ 0.5×) | real time, before → after | lag p99 ms before → after (goal ≤ nginx + 100) | met | nginx real time, after |',
    '|---|---:|---:|---:|---:|---|---:|',
  );
  const chunks = [...new Set(res.fanout.map((r) => r.chunkBytes ?? 0))];
  for (const chunk of chunks) {
    for (const n of FANOUT_PLAYERS) {
      const now = fanoutRows(res, chunk, n);
      if (!now) continue;
      const then = before ? fanoutRows(before, chunk, n) : undefined;
      const r = cpuRatio(now);
      const a = target(now, 'acerelay');
      const l = lag(now);
      const okCpu = r === null ? null : r <= CPU_GOAL;
      const okRt = a ? a.window.keepingUp >= a.players * REAL_TIME_SHARE : null;
      const all = [okCpu, okRt, l.ok];
      const parts = [okCpu === false ? 'CPU' : '', okRt === false ? 'real time' : '', l.ok === false ? 'lag' : ''].filter(Boolean);
      const verdict = all.includes(null) ? 'not measured' : parts.length ? `**not met** (${parts.join(', ')})` : '**met**';
      L.push(`| ${chunkLabel(chunk)} | ${n} | ${x(cpuRatio(then))} → ${x(r)} | ${realTime(then)} → ${realTime(now)} | ${lag(then).text} → ${l.text} | ${verdict} | ${realTime(now, 'nginx')} |`);
    }
  }
  L.push('');

  L.push('| goal | before | after | met |', '|---|---:|---:|---|');
  const unpaced = (r: BenchResults | null) => {
    const a = target(r?.unpaced, 'acerelay');
    const p = target(r?.unpaced, 'pipe');
    if (!a || !p) return null;
    return { mbs: a.mbPerS / p.mbPerS, cpu: a.proxy && p.proxy ? a.proxy.cpuPerGB / p.proxy.cpuPerGB : null, a, p };
  };
  const u0 = unpaced(before);
  const u1 = unpaced(res);
  const uText = (u: ReturnType<typeof unpaced>, what: 'mbs' | 'cpu') =>
    !u ? dash : what === 'mbs' ? `${x(u.mbs)} (${round(u.a.mbPerS, 0)} vs ${round(u.p.mbPerS, 0)} MB/s)` : `${x(u.cpu)} (${u.a.proxy?.cpuPerGB ?? dash} vs ${u.p.proxy?.cpuPerGB ?? dash})`;
  L.push(`| one unpaced stream: throughput ≥ the bare pipe's (× pipe) | ${uText(u0, 'mbs')} | ${uText(u1, 'mbs')} | ${met(u1 ? u1.mbs >= 1 : null)} |`);
  L.push(`| one unpaced stream: CPU per GB ≤ the bare pipe's (× pipe, CPU-s/GB) | ${uText(u0, 'cpu')} | ${uText(u1, 'cpu')} | ${met(u1?.cpu != null ? u1.cpu <= 1 : null)} |`);
  for (const row of res.multi) {
    const chunk = row.chunkBytes ?? 0;
    const then = before?.multi.find((m) => (m.chunkBytes ?? 0) === chunk)?.results;
    const r = cpuRatio(row.results);
    L.push(`| 50 channels × 4 players, ${chunkLabel(chunk)}: CPU per GB ≤ 0.7× nginx | ${x(cpuRatio(then))} | ${x(r)} | ${met(r === null ? null : r <= MULTI_GOAL)} |`);
  }
  for (const m of res.channelMemory ?? []) {
    L.push(`| per-channel memory ≤ 1.5× the replay window, ${chunkLabel(m.chunkBytes)} (most held ÷ largest window) | not measured | ${m.peakRatio}× (${m.heldPeakKiB} / ${m.windowPeakKiB} KiB) | ${met(m.peakRatio <= MEMORY_GOAL)} |`);
  }
  for (const chunk of chunks) {
    // The most players measured in this run, and the same number before (memory per player falls with players).
    const biggest = (r: BenchResults | null, players?: number) =>
      [...(r?.fanout ?? [])]
        .reverse()
        .find((row) => (row.chunkBytes ?? 0) === chunk && (players === undefined ? row.players >= 100 : row.players === players) && target(row.results, 'acerelay')?.proxy?.heapPerPlayerKiB != null);
    const per = (row: ReturnType<typeof biggest>) => {
      const p = row ? target(row.results, 'acerelay')?.proxy : undefined;
      return p?.heapPerPlayerKiB != null && row ? { kib: Math.max(0, p.heapPerPlayerKiB), n: row.players } : null;
    };
    const p1 = per(biggest(res));
    const p0 = p1 ? per(biggest(before, p1.n)) : null;
    const t = (p: ReturnType<typeof per>) => (p ? `${round(p.kib, 1)} KiB at ${p.n}` : dash);
    L.push(`| per player ≤ 50 KiB beyond its backlog (heap+ext), ${chunkLabel(chunk)} | ${t(p0)} | ${t(p1)} | ${met(p1 ? p1.kib <= PER_PLAYER_KIB : null)} |`);
  }
  L.push('');
  L.push(...renderRounds(res));
  return L;
}

/** Every round of the goal rows measured in rounds, so the spread behind each ratio shows. */
function renderRounds(res: BenchResults): string[] {
  const rows = [
    ...res.fanout.map((r) => ({ label: `one channel × ${r.players}, ${chunkLabel(r.chunkBytes ?? 0)}`, rounds: r.rounds })),
    ...res.multi.map((r) => ({ label: `${r.channels} × ${r.perChannel}, ${chunkLabel(r.chunkBytes ?? 0)}`, rounds: r.rounds })),
  ].filter((r): r is { label: string; rounds: Record<string, number[]> } => r.rounds !== undefined);
  if (rows.length === 0) return [];
  const n = Math.max(...rows.map((r) => r.rounds.acerelay?.length ?? 0));
  const L = [
    `Each goal row above is the best of ${n} interleaved rounds per side (acerelay and nginx in turn; each keeps its round with the`,
    'lowest CPU per GB, the same rule for both). Every round, CPU-s per GB:',
    '',
    '| row | acerelay | nginx | acerelay ÷ nginx, round by round |',
    '|---|---:|---:|---:|',
  ];
  for (const { label, rounds } of rows) {
    const a = rounds.acerelay ?? [];
    const g = rounds.nginx ?? [];
    const each = a.map((v, i) => (g[i] ? `${round(v / g[i]!, 2)}×` : dash));
    L.push(`| ${label} | ${a.join(' / ') || dash} | ${g.join(' / ') || dash} | ${each.join(' / ') || dash} |`);
  }
  L.push('');
  return L;
}
