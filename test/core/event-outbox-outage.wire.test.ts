/** The orchestrator down for a minute while streams end: every end arrives afterwards, in order, none for an unknown id. */
import { afterEach, expect, test } from 'vitest';
import { CONTENT, eventually, play, sleep, startStack, type Stack } from '../support/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

test('orchestrator down for 60 s while 3 streams end → after recovery every end arrives, in order, with no end for an unknown id', async () => {
  stack = await startStack({ sim: { minReplicas: 3, maxReplicas: 4 }, env: { ACERELAY_LINGER: '500ms' } });
  const controllers = [0, 1, 2].map(() => new AbortController());
  const players = [0, 1, 2].map((i) => play(`${stack!.url}/ace/getstream?id=${CONTENT[i]}`, { signal: controllers[i]!.signal, maxMs: 120_000 }));
  const accepted = () => stack!.sim.state().events.filter((e) => e.type === 'stream_started' && e.http_status === 200).map((e) => e.stream_id);
  await eventually(() => accepted().length === 3, 15_000);
  await stack.sim.control('orchestrator', { mode: 'down' });
  for (const c of controllers) c.abort();
  await Promise.all(players);
  // The sessions stop on their engines; their ends wait for the orchestrator.
  await eventually(() => stack!.sim.state().engines.flatMap((e) => e.sessions).every((s) => s.stopped_at !== null), 10_000);
  const endsSoFar = stack.sim.state().events.filter((e) => e.type === 'stream_ended');
  expect(endsSoFar).toEqual([]);
  expect(stack.acerelay.journal?.pendingOutbox().filter((r) => r.type === 'stream_ended')).toHaveLength(3);
  await sleep(60_000);
  await stack.sim.control('orchestrator', { mode: 'ok' });
  const ids = new Set(accepted());
  await eventually(() => stack!.sim.state().events.filter((e) => e.type === 'stream_ended' && e.http_status === 200).length >= 3, 40_000, 250);
  const events = stack.sim.state().events.filter((e) => e.http_status === 200);
  const ends = events.filter((e) => e.type === 'stream_ended');
  expect(new Set(ends.map((e) => e.stream_id))).toEqual(ids);
  for (const e of ends) {
    expect(ids.has(e.stream_id)).toBe(true);
    expect(e.ended_stream_id).toBe(e.stream_id);
    // In order: each end after its own start.
    const start = events.findIndex((x) => x.type === 'stream_started' && x.stream_id === e.stream_id);
    expect(start).toBeLessThan(events.indexOf(e));
  }
  expect(stack.sim.state().streams.filter((s) => s.status === 'started')).toEqual([]);
  expect(stack.acerelay.journal?.pendingOutbox()).toEqual([]);
}, 150_000);
