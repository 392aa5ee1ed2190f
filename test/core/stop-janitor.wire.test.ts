/**
 * A stop the engine could not take (it answered 500) keeps its engine session counted on
 * that engine until a retry lands; the janitor then says so, and the engine really has the
 * session stopped. A stop still outstanding at a crash is taken over by the next run from the
 * journal. Real simulated engine over sockets; the janitor's backoff on virtual time.
 */
import { expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.ts';
import { Journal } from '../../src/adapters/journal/journal.ts';
import { silentLogger } from '../../src/log.ts';
import { StopJanitor } from '../../src/core/stop-janitor.ts';
import { IH, IH2, control, engineClient, firstEngine, startSim } from '../adapters/helpers.ts';

test('a failed stop holds room on its engine until the retry lands', async () => {
  const sim = await startSim();
  const { url, containerId } = firstEngine(sim);
  const client = engineClient();
  const clock = new ManualClock(0);
  let settled = 0;
  const janitor = new StopJanitor(client, clock, { onSettled: () => settled++ });

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

test('a stop outstanding at a crash is in the journal; the next run takes it over and it lands', async () => {
  const sim = await startSim();
  const { url, containerId } = firstEngine(sim);
  const client = engineClient();
  const clock = new ManualClock(0);
  const dir = mkdtempSync(join(tmpdir(), 'acerelay-janitor-'));
  const open = () => Journal.open({ dir, clock, logger: silentLogger }).journal;

  const s = await client.start(url, { source: { kind: 'infohash', value: IH }, pid: 'a' });
  const first = open();
  const before = new StopJanitor(client, clock, { store: first });
  await control(sim, `engines/${containerId}`, { mode: 'error500' });
  await expect(before.stop(s.commandUrl!)).rejects.toMatchObject({ code: 'ENGINE_HTTP' });
  expect(first.pendingCleanups()).toEqual([{ key: s.commandUrl, task: { kind: 'stop', commandUrl: s.commandUrl }, since: 0 }]);
  // kill -9: the retry timer dies with the process.
  before.close();
  first.abandon();

  await control(sim, `engines/${containerId}`, { mode: 'ok' });
  clock.advance(60_000);
  const second = open();
  const after = new StopJanitor(client, clock, { store: second });
  expect(after.resume()).toBe(1);
  const session = () => sim.state().engines.find((e) => e.container_id === containerId)!.sessions[0]!;
  await waitUntil(() => session().stopped_at !== null);
  await waitUntil(() => second.pendingCleanups().length === 0);
  expect(session().end_reason).toBe('stop');
  // Nothing is left to take over the time after.
  expect(new StopJanitor(client, clock, { store: second }).resume()).toBe(0);
  after.close();
  second.close();
});

test('a stop that lands at once leaves nothing in the journal', async () => {
  const sim = await startSim();
  const { url } = firstEngine(sim);
  const client = engineClient();
  const clock = new ManualClock(0);
  const { journal } = Journal.open({ dir: '', filename: ':memory:', clock, logger: silentLogger });
  const janitor = new StopJanitor(client, clock, { store: journal });
  const s = await client.start(url, { source: { kind: 'infohash', value: IH }, pid: 'a' });
  await janitor.stop(s.commandUrl!);
  expect(journal.pendingCleanups()).toEqual([]);
  expect(janitor.retrying).toBe(0);
  journal.close();
});

test('the same cleanup asked for twice at once (left in the store and replayed after a crash) reaches the engine once', async () => {
  const sim = await startSim();
  const { url, containerId } = firstEngine(sim);
  const client = engineClient();
  const janitor = new StopJanitor(client, new ManualClock(0));
  const s = await client.start(url, { source: { kind: 'infohash', value: IH }, pid: 'a' });
  const task = { kind: 'stop', commandUrl: s.commandUrl! } as const;
  const [a, b] = await Promise.all([janitor.run(task), janitor.run({ ...task })]);
  expect([a, b]).toEqual([true, true]);
  expect(sim.state().engines.find((e) => e.container_id === containerId)!.sessions[0]!.stop_calls).toBe(1);
  // Once settled, a new request is a new try.
  await expect(janitor.run(task)).resolves.toBe(false);
  expect(sim.state().engines.find((e) => e.container_id === containerId)!.sessions[0]!.stop_calls).toBe(2);
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
