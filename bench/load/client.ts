/**
 * The load client: a separate process (forked by the runner with an IPC channel) that plays
 * every player of a scenario over raw sockets and reports bytes, first-byte times and lag.
 * It measures its own CPU and event-loop delay, so the runner can say when the client, not
 * the proxy, was the bottleneck.
 */
import http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Player, type Target } from './player.ts';
import { HlsPoller } from './hls-poller.ts';
import type { Command, OpenResult, Reply, Request, ThroughputResult, TtfbResult, WindowResult } from './protocol.ts';
import { distribution, percentile, round } from '../stats.ts';

/** How often every live player's lag is sampled. */
const LAG_SAMPLE_MS = 100;
/** Envelope buckets last this many samples (half a second). */
const ENVELOPE_TICKS = 5;
/** "Real time" for a player: at least this share of the bytes the bit rate promises. */
const REAL_TIME = 0.99;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();

let players: Player[] = [];
let pollers: HlsPoller[] = [];
let hlsTargetMs = 0;
let hlsMarks = new Map<HlsPoller, { bytes: number; missed: number; fetches: number }>();
let nextPid = 0;
let window: { startedAt: number; cpu: NodeJS.CpuUsage; rate: number; lags: number[] } | null = null;
let rate = 0;

// Lag is sampled all the time (min D must see the end of the start burst), kept only in a window.
let ticks = 0;
setInterval(() => {
  if (rate <= 0) return;
  const now = performance.now();
  const rotate = ++ticks % ENVELOPE_TICKS === 0;
  for (const p of players) {
    if (!p.live) continue;
    const lag = p.lag(now);
    if (window && lag !== null) window.lags.push(lag * 1000);
    if (rotate) p.rotate();
  }
}, LAG_SAMPLE_MS).unref();

function newPlayer(target: Target, channel: string): Player {
  const p = new Player(target, channel, `bench${process.pid}x${++nextPid}`, agent);
  p.rate = rate;
  return p;
}

async function startInBatches(list: Player[], batch: number, gapMs: number): Promise<void> {
  for (let i = 0; i < list.length; i += batch) {
    for (const p of list.slice(i, i + batch)) void p.start();
    if (i + batch < list.length) await sleep(gapMs);
  }
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, sleep(ms)]);
}

async function openHls(cmd: Extract<Command, { op: 'open' }>, hls: { pollMs: number; targetMs: number }): Promise<OpenResult> {
  const t0 = performance.now();
  rate = 0;
  hlsTargetMs = hls.targetMs;
  const created = cmd.channels.map((c, i) => new HlsPoller(cmd.target, c, `bench-hls-${process.pid}-${++nextPid}-${i}`, hls.pollMs));
  pollers.push(...created);
  for (let i = 0; i < created.length; i += cmd.batch) {
    for (const p of created.slice(i, i + cmd.batch)) p.start();
    if (i + cmd.batch < created.length) await sleep(cmd.batchGapMs);
  }
  // The first segment takes a target duration to complete: give it that on top.
  await withTimeout(Promise.all(created.map((p) => p.firstMedia())), cmd.timeoutMs + hls.targetMs);
  const failed = created.filter((p) => !p.live);
  return {
    players: created.length,
    live: created.length - failed.length,
    failed: failed.length,
    errors: [...new Set(failed.map((p) => p.error ?? 'no segment in time'))].slice(0, 5),
    ttfbMs: distribution(created.filter((p) => p.firstMediaAt >= 0).map((p) => p.ttfbMs)),
    openMs: Math.round(performance.now() - t0),
  };
}

async function open(cmd: Extract<Command, { op: 'open' }>): Promise<OpenResult> {
  if (cmd.hls) return openHls(cmd, cmd.hls);
  const t0 = performance.now();
  rate = cmd.rate;
  const created = cmd.channels.map((c) => newPlayer(cmd.target, c));
  players.push(...created);
  if (cmd.target.mode === 'relay') {
    // The first player of each channel starts it; the others join it live.
    const seen = new Set<string>();
    const leaders: Player[] = [];
    const joiners: Player[] = [];
    for (const p of created) {
      (seen.has(p.channel) ? joiners : leaders).push(p);
      seen.add(p.channel);
    }
    await startInBatches(leaders, cmd.batch, cmd.batchGapMs);
    await withTimeout(Promise.all(leaders.map((p) => p.firstMedia())), cmd.timeoutMs);
    await startInBatches(joiners, cmd.batch, cmd.batchGapMs);
  } else {
    await startInBatches(created, cmd.batch, cmd.batchGapMs);
  }
  await withTimeout(Promise.all(created.map((p) => p.firstMedia())), cmd.timeoutMs);
  const failed = created.filter((p) => !p.live);
  return {
    players: created.length,
    live: created.length - failed.length,
    failed: failed.length,
    errors: [...new Set(failed.map((p) => p.error ?? 'no media byte in time'))].slice(0, 5),
    ttfbMs: distribution(created.filter((p) => p.firstMediaAt >= 0).map((p) => p.ttfbMs)),
    openMs: Math.round(performance.now() - t0),
  };
}

function windowStart(): Record<string, never> {
  const now = performance.now();
  hlsMarks = new Map(pollers.map((p) => [p, { bytes: p.bytes, missed: p.missed, fetches: p.fetches.length }]));
  for (const p of players) {
    p.mark = p.bytes;
    p.markD = p.envelope(now);
  }
  eld.reset();
  window = { startedAt: performance.now(), cpu: process.cpuUsage(), rate, lags: [] };
  return {};
}

