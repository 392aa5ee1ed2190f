/**
 * Two instances on one orchestrator choose the same engine in the same moment
 * (MAX_STREAMS_PER_ENGINE=1, one idle engine, neither has seen the other's stream): once
 * /engines lists both streams, the later one leaves for another engine — a failover its
 * players ride through on the same connection — and the earlier one stays. The status
 * interval is the default 30 s: the instance that started looks again right after its
 * stream_started lands and 3 s later, so the engine carries two for a few seconds only.
 */
import { expect, test } from 'vitest';
import { startSimulator } from '../../src/sim/index.ts';
import { parseStreamId } from '../../src/core/ids.ts';
import { CONTENT, eventually } from '../support/stack.ts';
import { instanceBed, startInstance, startedBy } from '../support/instances.ts';
import { ReconnectingPlayer } from '../deploy/reconnecting-player.ts';
import { crowdedStretches } from '../deploy/shared-truth.ts';

const bed = instanceBed();
const { running, players } = bed;

test('two instances start on one engine at once: the later stream moves to another engine within seconds, the earlier stays; both players play on without a reconnect', async () => {
  const sim = (bed.sim = await startSimulator({ port: 0, minReplicas: 1, maxReplicas: 2, provisionDelayMs: 200, engineReadyDelayMs: 300, startDelayMs: 100 }));
  const env = { ACERELAY_STATUS_INTERVAL: '30s', ACERELAY_MAX_STREAMS_PER_ENGINE: '1' };
  const a = await startInstance(sim, 'relay-a', { env });
  const b = await startInstance(sim, 'relay-b', { env });
  running.push(a, b);
  for (const i of running) await eventually(async () => (await fetch(`${i.url}/readyz`)).status === 200);
  const [only] = sim.state().engines;

  players.push(new ReconnectingPlayer(`${a.url}/ace/getstream?id=${CONTENT[0]}`).start(), new ReconnectingPlayer(`${b.url}/ace/getstream?id=${CONTENT[1]}`).start());
  // Both chose the one idle engine: each read /engines before the other's stream existed.
  await eventually(() => sim!.state().streams.filter((s) => s.container_id === only!.container_id).length === 2, 10_000, 50);
  const [first, second] = sim.state().streams.map((s) => s.id).sort((x, y) => (parseStreamId(x)!.uuid < parseStreamId(y)!.uuid ? -1 : 1));

  // The later one leaves: its stream ended as a failover, a new one started on a new engine.
  await eventually(() => {
    const engines = sim!.state().engines.filter((e) => e.sessions.some((s) => s.stopped_at === null && s.readers > 0));
    return engines.length === 2 && engines.every((e) => e.sessions.filter((s) => s.stopped_at === null).length === 1);
  }, 20_000, 100);
  const state = sim.state();
  const ends = state.events.filter((e) => e.type === 'stream_ended');
  expect(ends.map((e) => [e.stream_id, e.reason])).toEqual([[second, 'failover']]);
  expect(state.streams.find((s) => s.id === first)!.status).toBe('started');
  expect(state.streams.find((s) => s.id === first)!.container_id).toBe(only!.container_id);
  const moved = state.streams.find((s) => s.status === 'started' && s.id !== first)!;
  expect(parseStreamId(moved.id)!.instance).toBe(parseStreamId(second!)!.instance);
  expect(moved.container_id).not.toBe(only!.container_id);

  const stretches = crowdedStretches(state, 1);
  expect(stretches).toHaveLength(1);
  const window = stretches[0]!.to - stretches[0]!.from;
  console.log(`the engine carried two sessions for ${window} ms (status interval 30 s)`);
  expect(window).toBeLessThan(10_000);

  // Both players keep their one connection, and media keeps coming after the move.
  const before = players.map((p) => p.current!.mediaPackets);
  await eventually(() => players.every((p, i) => p.current!.mediaPackets > before[i]! + 500), 15_000);
  for (const p of players) {
    expect(p.attempts).toHaveLength(1);
    expect(p.current!.aligned).toBe(true);
  }
}, 60_000);
