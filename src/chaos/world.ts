/**
 * One run's world: the simulator and the real acerelay in this process, over loopback
 * sockets, both on one ManualClock. Time moves only when the harness says so, in small
 * steps, and real I/O gets a moment to settle after each step — so a 300 s ETA costs
 * seconds, and every timer in acerelay and the simulator is on the same virtual time.
 * (undici's and Fastify's own timers are real time; acerelay's deadlines are on the clock.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type TimerHandle } from '../clock.ts';
import { startSimulator, type SimOptions, type Simulator } from '../sim/index.ts';
import { loadConfig, type Config } from '../config.ts';
import { createAcerelay, type Acerelay } from '../runtime.ts';
import { silentLogger } from '../log.ts';
import type { JournalEntry } from '../domain/journal.ts';
import { ChaosPlayer, type PlayerLog } from './player.ts';
import { HlsViewer, type HlsViewerLog } from './hls-viewer.ts';
import { plantedPorts, type PlantedFault } from './planted-faults.ts';
import { measureMemory, totalBytes } from './memory.ts';

/** The instance name of the harness's acerelay (one instance; its restarts keep the name). */
export const CHAOS_INSTANCE = 'chaos';

/** acerelay's configuration for chaos runs: the defaults scaled down to seconds. */
export const CHAOS_ENV: Record<string, string> = {
  ACERELAY_LISTEN: '127.0.0.1:0',
  // The production default: the VPN's ETA (60 s) fits, so players are held through a VPN
  // outage (where the worst defect was) instead of refused.
  ACERELAY_HOLD_MAX: '60s',
  ACERELAY_QUEUE_MAX: '12',
  ACERELAY_LINGER: '2s',
  ACERELAY_STATUS_INTERVAL: '6s',
  // Longer than the breaker's 5 s floor, so a probe fits between polls that say "ETA 0".
  ACERELAY_STATUS_INTERVAL_DEGRADED: '6s',
  ACERELAY_STATUS_TIMEOUT: '2s',
  ACERELAY_NO_RESPONSE_TIMEOUT: '4s',
  ACERELAY_EMPTY_TIMEOUT: '5s',
  ACERELAY_PROBE_INTERVAL: '8s',
  ACERELAY_SHUTDOWN_GRACE: '8s',
  ACERELAY_PROVISION_CONCURRENCY: '2',
  ACERELAY_MAX_STREAMS_PER_ENGINE: '1',
  // HLS viewers that fall silent are gone after this (production: 30 s), well within the quiet end.
  ACERELAY_HLS_IDLE: '10s',
  ACERELAY_LOG_LEVEL: 'silent',
  // Stream ids are acerelay-chaos-<uuid>, whatever machine runs the harness.
  ACERELAY_INSTANCE: CHAOS_INSTANCE,
};

/** The orchestrator's API key: acerelay's is this one; a wrong-key fault changes the orchestrator's. */
export const CHAOS_API_KEY = 'chaos-key';

export const CHAOS_SIM: SimOptions = {
  port: 0,
  minReplicas: 1,
  maxReplicas: 4,
  bitrate: 300_000,
  provisionDelayMs: 800,
  engineReadyDelayMs: 1_500,
  startDelayMs: 300,
  // An engine session nobody stops must stay visible: invariant 8 finds it.
  idleExpiryMs: 3_600_000,
  failDelayMs: 1_000,
  apiKey: CHAOS_API_KEY,
};

/** Virtual time per step: real I/O settles between steps, so this is the harness's time resolution. */
export const STEP_MS = 100;
/** The five channels single players join. */
export const CHANNELS = ['1', '2', '3', '4', '5'].map((d) => d.repeat(40));
/** Channels a crowd may spread over (the first five are the single players' ones). */
export const CROWD_CHANNELS = 200;

/** Channel `i`'s id: the five above, then ids of their own (never starting with `dead`, which fails to load). */
export function channelId(i: number): string {
  const n = i % CROWD_CHANNELS;
  return n < CHANNELS.length ? CHANNELS[n]! : `ca${n.toString(16).padStart(6, '0')}${'c'.repeat(32)}`;
}

export interface WorldOptions {
  plant?: PlantedFault | null;
  /** Virtual time per step (default STEP_MS); the soak takes longer ones. */
  stepMs?: number;
  /** Changes to the simulator's options (the soak's bitrate). */
  sim?: Partial<SimOptions>;
}

/** acerelay's share of the process's heap + external memory: what closing it frees. */
export interface Footprint {
  /** Heap + external with acerelay, after GC. */
  withBytes: number;
  /** The same once acerelay was closed and collected. */
  withoutBytes: number;
  bytes: number;
  /** No other world ran in the process meanwhile: only then is the difference acerelay's. */
  alone: boolean;
}

