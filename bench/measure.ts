/**
 * One measured run of players against one target: open them, let the start bursts pass,
 * then a window in which the load client counts bytes and lag while the runner reads the
 * proxy's CPU and memory from /proc (and its probe for event-loop delay, heap and backlog).
 */
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadClient, LoadPool } from './load/driver.ts';
import type { Command, OpenResult, TtfbResult, WindowResult } from './load/protocol.ts';
import type { Target } from './load/player.ts';
import type { Service } from './processes.ts';
import { busyShare, groupCpu, groupRss, groupSys, machineCpu } from './proc-stats.ts';
import { probe, type ProbeSnapshot } from './probe-reader.ts';
import { median, round } from './stats.ts';

/** The load client counts as the bottleneck past this share of one core. */
export const CLIENT_BOUND_SHARE = 0.85;
/** The source (simulator) likewise. */
export const SOURCE_BOUND_SHARE = 0.85;
/** Every core busy: figures measure the machine as much as the proxy. */
export const MACHINE_SATURATED = 0.95;
/** CPU used by processes outside the run (cores) worth a word: someone else shares the machine. */
export const BACKGROUND_NOTICE = 0.3;

export interface StreamsSpec {
  target: Target;
  /** The proxy under test; null for the engine itself. */
  proxy: Service | null;
  source: Service;
  channels: string[];
  /** Bytes/s of the stream; 0 = unpaced. */
  rate: number;
  warmupMs: number;
  windowMs: number;
  batch: number;
  batchGapMs: number;
  /** HLS clients polling the channel's playlist instead of TS players. */
  hls?: { pollMs: number; targetMs: number };
}

export interface ProxyFigures {
  cpuSeconds: number;
  /** Proxy CPU seconds per GB delivered to players in the window. */
  cpuPerGB: number;
  /** The kernel's part of it (system time: syscalls, TCP, softirqs charged to the proxy). */
  sysPerGB: number;
  rssBaseMiB: number;
  rssMiB: number;
  rssPerPlayerKiB: number;
  /** Node proxies: (heap + external) growth per player after a GC, backlog excluded. */
  heapPerPlayerKiB: number | null;
  backlogMiB: number | null;
  loopDelay: { p50: number; p99: number; max: number } | null;
  /** The window on the proxy's monotonic clock (µs), to cut a CPU profile to it. */
  windowMonoUs: [number, number] | null;
  /**
   * What joining cost: proxy CPU from the players' open to the window's start, less what the
   * window's steady rate uses from their first bytes on, per player (ms; absent in older results).
   */
  joinMsPerPlayer?: number;
}

export interface StreamsResult {
  target: string;
  players: number;
  channels: number;
  open: OpenResult;
  window: WindowResult;
  /** MB/s delivered to all players together. */
  mbPerS: number;
  proxy: ProxyFigures | null;
  sourceCpuShare: number;
  /** All load clients together (cores). */
  clientCpuShare: number;
  /** Each load client (cores): one at ≥ 0.85 is the bottleneck, whatever the others do. */
  clientShares: number[];
  machineBusy: number;
  /** Cores busy outside the proxy, the source and the load client (other processes, the kernel's own threads). */
  backgroundCores: number;
  bottlenecks: string[];
}

const MiB = 1024 * 1024;

function heapish(s: ProbeSnapshot | null): number | null {
  return s ? s.mem.heapUsed + s.mem.external : null;
}

/** The load client's command that opens a run's players (the bench's own warm-up opens its players the same way). */
export function openCommand(spec: Pick<StreamsSpec, 'target' | 'channels' | 'rate' | 'batch' | 'batchGapMs' | 'hls'>): Extract<Command, { op: 'open' }> {
  return {
    op: 'open',
    target: spec.target,
    channels: spec.channels,
    batch: spec.batch,
    batchGapMs: spec.batchGapMs,
    timeoutMs: 15_000,
    rate: spec.rate,
    ...(spec.hls ? { hls: spec.hls } : {}),
  };
}

