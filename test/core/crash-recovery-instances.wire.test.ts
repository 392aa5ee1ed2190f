/**
 * Crash recovery with several instances on one orchestrator: an instance killed and started
 * again on its data dir ends the streams and stops the engine sessions its journal shows —
 * its own, under whatever name it comes back (a recreated container has a new host name) —
 * and never another instance's.
 */
import { expect, test } from 'vitest';
import { startSimulator } from '../../src/sim/index.ts';
import { CONTENT, eventually } from '../support/stack.ts';
import { instanceBed, startInstance, startedBy, type Instance } from '../support/instances.ts';
import { ReconnectingPlayer } from '../deploy/reconnecting-player.ts';

const bed = instanceBed();
const { running, players } = bed;

async function playOn(i: Instance, ids: string[], others: Instance[]): Promise<void> {
  const before = startedBy(bed.sim!, i.name).length;
  for (const id of ids) players.push(new ReconnectingPlayer(`${i.url}/ace/getstream?id=${id}`).start());
  await eventually(() => startedBy(bed.sim!, i.name).length === before + ids.length, 15_000);
  // The others have read /engines since: nobody chooses these engines (engine-crowding has its own test).
  const mine = startedBy(bed.sim!, i.name).map((s) => s.id);
  for (const o of others) await eventually(() => mine.every((id) => o.acerelay.feed.current().engines?.some((e) => e.streams.includes(id))), 10_000);
}

test.each([
  ['the same name', 'relay-a'],
  ['another name (a recreated container)', 'relay-a2'],
])('kill -9 of one instance, started again on its data dir under %s: its streams ended and engine sessions stopped, the other instance’s untouched', async (_what, comeback) => {
  const sim = (bed.sim = await startSimulator({ port: 0, minReplicas: 4, maxReplicas: 4, provisionDelayMs: 200, engineReadyDelayMs: 300, startDelayMs: 100 }));
  const env = { ACERELAY_MAX_STREAMS_PER_ENGINE: '1' };
  const a = await startInstance(sim, 'relay-a', { env });
  const b = await startInstance(sim, 'relay-b', { env });
  running.push(b);
  await playOn(a, [CONTENT[0]!, CONTENT[1]!], [b]);
  await playOn(b, [CONTENT[2]!, CONTENT[3]!], [a]);
  await eventually(() => players.every((p) => p.current!.mediaPackets > 100), 15_000);
  const aStreams = startedBy(sim, 'relay-a');
  const bStreams = startedBy(sim, 'relay-b');
  const bSessions = new Set(bStreams.map((s) => s.playback_session_id));

  await a.acerelay.crash();
  for (const p of players.slice(0, 2)) p.stop();
  expect(startedBy(sim, 'relay-a')).toHaveLength(2);
  const again = await startInstance(sim, comeback, { env, dataDir: a.dataDir });
  running.push(again);
  expect(again.acerelay.recovery).toMatchObject({ sessions: 2, ends: 2 });

  await eventually(() => startedBy(sim!, 'relay-a').length === 0, 15_000);
  const aSessions = new Set(aStreams.map((s) => s.playback_session_id));
  await eventually(() => sim!.state().engines.flatMap((e) => e.sessions).filter((s) => aSessions.has(s.playback_session_id)).every((s) => s.stop_calls === 1 && s.end_reason === 'stop'), 10_000);
  const state = sim.state();
  const sessions = state.engines.flatMap((e) => e.sessions);
  // Exactly its two streams were ended, each the one named.
  expect(state.events.filter((e) => e.type === 'stream_ended').map((e) => e.stream_id).sort()).toEqual(aStreams.map((s) => s.id).sort());
  for (const e of state.events.filter((x) => x.type === 'stream_ended')) expect(e.ended_stream_id).toBe(e.stream_id);
  // relay-b's streams, engine sessions and players: as they were.
  expect(startedBy(sim, 'relay-b').map((s) => s.id).sort()).toEqual(bStreams.map((s) => s.id).sort());
  for (const s of sessions.filter((x) => bSessions.has(x.playback_session_id))) {
    expect(s.stopped_at).toBeNull();
    expect(s.stop_calls).toBe(0);
  }
  for (const p of players.slice(2)) expect(p.attempts).toHaveLength(1);
  const playing = players.slice(2).map((p) => p.current!.mediaPackets);
  await eventually(() => players.slice(2).every((p, i) => p.current!.mediaPackets > playing[i]! + 100), 10_000);
}, 60_000);
