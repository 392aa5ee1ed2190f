/**
 * One benchmark run's processes and its measured runs: starts the source and the proxies for
 * a phase, samples their idle CPU, and measures players against one target at a time.
 *
 * Fairness: an engine session has one reader, so every reference needs one engine session
 * per player (N players on "one channel" are N sessions of N ids carrying the same stream);
 * acerelay reads one session per channel and fans it out. That difference is what is compared.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchArgs, TargetName } from './args.ts';
import type { LoadPool } from './load/driver.ts';
import type { Target } from './load/player.ts';
import { measureStreams, openCommand, type StreamsResult } from './measure.ts';
import { startAcerelay, startNginx, startPipe, startSim, type Service, type SimService } from './processes.ts';
import type { BenchResults } from './report.ts';
import { round } from './stats.ts';
import { groupCpu } from './proc-stats.ts';

/** The engine's start answer: short, so cold-start trials stay quick; the overhead is a difference anyway. */
export const START_DELAY_MS = 100;
const BATCH = 50;
const BATCH_GAP_MS = 20;
/** After closing a run's players: acerelay's linger (1 s in the bench) plus its stop call. */
const SETTLE_MS = 1_500;
const SETTLE_REFERENCE_MS = 500;
/** Long enough for /proc's 10 ms ticks to say something about a nearly idle process. */
const IDLE_SAMPLE_MS = 3_000;
/** acerelay's default ACERELAY_HLS_SEGMENT: the bench runs it as configured out of the box. */
export const HLS_SEGMENT_MS = 2_000;
/**
 * Traffic through each proxy before its first measured run, not measured: a Node proxy
 * compiles its byte path while it runs, and the first run of a phase (a fresh process) would
 * otherwise measure V8's compiler: acerelay's CPU in the seconds after its first 100 players
 * was 140–370 ms/s, then 40–70, then 10–40 (per-second samples, 64 KiB writes). A proxy
 * serves for hours; the figures are of one that has served before. Every target gets it.
 */
export const WARM_MS = 5_000;
/** Throughput on a shared machine is noisy: the best of a few short interleaved rounds. */
export const UNPACED_ROUNDS = 3;
export const UNPACED_WINDOW_MS = 2_000;

export interface Bound {
  name: TargetName;
  target: Target;
  proxy: Service | null;
}

/** After a run's players closed: acerelay lingers on a channel after its last player; the references' sessions end with their reader. */
function settle(t: Bound): Promise<void> {
  return sleep(t.target.mode === 'relay' ? SETTLE_MS : SETTLE_REFERENCE_MS);
}

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** A 40-hex content id nobody used yet (never starting with "dead": the sim fails those). */
export function freshId(): string {
  return `be${randomBytes(19).toString('hex')}`;
}

function channelsFor(t: Bound, channels: number, perChannel: number): string[] {
  const out: string[] = [];
  for (let c = 0; c < channels; c++) {
    // acerelay: one id per channel, shared by its players; a reference: one id per player.
    const shared = freshId();
    for (let p = 0; p < perChannel; p++) out.push(t.target.mode === 'relay' ? shared : freshId());
  }
  return out;
}

export class Run {
  readonly services: Service[] = [];
  pool: LoadPool | null = null;