export async function measureStreams(pool: LoadPool, spec: StreamsSpec): Promise<StreamsResult> {
  const { proxy, source } = spec;
  const base = proxy ? await probe(proxy, { collect: true }) : null;
  const rssBase = proxy ? groupRss(proxy.group) : 0;

  const cpuOpen = proxy ? groupCpu(proxy.group) : 0;
  const open = await pool.open(openCommand(spec));
  // Every player has its first bytes: from here on the stream flows at its steady rate.
  const flowingAt = Date.now();
  await sleep(spec.warmupMs);

  // Window start: reset the proxy's loop-delay histogram, then read every counter.
  const start = proxy ? await probe(proxy, { collect: false }) : null;
  const cpu0 = proxy ? groupCpu(proxy.group) : 0;
  const startedAt = Date.now();
  const sys0 = proxy ? groupSys(proxy.group) : 0;
  const src0 = groupCpu(source.group);
  const m0 = machineCpu();
  await pool.windowStart();
  const rss: number[] = [];
  const until = Date.now() + spec.windowMs;
  while (Date.now() < until) {
    if (proxy) rss.push(groupRss(proxy.group));
    await sleep(Math.min(250, Math.max(0, until - Date.now())));
  }
  const { window, clientShares } = await pool.windowEnd();
  const cpu1 = proxy ? groupCpu(proxy.group) : 0;
  const endedAt = Date.now();
  const sys1 = proxy ? groupSys(proxy.group) : 0;
  const src1 = groupCpu(source.group);
  const m1 = machineCpu();
  const end = proxy ? await probe(proxy, { collect: true }) : null;
  await pool.close();
  // The raw samples served the merge; the results file keeps the summaries.
  window.lagSamples = [];
  window.ratios = [];
  open.ttfbSamples = [];

  const players = spec.channels.length;
  const seconds = window.seconds;
  let proxyFigures: ProxyFigures | null = null;
  if (proxy) {
    // CPU from the open to the window, less what the window's steady rate uses once bytes flow.
    const steadyPerMs = (cpu1 - cpu0) / (endedAt - startedAt);
    const joinCpu = cpu0 - cpuOpen - steadyPerMs * (startedAt - flowingAt);
    const rssNow = median(rss);
    const heap0 = heapish(base);
    const heap1 = heapish(end);
    const backlog = end ? end.backlog : null;
    proxyFigures = {
      cpuSeconds: round(cpu1 - cpu0, 3),
      cpuPerGB: round((cpu1 - cpu0) / (window.bytes / 1e9), 2),
      sysPerGB: round((sys1 - sys0) / (window.bytes / 1e9), 2),
      rssBaseMiB: round(rssBase / MiB, 1),
      rssMiB: round(rssNow / MiB, 1),
      rssPerPlayerKiB: round((rssNow - rssBase) / players / 1024, 1),
      heapPerPlayerKiB:
        heap0 !== null && heap1 !== null ? round((heap1 - heap0 - (backlog ?? 0) + (base?.backlog ?? 0)) / players / 1024, 1) : null,
      backlogMiB: backlog === null ? null : round(backlog / MiB, 2),
      loopDelay: end?.eld ? { p50: round(end.eld.p50, 2), p99: round(end.eld.p99, 2), max: round(end.eld.max, 1) } : null,
      windowMonoUs: start && end ? [start.leftUs, end.enteredUs] : null,
      joinMsPerPlayer: round((joinCpu * 1000) / players, 2),
    };
  }
  const sourceCpuShare = round((src1 - src0) / seconds, 2);
  const clientCpuShare = round(window.clientCpuSeconds / seconds, 2);
  const machineBusy = round(busyShare(m0, m1), 2);
  const proxyCores = proxy ? (cpu1 - cpu0) / seconds : 0;
  const backgroundCores = round(Math.max(0, machineBusy * cpus().length - proxyCores - (src1 - src0) / seconds - window.clientCpuSeconds / seconds), 2);
  const bottlenecks: string[] = [];
  if (clientShares.some((s) => s >= CLIENT_BOUND_SHARE)) bottlenecks.push('load client bound');
  if (sourceCpuShare >= SOURCE_BOUND_SHARE) bottlenecks.push('source bound');
  if (machineBusy >= MACHINE_SATURATED) bottlenecks.push('machine saturated');
  if (backgroundCores >= BACKGROUND_NOTICE) bottlenecks.push(`${backgroundCores} cores busy outside the run`);
  return {
    target: spec.target.name,
    players,
    channels: new Set(spec.channels).size,
    open,
    window,
    mbPerS: round(window.bytes / seconds / 1e6, 1),
    proxy: proxyFigures,
    sourceCpuShare,
    clientCpuShare,
    clientShares,
    machineBusy,
    backgroundCores,
    bottlenecks,
  };
}

export interface TtfbSpec {
  target: Target;
  channels: string[];
  gapMs: number;
}

export async function measureTtfb(client: LoadClient, spec: TtfbSpec): Promise<TtfbResult> {
  return client.send<TtfbResult>({ op: 'ttfb', target: spec.target, channels: spec.channels, gapMs: spec.gapMs, timeoutMs: 10_000 });
}
