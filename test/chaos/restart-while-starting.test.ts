/**
 * Issue 13's case for the harness: the orchestrator restarts (everything wiped, engines back
 * on the same ports under new ids) while a session's engine start, or its stream_started, is
 * in flight. The command lands where it means to, and no invariant breaks.
 */
import { describe, expect, test } from 'vitest';
import { runOnce } from '../../src/chaos/run.ts';
import { RestartWhileStarting, type StartPhase } from '../../src/chaos/orchestrator-ways.ts';
import { LongWait } from '../../src/chaos/long-commands.ts';
import type { RunRecord } from '../../src/chaos/invariants.ts';
import { CHAOS_INSTANCE } from '../../src/chaos/world.ts';
import { parseStreamId } from '../../src/core/ids.ts';

async function restartDuring(phase: StartPhase): Promise<{ record: RunRecord; broken: number[]; stateAtRestart: string }> {
  let record: RunRecord | null = null;
  // The wait lets the downtime run out before the quiet end clears every fault.
  const outcome = await runOnce([new RestartWhileStarting(phase, 5_000, 7), new LongWait(10_000)], { onRecord: (r) => (record = r) });
  const r = record!;
  const restart = r.faults.find((f) => f.what.startsWith('orchestrator restart during'))!;
  const session = r.entries.find((e) => e.machine === 'session' && e.type === 'created')!.actor;
  const stateAtRestart = r.entries.filter((e) => e.actor === session && e.t <= restart.t).at(-1)!.state;
  return { record: r, broken: outcome.results.filter((x) => x.violations.length > 0).map((x) => x.id), stateAtRestart };
}

describe('the orchestrator restarts while a session starts', () => {
  test('during the engine start', async () => {
    const { broken, stateAtRestart, record } = await restartDuring('engine_start');
    expect(stateAtRestart).toBe('starting');
    expect(broken).toEqual([]);
    expect(record.sim.incarnation).toBe(2);
  }, 120_000);

  test('while its stream_started is held at the orchestrator: delivered again to the restarted one, and ended', async () => {
    const { broken, stateAtRestart, record } = await restartDuring('stream_started');
    expect(stateAtRestart).toMatch(/^running\./);
    const starts = record.sim.events.filter((e) => e.type === 'stream_started' && e.processed && e.stream_id?.startsWith('acerelay-'));
    // The first incarnation died holding it; a later one took it (filed by host:port if its engine was gone).
    expect(starts.filter((e) => e.incarnation === 1)).toEqual([]);
    expect(starts.length).toBeGreaterThan(0);
    // Ids name the instance (issue 17): acerelay-<instance>-<uuid>.
    for (const e of starts) expect(parseStreamId(e.stream_id!)?.instance).toBe(CHAOS_INSTANCE);
    expect(broken).toEqual([]);
  }, 120_000);
});
