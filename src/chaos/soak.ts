/**
 * `acerelay chaos --soak 24h`: one world, one acerelay, a steady mix of players and faults
 * for a simulated day. Each simulated hour ends in a quiet end; there the invariants are
 * checked over that hour, and heap + external memory (after GC), timers and handles are
 * sampled. The soak fails on any violation, or when any sample series grows without bound
 * (growth.ts). Memory is the whole process's, so the harness forgets each hour's records
 * (its players, journal copies, the simulator's logs) once they are judged.
 */
import fc from 'fast-check';
import { INVARIANTS, type InvariantResult, type RunRecord } from './invariants.ts';
import { commandArbitraries, PROFILES } from './profiles.ts';
import type { Cmd, Model } from './commands.ts';
import { ChaosWorld } from './world.ts';
import { quietEnd } from './run.ts';
import { judgeGrowth, type GrowthVerdict } from './growth.ts';
import { measureMemory, measureResources, MiB, mib } from './memory.ts';
import type { PlantedFault } from './planted-faults.ts';

const HOUR = 3_600_000;
/** The soak's step: coarser than a run's, as its load is lighter; still under every timeout it meets. */
export const SOAK_STEP_MS = 500;
/** What the quiet end at the close of each hour takes, at most (the rest of the hour is activity). */
const QUIET_END_MS = 2 * 60_000;

/** Allowances over the second half of the day (growth.ts): what noise may add there. */
export const GROWTH_ALLOWANCE = { memoryBytes: 4 * MiB, timers: 4, handles: 8 };

export interface HourSample {
  hour: number;
  heapBytes: number;
  externalBytes: number;
  virtualTimers: number;
  realTimers: number;
  handles: number;
  commands: number;
  players: number;
  /** Players connected on average over the hour, and the most at once. */
  meanPlayers: number;
  peakPlayers: number;
  /** Invariants broken in this hour. */
  broken: Array<InvariantResult & { id: number; name: string }>;
  realMs: number;
}

export interface SoakReport {
  ok: boolean;
  seed: number;
  hours: number;
  samples: HourSample[];
  growth: GrowthVerdict[];
  commands: number;
  players: number;
  violations: number;
  realMs: number;
}

export interface SoakOptions {
  durationMs: number;
  seed: number;
  plant?: PlantedFault | null;
  onHour?: (sample: HourSample) => void;
  /** Shown the record of an hour that broke an invariant (to look into it offline). */
  onBroken?: (hour: number, record: RunRecord) => void;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const profile = PROFILES.soak;
  const arbitrary = fc.oneof(...commandArbitraries(profile));
  const world = await ChaosWorld.start({ plant: opts.plant ?? null, stepMs: SOAK_STEP_MS });
  const samples: HourSample[] = [];
  const hours = Math.max(1, Math.round(opts.durationMs / HOUR));
  try {
    for (let hour = 1; hour <= hours; hour++) {
      const hourStarted = Date.now();
      const end = world.clock.now() + HOUR - QUIET_END_MS;
      const model: Model = { players: world.openPlayers().length, viewers: world.openViewers().length, elapsedMs: 0, capMs: Infinity };
      let commands = 0;
      // Each hour its own stream of commands, reproducible from the seed.
      for (const cmd of sampleCommands(arbitrary, opts.seed, hour)) {
        if (world.clock.now() >= end) break;
        if (!cmd.check(model)) continue;
        await cmd.run(model, world);
        commands++;
      }
      if (world.clock.now() < end) await world.advance(end - world.clock.now());
      const peakPlayers = world.peakPlayers;
      const record = await quietEnd(world);
      const results = INVARIANTS.map((inv) => ({ id: inv.id, name: inv.name, ...inv.check(record) }));
      if (results.some((r) => r.violations.length > 0)) opts.onBroken?.(hour, record);
      const players = record.players.length;
      const connectedMs = record.players.reduce((sum, p) => sum + ((p.endedAt ?? record.checkedAt) - p.arrivedAt), 0);
      forgetHour(world);
      // Whatever is left of the hour (the quiet end is shorter than its allowance).
      const hourEnd = end + QUIET_END_MS;
      if (world.clock.now() < hourEnd) await world.advance(hourEnd - world.clock.now());
      const memory = measureMemory();
      const resources = measureResources(world.clock);
      const sample: HourSample = {
        hour,
        ...memory,
        ...resources,
        commands,
        players,
        meanPlayers: connectedMs / HOUR,
        peakPlayers,
        broken: results.filter((r) => r.violations.length > 0),
        realMs: Date.now() - hourStarted,
      };
      samples.push(sample);
      opts.onHour?.(sample);
    }
  } finally {
    await world.close();
  }
  const growth = [
    judgeGrowth('heap + external', samples.map((s) => s.heapBytes + s.externalBytes), GROWTH_ALLOWANCE.memoryBytes),
    judgeGrowth('timers', samples.map((s) => s.virtualTimers + s.realTimers), GROWTH_ALLOWANCE.timers),
    judgeGrowth('handles', samples.map((s) => s.handles), GROWTH_ALLOWANCE.handles),
  ];
  const violations = samples.reduce((n, s) => n + s.broken.reduce((k, r) => k + r.violations.length, 0), 0);
  return {
    ok: violations === 0 && !growth.some((g) => g.grows),
    seed: opts.seed,
    hours,
    samples,
    growth,
    commands: samples.reduce((n, s) => n + s.commands, 0),
    players: samples.reduce((n, s) => n + s.players, 0),
    violations,
    realMs: Date.now() - started,
  };
}

