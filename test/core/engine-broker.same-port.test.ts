/**
 * The orchestrator restarts and its engines come back on their ports under new ids; a session
 * granted the old id (before the next status poll) runs on the new container at that address.
 * The broker counts its slot against the engine at that address too, so with one stream per
 * engine that container is not handed to a second session (the chaos soak found two).
 */
import { expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { EngineBroker } from '../../src/core/engine-broker.ts';
import { engineInfo, healthyStatus } from '../support/pure-world.ts';

test('a slot on an engine id the orchestrator no longer lists still fills the engine now listed at its address', async () => {
  const clock = new ManualClock(0);
  const feed = (engines: ReturnType<typeof engineInfo>[]) => ({ kind: 'fresh' as const, status: healthyStatus(), engines, observedAt: clock.now(), polledAt: clock.now(), error: null, failures: 0 });
  const broker = new EngineBroker({ clock, maxPerEngine: 1, provisionConcurrency: 1, probeIntervalMs: 30_000 }, feed([engineInfo('old', 6001)]));
  const updates: string[] = [];
  const ask = (id: string, seq: number) =>
    broker.request({
      sessionId: id,
      seq,
      infohash: null,
      exclude: [],
      listener: (u) => updates.push(`${id} ${u.type === 'wait' ? `wait:${u.wait.reason}` : u.grant.kind === 'engine' ? `engine:${u.grant.engine.containerId}` : 'provision'}`),
    });
  ask('s1', 1);
  await new Promise((r) => setImmediate(r));
  expect(updates).toEqual(['s1 engine:old']);
  // Restarted: the same address under a new id, and one more engine elsewhere.
  clock.advance(6_000);
  broker.updateFeed(feed([engineInfo('new', 6001), engineInfo('other', 6002)]));
  ask('s2', 2);
  ask('s3', 3);
  await new Promise((r) => setImmediate(r));
  expect(updates.slice(1)).toEqual(['s2 engine:other', 's3 wait:capacity']);
  // s1 gone: the engine at 6001 is free again.
  broker.release('s1');
  await new Promise((r) => setImmediate(r));
  expect(updates.at(-1)).toBe('s3 engine:new');
  broker.close();
});