  constructor(
    readonly dir: string,
    readonly args: BenchArgs,
    readonly results: BenchResults,
  ) {}

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.services.splice(0).map((s) => s.stop()));
  }

  /** Starts the source (writing `chunkBytes` at a time; 0: what is due) and every requested proxy on it, runs `fn`, stops them all. */
  async phase(bitrate: number, chunkBytes: number, fn: (sim: SimService, targets: Bound[]) => Promise<void>): Promise<void> {
    const sim = await startSim(this.dir, { bitrate, chunkBytes, startDelayMs: START_DELAY_MS, name: `sim-${bitrate}-${chunkBytes}` });
    this.services.push(sim);
    const targets: Bound[] = [];
    const want = new Set(this.args.targets);
    try {
      if (want.has('engine')) targets.push({ name: 'engine', target: { name: 'engine', base: sim.engineUrl, mode: 'session' }, proxy: null });
      if (want.has('acerelay')) {
        const s = await startAcerelay(this.dir, { engineUrl: sim.engineUrl });
        this.services.push(s);
        targets.push({ name: 'acerelay', target: { name: 'acerelay', base: s.url, mode: 'relay' }, proxy: s });
      }
      if (want.has('nginx')) {
        const s = await startNginx(this.dir, sim.engineUrl);
        if (s) {
          this.services.push(s);
          targets.push({ name: 'nginx', target: { name: 'nginx', base: s.url, mode: 'session' }, proxy: s });
        } else this.note('nginx: /usr/sbin/nginx is absent (Debian: apt-get install nginx-light); its column is skipped');
      }
      if (want.has('pipe')) {
        const s = await startPipe(this.dir, sim.engineUrl);
        this.services.push(s);
        targets.push({ name: 'pipe', target: { name: 'pipe', base: s.url, mode: 'session' }, proxy: s });
      }
      await this.idle(targets);
      await this.warm(targets, bitrate / 8);
      await fn(sim, targets);
    } finally {
      await this.stopAll();
    }
  }

  /** Each proxy's CPU with no player at all: at a few players, per-GB figures are mostly this. */
  async idle(targets: Bound[]): Promise<void> {
    const proxies = targets.filter((t) => t.proxy && !(t.name in this.results.idleCores));
    if (proxies.length === 0) return;
    await sleep(500);
    const before = proxies.map((t) => groupCpu(t.proxy!.group));
    await sleep(IDLE_SAMPLE_MS);
    proxies.forEach((t, i) => (this.results.idleCores[t.name] = round((groupCpu(t.proxy!.group) - before[i]!) / (IDLE_SAMPLE_MS / 1000), 3)));
  }

  /** WARM_MS of traffic through every proxy (paced: 10 channels × 10 players; unpaced: one stream), one at a time. */
  async warm(targets: Bound[], rate: number): Promise<void> {
    for (const t of targets) {
      if (!t.proxy) continue;
      const [channels, perChannel] = rate > 0 ? [10, 10] : [1, 1];
      await this.pool!.open(openCommand({ target: t.target, channels: channelsFor(t, channels, perChannel), rate, batch: BATCH, batchGapMs: BATCH_GAP_MS }));
      await sleep(WARM_MS);
      await this.pool!.close();
      await settle(t);
    }
  }

  note(text: string): void {
    if (!this.results.notes.includes(text)) this.results.notes.push(text);
  }

  /**
   * `clients` HLS clients on one channel through acerelay, each fetching every new segment.
   * The window spans several segments (at least four target durations): a segment is the unit.
   */
  async hls(sim: SimService, t: Bound, clients: number): Promise<StreamsResult> {
    const id = freshId();
    const r = await measureStreams(this.pool!, {
      target: t.target,
      proxy: t.proxy,
      source: sim,
      channels: Array.from({ length: clients }, () => id),
      rate: this.args.bitrate / 8,
      // A thousand clients fetching their first segment at once fall a few segments behind and
      // catch up: the window starts once that has passed.
      warmupMs: this.args.warmupMs + 4 * HLS_SEGMENT_MS,
      windowMs: Math.max(this.args.windowMs, 4 * HLS_SEGMENT_MS),
      batch: BATCH,
      batchGapMs: BATCH_GAP_MS,
      hls: { pollMs: HLS_SEGMENT_MS / 2, targetMs: HLS_SEGMENT_MS },
    });
    const h = r.window.hls;
    log(`  ${t.name} HLS: ${r.mbPerS} MB/s, ${r.window.keepingUp}/${r.players} got every segment in time (missed ${h?.missed ?? '?'}, late ${h?.late ?? '?'}), segment in hand p99 ${r.window.lagMs.p99} ms after listed${r.proxy ? `, proxy ${r.proxy.cpuPerGB} CPU-s/GB` : ''}`);
    await sleep(SETTLE_MS);
    return r;
  }

  async streams(sim: SimService, t: Bound, channels: number, perChannel: number, rate: number, windowMs: number): Promise<StreamsResult> {
    const r = await measureStreams(this.pool!, {
      target: t.target,
      proxy: t.proxy,
      source: sim,
      channels: channelsFor(t, channels, perChannel),
      rate,
      warmupMs: rate > 0 ? this.args.warmupMs : 500,
      windowMs,
      batch: BATCH,
      batchGapMs: BATCH_GAP_MS,
    });
    const extra = r.bottlenecks.length ? ` [${r.bottlenecks.join(', ')}]` : '';
    const keep = rate > 0 ? ` ${r.window.keepingUp}/${r.players} at ≥99%, lag p99 ${r.window.lagMs.p99} ms` : '';
    const cpu = r.proxy ? `, proxy ${r.proxy.cpuPerGB} CPU-s/GB (sys ${r.proxy.sysPerGB})` : '';
    log(`  ${t.name}: ${r.mbPerS} MB/s${keep}${cpu}, client ${r.clientShares.join('+')} cores${extra}`);
    await settle(t);
    return r;
  }
}