function windowEnd(): WindowResult {
  if (!window) throw new Error('no window started');
  const w = window;
  window = null;
  const now = performance.now();
  const seconds = (now - w.startedAt) / 1000;
  const cpu = process.cpuUsage(w.cpu);
  let bytes = 0;
  const ratios: number[] = [];
  for (const p of players) {
    bytes += p.bytes - p.mark;
    // Stream time gained over wall time: 1 − growth of D's lower envelope over the window.
    ratios.push(p.ended ? 0 : 1 - (p.envelope(now) - p.markD) / seconds);
  }
  if (pollers.length > 0) return hlsWindowEnd(w, seconds, cpu);
  const ended = players.filter((p) => p.ended);
  return {
    seconds: round(seconds, 3),
    bytes,
    players: players.length,
    keepingUp: ratios.filter((r) => r >= REAL_TIME).length,
    ratioMin: round(ratios.reduce((m, r) => (r < m ? r : m), ratios.length ? Infinity : NaN), 4),
    ratioP50: round(percentile(ratios, 50), 4),
    lagMs: distribution(w.lags),
    ended: ended.length,
    endErrors: [...new Set(ended.map((p) => p.error ?? 'ended'))].slice(0, 5),
    misaligned: players.reduce((s, p) => s + p.misaligned, 0),
    clientCpuSeconds: round((cpu.user + cpu.system) / 1e6, 3),
    clientEldP99Ms: round(Math.max(0, eld.percentile(99) / 1e6 - 10), 1),
  };
}

/** An HLS window: bytes of the segments in hand, each segment's time from listed to in hand. */
function hlsWindowEnd(w: NonNullable<typeof window>, seconds: number, cpu: NodeJS.CpuUsage): WindowResult {
  let bytes = 0;
  let missed = 0;
  let late = 0;
  let keepingUp = 0;
  const latencies: number[] = [];
  const perClient: number[] = [];
  for (const p of pollers) {
    const mark = hlsMarks.get(p) ?? { bytes: 0, missed: 0, fetches: 0 };
    bytes += p.bytes - mark.bytes;
    const fetched = p.fetches.slice(mark.fetches);
    const lateHere = fetched.filter((f) => f.doneAt - f.listedAt > hlsTargetMs).length;
    const missedHere = p.missed - mark.missed;
    for (const f of fetched) latencies.push(f.doneAt - f.listedAt);
    perClient.push(fetched.length);
    missed += missedHere;
    late += lateHere;
    if (!p.ended && fetched.length > 0 && lateHere === 0 && missedHere === 0) keepingUp++;
  }
  const ended = pollers.filter((p) => p.ended);
  return {
    seconds: round(seconds, 3),
    bytes,
    players: pollers.length,
    keepingUp,
    ratioMin: NaN,
    ratioP50: NaN,
    lagMs: distribution(latencies),
    ended: ended.length,
    endErrors: [...new Set(ended.map((p) => p.error ?? 'ended'))].slice(0, 5),
    misaligned: pollers.reduce((s, p) => s + p.misaligned, 0),
    clientCpuSeconds: round((cpu.user + cpu.system) / 1e6, 3),
    clientEldP99Ms: round(Math.max(0, eld.percentile(99) / 1e6 - 10), 1),
    hls: { segmentsPerClient: percentile(perClient, 50), missed, late },
  };
}

function closeAll(): Record<string, never> {
  for (const p of players) p.close();
  players = [];
  for (const p of pollers) p.close();
  pollers = [];
  return {};
}

async function ttfb(cmd: Extract<Command, { op: 'ttfb' }>): Promise<TtfbResult> {
  const times: number[] = [];
  const errors = new Set<string>();
  let failed = 0;
  for (const channel of cmd.channels) {
    const p = newPlayer(cmd.target, channel);
    void p.start();
    await withTimeout(p.firstMedia(), cmd.timeoutMs);
    if (p.firstMediaAt >= 0) times.push(p.ttfbMs);
    else {
      failed++;
      errors.add(p.error ?? 'no media byte in time');
    }
    p.close();
    await sleep(cmd.gapMs);
  }
  return { ttfbMs: times, failed, errors: [...errors].slice(0, 5) };
}

async function throughput(cmd: Extract<Command, { op: 'throughput' }>): Promise<ThroughputResult> {
  const p = newPlayer(cmd.target, cmd.channel);
  void p.start();
  await withTimeout(p.firstMedia(), 10_000);
  await sleep(cmd.warmupMs);
  const b0 = p.bytes;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(cmd.windowMs);
  const seconds = (performance.now() - t0) / 1000;
  const bytes = p.bytes - b0;
  const cpu = process.cpuUsage(cpu0);
  const error = p.ended ? (p.error ?? 'ended') : p.firstMediaAt < 0 ? 'no media byte' : null;
  p.close();
  return {
    bytes,
    seconds: round(seconds, 3),
    mbPerS: round(bytes / seconds / 1e6, 1),
    clientCpuSeconds: round((cpu.user + cpu.system) / 1e6, 3),
    error,
    misaligned: p.misaligned,
  };
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'open':
      return open(cmd);
    case 'windowStart':
      return windowStart();
    case 'windowEnd':
      return windowEnd();
    case 'close':
      return closeAll();
    case 'ttfb':
      return ttfb(cmd);
    case 'throughput':
      return throughput(cmd);
  }
}

process.on('message', (msg: Request) => {
  handle(msg.cmd).then(
    (data) => process.send!({ seq: msg.seq, ok: true, data } satisfies Reply),
    (err: unknown) => process.send!({ seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
});
process.on('disconnect', () => process.exit(0));
