/**
 * Found by the 24 h soak (seed 4242, hour 1) and shrunk: the orchestrator restarts and its
 * engines come back on their ports under new ids (as the real one does); a player joins before
 * acerelay's next status poll, so its session is given an engine by its old id — and its start,
 * sent to that host:port, lands on the new container there. Once the feed lists the new ids,
 * that container looked free to the broker (our slot named the old id) and was given to a
 * second session: two sessions on one engine with ACERELAY_MAX_STREAMS_PER_ENGINE=1.
 * Invariant 6 caught it; the broker now counts a slot against every engine at its address.
 */
import { expect, test } from 'vitest';
import { runOnce } from '../../src/chaos/run.ts';
import { Join, Orchestrator, Wait } from '../../src/chaos/commands.ts';

test('a session started on a restarted engine’s port by its old id still takes that engine’s room: no engine carries two', async () => {
  // The join lands 2.5 s after the restart's end (engines ready after 1.5 s; next poll within 6 s).
  const cmds = () => [new Wait(8_000), new Orchestrator('restart', 2_000), new Wait(2_300), new Join(1), new Wait(20_000), new Join(2), new Join(3), new Join(4), new Wait(10_000)];
  for (let i = 0; i < 2; i++) {
    const outcome = await runOnce(cmds(), { measure: false });
    const broken = outcome.results.filter((r) => r.violations.length > 0);
    expect(broken, JSON.stringify(broken)).toEqual([]);
    expect(outcome.results.find((r) => r.id === 6)!.checks).toBeGreaterThanOrEqual(4);
  }
}, 300_000);