function* sampleCommands(arbitrary: fc.Arbitrary<Cmd>, seed: number, hour: number): Generator<Cmd> {
  for (let batch = 0; ; batch++) {
    yield* fc.sample(arbitrary, { seed: (seed + hour * 7919 + batch * 104_729) | 0, numRuns: 100 });
  }
}

/**
 * Drops what the harness and the simulator recorded of an hour already judged: the soak
 * measures the process, and these records are the harness's, not acerelay's.
 */
function forgetHour(world: ChaosWorld): void {
  world.forgetPlayers();
  world.entries.length = 0;
  world.faults.length = 0;
  world.runOf.clear();
  world.peakPlayers = 0;
  const orch = world.sim.orch;
  orch.events.length = 0;
  orch.autoscaler.length = 0;
  orch.statusLog.length = 0;
  orch.breaker.transitions.length = 0;
  const inFlight = orch.provisions.filter((p) => p.done_at === null);
  orch.provisions.length = 0;
  orch.provisions.push(...inFlight);
  const live = orch.streamHistory.filter((s) => s.status === 'started');
  orch.streamHistory.length = 0;
  orch.streamHistory.push(...live);
  for (const [id, s] of orch.streams) if (s.status !== 'started') orch.streams.delete(id);
  const engines = orch.engines.filter((m) => m.removedAt === null);
  orch.engines.length = 0;
  orch.engines.push(...engines);
  for (const m of engines) {
    const keep = m.engine.sessions.filter((s) => s.state().stopped_at === null);
    m.engine.sessions.length = 0;
    m.engine.sessions.push(...keep);
  }
}

export function formatSoakLine(s: HourSample): string {
  const broken = s.broken.length ? ` — BROKE ${s.broken.map((r) => r.id).join(', ')}` : ' — invariants ok';
  return (
    `hour ${String(s.hour).padStart(2)}: heap ${mib(s.heapBytes)}, external ${mib(s.externalBytes)}, ` +
    `timers ${s.virtualTimers} virtual + ${s.realTimers} real, handles ${s.handles}; ` +
    `${s.commands} commands, ${s.players} players (${s.meanPlayers.toFixed(1)} on average, at most ${s.peakPlayers}), ${(s.realMs / 1000).toFixed(0)} s${broken}`
  );
}

export function formatSoakReport(r: SoakReport): string {
  const lines = [`acerelay chaos --soak — seed ${r.seed}: ${r.hours} simulated hours in ${(r.realMs / 60_000).toFixed(1)} min, ${r.commands} commands, ${r.players} players`, ''];
  for (const g of r.growth) {
    const unit = g.name === 'heap + external' ? mib : (v: number) => v.toFixed(1);
    const verdict = g.unjudged ? `not judged (${g.unjudged})` : g.grows ? 'GROWS' : 'flat';
    lines.push(
      `  ${g.grows ? 'FAIL' : 'ok  '} ${g.name}: ${verdict} — second half's fitted rise ${unit(g.rise)} (allowance ${unit(g.allowance)}), last ${unit(g.last)}, first half's max ${unit(g.firstHalfMax)}`,
    );
  }
  lines.push(`  ${r.violations === 0 ? 'ok  ' : 'FAIL'} invariants: ${r.violations} violations`);
  for (const s of r.samples) {
    for (const b of s.broken) {
      lines.push(`     hour ${s.hour}, ${b.id}. ${b.name}`);
      for (const v of b.violations.slice(0, 5)) lines.push(`       - ${v}`);
    }
  }
  lines.push('', r.ok ? 'Nothing grew without bound; no invariant broke.' : 'The soak failed.');
  return lines.join('\n');
}
