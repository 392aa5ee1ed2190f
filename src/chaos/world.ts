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
import { ManualClock } from '../clock.ts';
import { startSimulator, type SimOptions, type Simulator } from '../sim/index.ts';
import { loadConfig, type Config } from '../config.ts';
import { createAcerelay, type Acerelay } from '../runtime.ts';
import { silentLogger } from '../log.ts';
import type { JournalEntry } from '../domain/journal.ts';
import { ChaosPlayer, type PlayerLog } from './player.ts';
import { plantedPorts, type PlantedFault } from './planted-faults.ts';

/** acerelay's configuration for chaos runs: the defaults scaled down to seconds. */
export const CHAOS_ENV: Record<string, string> = {
  ACERELAY_LISTEN: '127.0.0.1:0',
  ACERELAY_HOLD_MAX: '20s',
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
  ACERELAY_LOG_LEVEL: 'silent',
};

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
};

const STEP_MS = 100;
export const CHANNELS = ['1', '2', '3', '4', '5'].map((d) => d.repeat(40));

export interface FaultMark {
  t: number;
  /** When the fault stops acting (faults switched for a duration). */
  until: number;
  what: string;
  /** Faults that may legitimately end a held player early (they make the stream fail). */
  hard: boolean;
}

export class ChaosWorld {
  readonly clock: ManualClock;
  readonly players: ChaosPlayer[] = [];
  readonly faults: FaultMark[] = [];
  /** Every journal entry of every acerelay run in this world, in order. */
  readonly entries: JournalEntry[] = [];
  /** Which acerelay run each session belongs to (sequence numbers restart nowhere, runs do). */
  readonly runOf = new Map<string, number>();
  acerelay: Acerelay | null = null;
  url = '';
  runs = 0;
  private constructor(
    readonly sim: Simulator,
    readonly config: Config,
    readonly dataDir: string,
    clock: ManualClock,
    /** The deliberate bug planted in this world's acerelay (every run of it), if any. */
    readonly plant: PlantedFault | null,
  ) {
    this.clock = clock;
  }

  static async start(plant: PlantedFault | null = null): Promise<ChaosWorld> {
    const clock = new ManualClock(Date.UTC(2026, 10, 27, 12, 0, 0));
    const sim = await startSimulator({ ...CHAOS_SIM, clock });
    const dataDir = mkdtempSync(join(tmpdir(), 'acerelay-chaos-'));
    const { config } = loadConfig([], { ...CHAOS_ENV, ACERELAY_ORCH_URL: sim.url, ACERELAY_DATA_DIR: dataDir });
    const world = new ChaosWorld(sim, config, dataDir, clock, plant);
    await world.startAcerelay();
    return world;
  }

  /** Moves virtual time forward in small steps, letting real I/O settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(STEP_MS, end - this.clock.now()));
      await settle();
    }
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
    const url = `${this.url}/ace/getstream?id=${CHANNELS[channel % CHANNELS.length]}`;
    const p = new ChaosPlayer(this.players.length + 1, channel, url, this.clock);
    this.players.push(p);
    return p;
  }

  openPlayers(): ChaosPlayer[] {
    return this.players.filter((p) => p.open);
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
    acerelay.hub.subscribe((entry) => {
      this.entries.push(entry);
      if (entry.machine === 'session' && !this.runOf.has(entry.actor)) this.runOf.set(entry.actor, run);
    });
    this.acerelay = acerelay;
    this.url = await acerelay.listen();
  }

  async close(): Promise<void> {
    for (const p of this.players) p.leave();
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
