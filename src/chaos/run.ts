/**
 * One chaos run: a fresh world, the commands, then the quiet end the invariants are judged
 * at (every fault cleared, held players given HOLD_MAX to resolve, every player gone, the
 * linger and the event retries given time).
 */
import fc from 'fast-check';
import { ChaosWorld } from './world.ts';
import type { Cmd, Model } from './commands.ts';
import { INVARIANTS, type InvariantResult, type RunRecord } from './invariants.ts';
import type { PlantedFault } from './planted-faults.ts';

export interface RunOutcome {
  commands: string[];
  results: Array<InvariantResult & { id: number; name: string }>;
  /** Virtual time the run covered. */
  virtualMs: number;
  players: number;
  provisions: number;
}

export async function runOnce(cmds: Iterable<Cmd>, plant: PlantedFault | null = null): Promise<RunOutcome> {
  const world = await ChaosWorld.start(plant);
  const started = world.clock.now();
  const commands: string[] = [];
  try {
    const logged = [...cmds];
    for (const c of logged) commands.push(c.toString());
    await fc.asyncModelRun(() => ({ model: { players: 0 } as Model, real: world }), logged);
    const record = await quietEnd(world);
    const results = INVARIANTS.map((inv) => ({ id: inv.id, name: inv.name, ...inv.check(record) }));
    return { commands, results, virtualMs: world.clock.now() - started, players: record.players.length, provisions: record.sim.provisions.length };
  } finally {
    await world.close();
  }
}

async function quietEnd(world: ChaosWorld): Promise<RunRecord> {
  const { config } = world;
  await world.control('vpn', { connected: true });
  await world.control('circuit', { state: 'closed' });
  await world.control('capacity', { max_replicas: 4 });
  await world.control('provision', { fail: 0, delay_ms: 0 });
  await world.control('orchestrator', { mode: 'ok' });
  for (const e of world.sim.state().engines.filter((x) => x.removed_at === null && x.mode !== 'ok')) {
    await world.control(`engines/${e.container_id}`, { mode: 'ok' });
  }
  if (!world.acerelay) await world.during(world.startAcerelay());
  // Held players get their whole HOLD_MAX to be admitted or aborted.
  await world.advance(config.holdMaxMs + 15_000);
  for (const p of world.openPlayers()) p.leave();
  // Linger, engine stops, and stream events retried after any outage.
  await world.advance(config.lingerMs + 40_000);
  const acerelay = world.acerelay!;
  const broker = acerelay.broker.describe();
  return {
    limits: {
      holdMaxMs: config.holdMaxMs,
      noResponseTimeoutMs: config.noResponseTimeoutMs,
      emptyTimeoutMs: config.emptyTimeoutMs,
      maxPerEngine: config.maxStreamsPerEngine,
      provisionConcurrency: config.provisionConcurrency,
      probeIntervalMs: config.probeIntervalMs,
    },
    players: world.records(),
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
    },
    checkedAt: world.clock.now(),
  };
}