export interface FaultMark {
  t: number;
  /** When the fault stops acting (faults switched for a duration). */
  until: number;
  what: string;
  /** Faults that may legitimately end a held player early (they make the stream fail). */
  hard: boolean;
}

/** Worlds alive in this process (two at once cannot tell their memory apart). */
let liveWorlds = 0;
/** Whether an acerelay has been started and crashed in this process (its code paths compiled, module caches filled). */
let warmedUp = false;

export class ChaosWorld {
  readonly clock: ManualClock;
  readonly players: ChaosPlayer[] = [];
  /** Players still connected (a crowd's 200 are not scanned among every player ever). */
  private readonly open = new Set<ChaosPlayer>();
  /** HLS viewers (each its own client of its channel's audience). */
  readonly viewers: HlsViewer[] = [];
  readonly faults: FaultMark[] = [];
  /** Every journal entry of every acerelay run in this world, in order. */
  readonly entries: JournalEntry[] = [];
  /** Which acerelay run each session belongs to (sequence numbers restart nowhere, runs do). */
  readonly runOf = new Map<string, number>();
  acerelay: Acerelay | null = null;
  url = '';
  runs = 0;
  /** The most players connected at once. */
  peakPlayers = 0;
  private playerCount = 0;
  /** acerelay's memory share when this world started (measured on request: it costs collections). */
  startFootprint: Footprint | null = null;
  private closed = false;
  /** The acerelay whose journal entries are recorded (not one being killed). */
  private recording: Acerelay | null = null;
  /** Ends of timed faults the harness switches itself (the simulator has no duration for them). */
  private readonly laters = new Set<TimerHandle>();
  private constructor(
    readonly sim: Simulator,
    readonly config: Config,
    readonly dataDir: string,
    clock: ManualClock,
    /** The deliberate bug planted in this world's acerelay (every run of it), if any. */
    readonly plant: PlantedFault | null,
    readonly stepMs: number,
  ) {
    this.clock = clock;
  }

  static async start(options: PlantedFault | null | WorldOptions = null, opts: { measure?: boolean } = {}): Promise<ChaosWorld> {
    const o: WorldOptions = typeof options === 'string' || options === null ? { plant: options } : options;
    const clock = new ManualClock(Date.UTC(2026, 10, 27, 12, 0, 0));
    const sim = await startSimulator({ ...CHAOS_SIM, ...o.sim, clock });
    const dataDir = mkdtempSync(join(tmpdir(), 'acerelay-chaos-'));
    const { config } = loadConfig([], { ...CHAOS_ENV, ACERELAY_ORCH_URL: sim.url, ACERELAY_ORCH_APIKEY: CHAOS_API_KEY, ACERELAY_DATA_DIR: dataDir });
    const world = new ChaosWorld(sim, config, dataDir, clock, o.plant ?? null, o.stepMs ?? STEP_MS);
    liveWorlds++;
    await world.startAcerelay();
    if (opts.measure) {
      // Measured as at the quiet end (what closing it frees). The first acerelay of a process
      // also fills module-level caches and compiles its crash path, none of which is its share:
      // that one is started and crashed once before anything is measured.
      if (!warmedUp) {
        await world.advance(2 * world.stepMs);
        await world.measureAndDropAcerelay();
        await world.startAcerelay();
        warmedUp = true;
      }
      await world.advance(2 * world.stepMs);
      world.startFootprint = await world.measureAndDropAcerelay();
      await world.startAcerelay();
    }
    return world;
  }

