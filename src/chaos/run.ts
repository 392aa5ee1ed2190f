/**
 * One chaos run: a fresh world, the commands, then the quiet end the invariants are judged
 * at (every fault cleared, held players given HOLD_MAX to resolve, every player gone, the
 * linger, the event retries and one period of the stream reconciler given time), and
 * acerelay's memory share measured against the start.
 */
import fc from 'fast-check';
import { RECONCILE_EVERY_MS } from '../runtime.ts';
import { CHAOS_API_KEY, ChaosWorld } from './world.ts';
import type { Cmd, Model } from './commands.ts';
import { INVARIANTS, type InvariantResult, type RunRecord } from './invariants.ts';
import type { PlantedFault } from './planted-faults.ts';

export interface RunOutcome {
  commands: string[];
  results: Array<InvariantResult & { id: number; name: string }>;
  /** Virtual time the run covered. */
  virtualMs: number;
  players: number;
  /** The most players connected at once. */
  peakPlayers: number;
  provisions: number;
  /** acerelay's memory share at the start and after the quiet end (bytes). */
  memory: { start: number; end: number } | null;
}

export interface RunOptions {
  plant?: PlantedFault | null;
  /** No command starts past this much virtual time. */
  capMs?: number;
  /**
   * Measure acerelay's memory share at the start and after the quiet end (invariant 12; default
   * true). It costs eight full collections a run: the sharpness tests of other invariants skip it.
   */
  measure?: boolean;
  /** Shown what the invariants judged (tests look at it). */
  onRecord?: (record: RunRecord) => void;
}

/** Steps once every player is gone: only timers and control traffic are left to settle. */
const IDLE_STEP_MS = 500;
/** Steps through the reconciler's period, when the orchestrator lists a stream of ours nothing runs. */
const QUIET_STEP_MS = 1_000;
/** A player whose last media is this recent is streaming. */
const MEDIA_FRESH_MS = 1_000;

export async function runOnce(cmds: Iterable<Cmd>, options: RunOptions | PlantedFault | null = null): Promise<RunOutcome> {
  const opts: RunOptions = typeof options === 'string' || options === null ? { plant: options } : options;
  const measure = opts.measure ?? true;
  const world = await ChaosWorld.start(opts.plant ?? null, { measure });
  const started = world.clock.now();
  const commands: string[] = [];
  try {
    const logged = [...cmds];
    for (const c of logged) commands.push(c.toString());
    const model: Model = { players: 0, viewers: 0, elapsedMs: 0, capMs: opts.capMs ?? Infinity };
    await fc.asyncModelRun(() => ({ model, real: world }), logged);
    const peak = world.peakPlayers;
    const record = await quietEnd(world);
    const end = measure ? await world.measureAndDropAcerelay() : null;
    if (end) record.memory = { start: world.startFootprint, end };
    opts.onRecord?.(record);
    const results = INVARIANTS.map((inv) => ({ id: inv.id, name: inv.name, ...inv.check(record) }));
    return {
      commands,
      results,
      virtualMs: world.clock.now() - started,
      players: record.players.length + record.hls.length,
      peakPlayers: peak,
      provisions: record.sim.provisions.length,
      memory: world.startFootprint && end ? { start: world.startFootprint.bytes, end: end.bytes } : null,
    };
  } finally {
    await world.close();
  }
}

/** Clears every fault the commands may have left on. */
export async function clearFaults(world: ChaosWorld): Promise<void> {
  world.cancelLaters();
  world.setOrchestratorKey(CHAOS_API_KEY);
  await world.control('quirks', { mode: 'ok' });
  await world.control('vpn', { connected: true });
  await world.control('circuit', { state: 'closed' });
  await world.control('capacity', { mode: 'ok' });
  await world.control('provision', { mode: 'ok' });
  await world.control('orchestrator', { mode: 'ok' });
  for (const e of world.sim.state().engines.filter((x) => x.removed_at === null && x.mode !== 'ok')) {
    await world.control(`engines/${e.container_id}`, { mode: 'ok' });
  }
}

