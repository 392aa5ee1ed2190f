/**
 * A stop the engine could not take (it answered 500) keeps its engine session counted on
 * that engine until a retry lands; the janitor then says so, and the engine really has the
 * session stopped. Real simulated engine over sockets; the janitor's backoff on virtual time.
 */
import { expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { StopJanitor } from '../../src/core/stop-janitor.ts';
import { IH, IH2, control, engineClient, firstEngine, startSim } from '../adapters/helpers.ts';

test('a failed stop holds room on its engine until the retry lands', async () => {
  const sim = await startSim();
  const { url, containerId } = firstEngine(sim);
  const client = engineClient();
  const clock = new ManualClock(0);
  let settled = 0;
  const janitor = new StopJanitor(client, clock, undefined, () => settled++);

  const a = await client.start(url, { source: { kind: 'infohash', value: IH }, pid: 'a' });
  const b = await client.start(url, { source: { kind: 'infohash', value: IH2 }, pid: 'b' });
  const origin = new URL(url).origin;

  await control(sim, `engines/${containerId}`, { mode: 'error500' });
  await expect(janitor.stop(a.commandUrl!)).rejects.toMatchObject({ code: 'ENGINE_HTTP' });
  await expect(janitor.stop(b.commandUrl!)).rejects.toMatchObject({ code: 'ENGINE_HTTP' });
  expect(janitor.pendingOn(origin)).toBe(2);
  expect(janitor.pendingOn('http://127.0.0.1:1')).toBe(0);

  // The first retry (2 s) still meets the fault: nothing lands, the backoff grows.
  await clock.advanceAsync(2_000);
  await waitUntil(() => janitor.retrying === 2 && clock.pending === 2);
  expect(settled).toBe(0);

  await control(sim, `engines/${containerId}`, { mode: 'ok' });
  await clock.advanceAsync(4_000);
  await waitUntil(() => settled === 2);
  expect(janitor.pendingOn(origin)).toBe(0);
  const sessions = sim.state().engines.find((e) => e.container_id === containerId)!.sessions;
  expect(sessions.filter((s) => s.stopped_at === null)).toEqual([]);
  expect(sessions.map((s) => s.end_reason)).toEqual(['stop', 'stop']);
  janitor.close();
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