  /** Moves virtual time forward step by step, letting real I/O settle after each. */
  async advance(ms: number, stepMs = this.stepMs): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(stepMs, end - this.clock.now()));
      await settle();
    }
  }

  /** Moves time until `done()` holds (checked after every step) or `maxMs` passed; returns whether it held. */
  async until(done: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.clock.now() + maxMs;
    while (!done()) {
      if (this.clock.now() >= end) return false;
      await this.advance(this.stepMs);
    }
    return true;
  }

  /** Runs `work` while time keeps moving (for calls that wait on virtual timers). */
  async during<T>(work: Promise<T>, maxMs = 120_000): Promise<T> {
    let done = false;
    const result = work.finally(() => {
      done = true;
    });
    const end = this.clock.now() + maxMs;
    while (!done && this.clock.now() < end) await this.advance(STEP_MS);
    return result;
  }

  join(channel: number): ChaosPlayer | null {
    if (!this.acerelay) return null;
    const url = `${this.url}/ace/getstream?id=${channelId(channel)}`;
    const p = new ChaosPlayer(++this.playerCount, channel, url, this.clock);
    this.players.push(p);
    this.open.add(p);
    this.notePeak();
    return p;
  }

  /** An HLS viewer of this channel: it polls the playlist and fetches segments until it leaves. */
  joinHls(channel: number): HlsViewer | null {
    if (!this.acerelay) return null;
    const id = channelId(channel);
    const v = new HlsViewer(++this.playerCount, channel, () => (this.url ? `${this.url}/ace/manifest.m3u8?id=${id}` : ''), this.clock);
    this.viewers.push(v);
    this.notePeak();
    return v;
  }

  /** Players and HLS viewers connected now: the most at once is the run's peak. */
  private notePeak(): void {
    this.peakPlayers = Math.max(this.peakPlayers, this.openPlayers().length + this.viewers.filter((v) => v.open).length);
  }

  openViewers(): HlsViewer[] {
    return this.viewers.filter((v) => v.open);
  }

  viewerRecords(): HlsViewerLog[] {
    return this.viewers.map((v) => v.record);
  }

  /** Players on these channels all at once (one tick: their requests race each other). */
  joinMany(channels: number[]): ChaosPlayer[] {
    const joined: ChaosPlayer[] = [];
    for (const c of channels) {
      const p = this.join(c);
      if (p) joined.push(p);
    }
    return joined;
  }

  /** Runs `fn` after `ms` of virtual time (a timed fault's end), unless the quiet end comes first. */
  later(ms: number, fn: () => Promise<unknown> | void): void {
    const handle = this.clock.setTimeout(() => {
      this.laters.delete(handle);
      void Promise.resolve()
        .then(fn)
        .catch(() => {});
    }, ms);
    this.laters.add(handle);
  }

  /** Forgets every timed fault's end (the quiet end clears the faults itself). */
  cancelLaters(): void {
    for (const h of this.laters) this.clock.clearTimeout(h);
    this.laters.clear();
  }

  /** The orchestrator's API key from now on (null: none asked); acerelay keeps CHAOS_API_KEY. */
  setOrchestratorKey(key: string | null): void {
    this.sim.orch.opts.apiKey = key;
  }

  /** Forgets every player that has ended (the soak's records of an hour already judged). */
  forgetPlayers(): void {
    const open = this.openPlayers();
    this.players.length = 0;
    this.players.push(...open);
    const watching = this.openViewers();
    this.viewers.length = 0;
    this.viewers.push(...watching);
  }

  openPlayers(): ChaosPlayer[] {
    for (const p of this.open) if (!p.open) this.open.delete(p);
    return [...this.open];
  }

  records(): PlayerLog[] {
    return this.players.map((p) => p.record);
  }

  mark(what: string, hard: boolean, forMs = 0): void {
    const t = this.clock.now();
    this.faults.push({ t, until: t + forMs, what, hard });
  }

  async control(path: string, body: unknown): Promise<void> {
    await this.sim.control(path, body);
  }

  /** acerelay stops as `kill -9` would, then starts again on the same journal. */
  async crashAcerelay(): Promise<void> {
    this.mark('acerelay crash', true);
    // A killed process journals nothing more: what its actors do as they are torn down here is not its history.
    this.recording = null;
    await this.acerelay?.crash();
    this.acerelay = null;
    await this.during(this.startAcerelay());
  }

  /** acerelay stops gracefully (SIGTERM), then starts again on the same journal. */
  async restartAcerelay(): Promise<void> {
    this.mark('acerelay restart', true);
    if (this.acerelay) await this.during(this.acerelay.close());
    this.acerelay = null;
    await this.during(this.startAcerelay());
  }

  async startAcerelay(): Promise<void> {
    const run = ++this.runs;
    const acerelay = await createAcerelay(this.config, { logger: silentLogger, clock: this.clock, outboxMaxBackoffMs: 5_000, ports: plantedPorts(this.plant) });
    this.recording = acerelay;
    acerelay.hub.subscribe((entry) => {
      if (this.recording !== acerelay) return;
      this.entries.push(entry);
      if (entry.machine === 'session' && !this.runOf.has(entry.actor)) this.runOf.set(entry.actor, run);
    });
    this.acerelay = acerelay;
    this.url = await acerelay.listen();
  }

  /**
   * acerelay's memory share now: heap + external after GC with it, then without it (crashed,
   * its sockets settled, collected). Leaves the world without an acerelay.
   */
  async measureAndDropAcerelay(): Promise<Footprint> {
    const aloneBefore = liveWorlds === 1;
    const withBytes = totalBytes(measureMemory());
    this.recording = null;
    await this.acerelay?.crash();
    this.acerelay = null;
    this.url = '';
    await this.advance(2 * STEP_MS);
    const withoutBytes = totalBytes(measureMemory());
    return { withBytes, withoutBytes, bytes: withBytes - withoutBytes, alone: aloneBefore && liveWorlds === 1 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    liveWorlds--;
    this.cancelLaters();
    for (const p of this.players) p.leave();
    for (const v of this.viewers) v.leave();
    if (this.acerelay) await this.acerelay.crash();
    await this.sim.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

async function settle(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setImmediate(r));
}