/** The quiet end: faults cleared, everything given its time to end; then what the invariants judge. */
export async function quietEnd(world: ChaosWorld): Promise<RunRecord> {
  const { config } = world;
  await clearFaults(world);
  if (!world.acerelay) await world.during(world.startAcerelay());
  // Held (and recovering) players get their whole HOLD_MAX to be admitted or aborted; the
  // quiet end goes on as soon as every player still connected has media flowing.
  // HLS viewers likewise, with a segment every ACERELAY_HLS_SEGMENT.
  const streaming = () =>
    world.openPlayers().every((p) => p.record.lastMediaAt !== null && world.clock.now() - p.record.lastMediaAt <= MEDIA_FRESH_MS) &&
    world.openViewers().every((v) => v.record.lastSegmentAt !== null && world.clock.now() - v.record.lastSegmentAt <= 2 * config.hlsSegmentMs + MEDIA_FRESH_MS);
  await world.until(streaming, config.holdMaxMs + 15_000);
  for (const p of world.openPlayers()) p.leave();
  // Silence: their audiences go idle after ACERELAY_HLS_IDLE, within the linger's allowance below.
  for (const v of world.openViewers()) v.leave();
  // Linger, engine stops, and stream events retried after any outage.
  await world.advance(config.lingerMs + 40_000, Math.max(world.stepMs, IDLE_STEP_MS));
  // A start the orchestrator took late is ended by the reconciler's next comparison: when
  // the orchestrator lists one of ours that nothing runs, give it that period.
  if (listedNotRunning(world).length > 0) await world.advance(RECONCILE_EVERY_MS + 2 * config.statusIntervalMs, Math.max(world.stepMs, QUIET_STEP_MS));
  const acerelay = world.acerelay!;
  const broker = acerelay.broker.describe();
  const running = runningStreams(world);
  return {
    limits: {
      holdMaxMs: config.holdMaxMs,
      noResponseTimeoutMs: config.noResponseTimeoutMs,
      emptyTimeoutMs: config.emptyTimeoutMs,
      maxPerEngine: config.maxStreamsPerEngine,
      provisionConcurrency: config.provisionConcurrency,
      probeIntervalMs: config.probeIntervalMs,
      queueMax: config.queueMax,
      stepMs: world.stepMs,
      hlsSegmentMs: config.hlsSegmentMs,
    },
    players: world.records(),
    hls: world.viewerRecords(),
    sim: world.sim.state(),
    statusLog: world.sim.statusLog(),
    entries: world.entries,
    runOf: world.runOf,
    faults: world.faults,
    end: {
      sessions: acerelay.registry.sessionCount,
      players: acerelay.registry.playerCount,
      held: acerelay.registry.heldCount,
      queue: broker.queue.length,
      slots: broker.slots.length,
      running: [...running],
    },
    listed: listedStreams(world),
    memory: null,
    checkedAt: world.clock.now(),
  };
}

/** The stream ids acerelay's live sessions run. */
function runningStreams(world: ChaosWorld): Set<string> {
  const running = new Set<string>();
  for (const s of world.acerelay?.registry.listSessions() ?? []) {
    const id = s.actor.getSnapshot().context.streamId;
    if (id) running.add(id);
  }
  return running;
}

/** What the orchestrator lists as started (its `GET /streams?status=started`). */
function listedStreams(world: ChaosWorld): RunRecord['listed'] {
  return [...world.sim.orch.streams.values()].filter((s) => s.status === 'started').map((s) => ({ id: s.id, containerId: s.container_id, startedAt: s.started_at }));
}

function listedNotRunning(world: ChaosWorld): string[] {
  const running = runningStreams(world);
  return listedStreams(world)
    .map((s) => s.id)
    .filter((id) => id.startsWith('acerelay-') && !running.has(id));
}
