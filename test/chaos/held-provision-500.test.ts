/**
 * Found by the 24 h soak (seed 1830, hour 10) as held players reset 1–2 s after their 200
 * during orchestrator 500s (invariant 2). Shrunk by hand: a provisioning call that arrives while
 * the orchestrator is slow outlasts the 2 s provisioning patience (its player gets its 200), and
 * the orchestrator has begun answering 500 by the time it answers. That 500 failed the session
 * for good and reset the held player; it is now waited out (waiting_orchestrator) until the
 * orchestrator answers again.
 */
import { expect, test } from 'vitest';
import { runOnce } from '../../src/chaos/run.ts';
import { Join, Orchestrator, Wait } from '../../src/chaos/commands.ts';
import type { RunRecord } from '../../src/chaos/invariants.ts';

test("a held player is not reset by the orchestrator's text 500 answering its session's slow provisioning call", async () => {
  // join(0) takes the one engine; join(1)'s call sleeps 3.5 s in slow mode and is then answered by error500.
  const cmds = [new Join(0), new Wait(3_000), new Orchestrator('slow', 3_500), new Join(1), new Wait(100), new Orchestrator('error500', 20_000), new Wait(40_000)];
  let record: RunRecord | null = null;
  const outcome = await runOnce(cmds, { measure: false, onRecord: (r) => (record = r) });
  const broken = outcome.results.filter((r) => r.violations.length > 0);
  expect(broken, JSON.stringify(broken)).toEqual([]);
  const run = record! as RunRecord;
  // The situation arose: join(1)'s player had its 200 before its session's call was answered 500 (error500)…
  const held = run.players[1]!;
  expect(held.status).toBe(200);
  const answered500 = run.sim.provisions.find((c) => c.code === 'orchestrator_error500');
  expect(answered500).toBeDefined();
  expect(held.headersAt!).toBeLessThan(answered500!.done_at!);
  // …and it was kept: it streamed once the orchestrator answered again.
  expect(held.firstMediaAt).not.toBeNull();
}, 300_000);
