/**
 * An instance that dies and never comes back: its streams stay `started` at the orchestrator
 * (their engines count busy for everyone) until another instance finds their engine sessions
 * gone — the engine ends a session nobody reads — and ends them. A live stream of another
 * instance is never ended, however often it is looked at.
 */
import { expect, test } from 'vitest';
import { startSimulator } from '../../src/sim/index.ts';
import { CONTENT, eventually } from '../support/stack.ts';
import { instanceBed, startInstance, startedBy } from '../support/instances.ts';
import { ReconnectingPlayer } from '../deploy/reconnecting-player.ts';

const bed = instanceBed();
const { running, players } = bed;


test('another instance’s live stream is never ended; once that instance is killed, its stream is ended after its engine session expired, and its engine serves again', async () => {
  const IDLE_EXPIRY_MS = 1_500;
  const sim = (bed.sim = await startSimulator({ port: 0, minReplicas: 2, maxReplicas: 2, provisionDelayMs: 200, engineReadyDelayMs: 300, startDelayMs: 100, idleExpiryMs: IDLE_EXPIRY_MS }));
  const env = { ACERELAY_MAX_STREAMS_PER_ENGINE: '1', ACERELAY_ORPHAN_CHECK_INTERVAL: '500ms' };
  const a = await startInstance(sim, 'relay-a', { env });
  const logs: Array<Record<string, unknown>> = [];
  const b = await startInstance(sim, 'relay-b', { env, logs });
  running.push(b);
  players.push(new ReconnectingPlayer(`${a.url}/ace/getstream?id=${CONTENT[0]}`).start());
  await eventually(() => startedBy(sim!, 'relay-a').length === 1, 15_000);
  const [aStream] = startedBy(sim, 'relay-a');
  // relay-b has read /engines since (so it does not choose the same engine: that is engine-crowding's test).
  await eventually(() => b.acerelay.feed.current().engines?.some((e) => e.streams.includes(aStream!.id)), 10_000);
  players.push(new ReconnectingPlayer(`${b.url}/ace/getstream?id=${CONTENT[1]}`).start());
  await eventually(() => startedBy(sim!, 'relay-b').length === 1 && players.every((p) => p.current!.mediaPackets > 100), 15_000);

  // Alive: looked at again and again (each pass stats it), never ended.
  for (let n = 0; n < 4; n++) {
    expect(await b.acerelay.orphans!.check()).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(startedBy(sim, 'relay-a').map((s) => s.id)).toEqual([aStream!.id]);

  // kill -9 of relay-a (in this process: sockets dropped, nothing announced).
  const tKill = Date.now();
  await a.acerelay.crash();
  players[0]!.stop();
  await eventually(() => startedBy(sim!, 'relay-a').length === 0, 15_000, 100);
  const tEnded = Date.now();
  const record = sim.state().streams.find((s) => s.id === aStream!.id)!;
  expect(record.ended_by).toBe('event');
  // The one end there was: relay-a's id, and it ended that stream.
  expect(sim.state().events.filter((e) => e.type === 'stream_ended').map((e) => [e.stream_id, e.reason, e.ended_stream_id])).toEqual([[aStream!.id, 'proxy_restart', aStream!.id]]);
  // Nobody stopped its engine session: the engine ended it, and only then was the stream ended.
  const session = sim.state().engines.flatMap((e) => e.sessions).find((s) => s.playback_session_id === aStream!.playback_session_id)!;
  expect(session.end_reason).toBe('expired');
  expect(session.stopped_at!).toBeLessThanOrEqual(record.ended_at!);
  expect(logs.some((l) => l.stream === aStream!.id && /engine session is gone/.test(String(l.msg)))).toBe(true);
  console.log(`relay-a's stream ended by relay-b ${tEnded - tKill} ms after the kill (engine expiry ${IDLE_EXPIRY_MS} ms, checks every 500 ms)`);

  // relay-b's own stream and player were never touched; the dead instance's engine serves again.
  expect(startedBy(sim, 'relay-b')).toHaveLength(1);
  expect(players[1]!.attempts).toHaveLength(1);
  players.push(new ReconnectingPlayer(`${b.url}/ace/getstream?id=${CONTENT[2]}`).start());
  await eventually(() => (players[2]!.current?.mediaPackets ?? 0) > 100, 15_000);
  expect(startedBy(sim, 'relay-b').map((s) => s.container_id)).toContain(aStream!.container_id);
}, 60_000);
