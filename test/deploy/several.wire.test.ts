/**
 * Three acerelays behind real nginx running deploy/nginx.conf, one simulated orchestrator
 * (min 2 / max 12 engines, MAX_STREAMS_PER_ENGINE=1): 12 channels × 3 players. Every player of
 * a channel lands on one instance (one engine session per channel) and plays; then one instance
 * is killed with SIGKILL, its players reconnect through nginx to one other instance per channel
 * and play again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { runAcerelay, type Child } from '../support/child.ts';
import { eventually, ffmpegRead } from '../support/stack.ts';
import { startSimulator, simInfohashForId, type Simulator } from '../../src/sim/index.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { ReconnectingPlayer } from './reconnecting-player.ts';

const CHANNELS_PER_INSTANCE = 4;
const PLAYERS_PER_CHANNEL = 3;

/** Each instance as a test sees it: its process, its address (`127.0.0.1:port`, as nginx names it). */
interface Instance {
  child: Child;
  addr: string;
  url: string;
}

interface LiveSession {
  id: string;
  content: { kind: string; value: string };
  engine: { container_id: string } | null;
  players: Array<{ id: string; state: string }>;
}

const ENV = {
  ACERELAY_LOG_LEVEL: 'info',
  ACERELAY_MAX_STREAMS_PER_ENGINE: '1',
  ACERELAY_LINGER: '1s',
  ACERELAY_HOLD_MAX: '30s',
  ACERELAY_STATUS_INTERVAL: '2s',
  ACERELAY_STATUS_INTERVAL_DEGRADED: '1s',
  ACERELAY_STATUS_TIMEOUT: '1s',
  ACERELAY_NO_RESPONSE_TIMEOUT: '5s',
  ACERELAY_EMPTY_TIMEOUT: '4s',
  ACERELAY_PROBE_INTERVAL: '3s',
  ACERELAY_SHUTDOWN_GRACE: '5s',
};

let sim: Simulator;
let nginx: Nginx;
const instances: Instance[] = [];
/** Channel id → the instance nginx sends it to (by address), before any failure. */
const home = new Map<string, string>();
const players = new Map<string, ReconnectingPlayer[]>();

async function sessionsOf(i: Instance): Promise<LiveSession[]> {
  const res = await fetch(`${i.url}/api/sessions`);
  return ((await res.json()) as { live: LiveSession[] }).live;
}

/** The instance nginx picks for a channel: asked with HEAD, which acerelay answers without an engine. */
async function routeOf(id: string): Promise<string> {
  const res = await fetch(`${nginx.url}/ace/getstream?id=${id}`, { method: 'HEAD' });
  expect(res.status).toBe(200);
  return res.headers.get('x-acerelay-instance')!;
}

/** Running engine sessions (with a reader) per content, from the simulator. */
function readingSessions(id: string): number {
  const infohash = simInfohashForId(id);
  return sim
    .state()
    .engines.flatMap((e) => e.sessions)
    .filter((s) => s.infohash === infohash && s.stopped_at === null && s.readers > 0).length;
}

/** Reading engine sessions on each engine that has any (the shared truth of engine load). */
function perEngine(): number[] {
  return sim
    .state()
    .engines.map((e) => e.sessions.filter((s) => s.stopped_at === null && s.readers > 0).length)
    .filter((n) => n > 0)
    .sort((a, b) => b - a);
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, minReplicas: 2, maxReplicas: 12, provisionDelayMs: 200, engineReadyDelayMs: 300, startDelayMs: 100 });
  for (let n = 0; n < 3; n++) {
    const child = runAcerelay(['serve', '--listen', '127.0.0.1:0'], { ...ENV, ACERELAY_ORCH_URL: sim.url });
    const url = JSON.parse(await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/)).url as string;
    instances.push({ child, url, addr: new URL(url).host });
  }
  for (const i of instances) await eventually(async () => (await fetch(`${i.url}/readyz`)).status === 200, 20_000);
  nginx = await startNginx(instances.map((i) => i.addr));
  // Channel ids chosen so that each instance has the same share (the hash spreads 12 keys
  // unevenly, and the ring depends on the instances' ports).
  const perInstance = new Map<string, number>();
  for (let n = 0; home.size < CHANNELS_PER_INSTANCE * instances.length; n++) {
    if (n > 500) throw new Error(`nginx sends most channels to one instance: ${JSON.stringify([...perInstance])}`);
    const id = createHash('sha1').update(`channel-${n}`).digest('hex');
    const addr = await routeOf(id);
    if ((perInstance.get(addr) ?? 0) >= CHANNELS_PER_INSTANCE) continue;
    perInstance.set(addr, (perInstance.get(addr) ?? 0) + 1);
    home.set(id, addr);
  }
}, 90_000);

afterAll(async () => {
  for (const list of players.values()) for (const p of list) p.stop();
  for (const i of instances) i.child.proc.kill('SIGKILL');
  await nginx?.stop();
  await sim?.close();
});

describe('three acerelays behind nginx (deploy/nginx.conf), one orchestrator', () => {
  test('12 channels × 3 players: every player of a channel on one instance, one engine session per channel, all play (ffmpeg through nginx on each instance); kill -9 of one: its players reconnect and play again on one other instance per channel', async () => {
    const t0 = Date.now();
    for (const id of home.keys()) {
      players.set(
        id,
        Array.from({ length: PLAYERS_PER_CHANNEL }, () => new ReconnectingPlayer(`${nginx.url}/ace/getstream?id=${id}`).start()),
      );
    }
    const all = () => [...players.values()].flat();
    await eventually(() => all().every((p) => (p.current?.mediaPackets ?? 0) > 500), 90_000, 250);
    console.log(`12 channels playing ${((Date.now() - t0) / 1000).toFixed(1)} s after the first request; reading sessions per engine: ${JSON.stringify(perEngine())}`);

    // Every player where nginx said its channel goes, on its first connection.
    for (const [id, list] of players) {
      for (const p of list) {
        expect(p.attempts).toHaveLength(1);
        expect(p.current!.status).toBe(200);
        expect(p.current!.instance).toBe(home.get(id));
        expect(p.current!.aligned).toBe(true);
      }
    }
    // Each instance runs exactly its channels, one session each with all three players; each
    // channel has one engine session.
    for (const i of instances) {
      const live = await sessionsOf(i);
      const mine = [...home].filter(([, addr]) => addr === i.addr).map(([id]) => id);
      expect(live.map((s) => s.content.value).sort()).toEqual(mine.sort());
      for (const s of live) expect(s.players).toHaveLength(PLAYERS_PER_CHANNEL);
    }
    for (const id of home.keys()) expect(readingSessions(id)).toBe(1);

    // ffmpeg through nginx, one channel per instance: it joins that channel's session.
    const probes = instances.map((i) => [...home].find(([, addr]) => addr === i.addr)![0]);
    const ff = await Promise.all(probes.map((id) => ffmpegRead(`${nginx.url}/ace/getstream?id=${id}`, 4)));
    expect(ff).toEqual(probes.map(() => ({ code: 0, stderr: '' })));
    for (const id of probes) expect(readingSessions(id)).toBe(1);

    // kill -9 one instance.
    const victim = instances[0]!;
    const moved = [...home].filter(([, addr]) => addr === victim.addr).map(([id]) => id);
    const stayed = [...home.keys()].filter((id) => !moved.includes(id));
    const tKill = Date.now();
    victim.child.proc.kill('SIGKILL');
    await victim.child.exited;

    // Its players see a broken stream (not a clean end), reconnect, and nginx sends each
    // channel's players to one surviving instance.
    const movedPlayers = moved.flatMap((id) => players.get(id)!);
    await eventually(() => movedPlayers.every((p) => p.attempts.length >= 2 && p.current!.status === 200), 20_000, 100);
    const tReconnected = Date.now();
    for (const p of movedPlayers) expect(p.attempts[0]!.ending).toBe('error');
    const newHome = new Map<string, string>();
    for (const id of moved) {
      const where = new Set(players.get(id)!.map((p) => p.current!.instance));
      expect(where.size).toBe(1);
      const addr = [...where][0]!;
      expect(addr).not.toBe(victim.addr);
      newHome.set(id, addr);
    }

    // Whether an engine is free for the moved channels depends on capacity, not on nginx: the
    // dead instance's 4 streams stay "started" at the orchestrator, so their engines count busy,
    // until someone ends them (the instance coming back on its journal, or another one taking
    // over: issue 17 part B); and once every engine carries one session as
    // MAX_STREAMS_PER_ENGINE=1 asks (today two instances can pick one engine: part B), 12 channels
    // take all 12 engines. The orchestrator is given room for 4 more, so that what is measured
    // here is nginx's failover and the survivors' start.
    await sim.control('capacity', { max_replicas: 16 });
    await eventually(() => movedPlayers.every((p) => (p.current?.mediaPackets ?? 0) > 500), 60_000, 100);
    const firstMedia = Math.max(...movedPlayers.map((p) => p.current!.firstMediaAt!));
    console.log(
      `kill -9 → all ${movedPlayers.length} players reconnected (200) in ${((tReconnected - tKill) / 1000).toFixed(1)} s, ` +
        `media again in ${((firstMedia - tKill) / 1000).toFixed(1)} s; reading sessions per engine: ${JSON.stringify(perEngine())}`,
    );
    // The documented bound (README, "Run several"): the players' own retry pause, nginx's
    // failover within the same request, then a channel start on the new instance.
    expect(tReconnected - tKill).toBeLessThan(10_000);
    expect(firstMedia - tKill).toBeLessThan(30_000);

    // One session per moved channel on its new instance, with all three players; one reading
    // engine session per channel.
    for (const i of instances.slice(1)) {
      const live = await sessionsOf(i);
      const expected = [...stayed.filter((id) => home.get(id) === i.addr), ...moved.filter((id) => newHome.get(id) === i.addr)];
      expect(live.map((s) => s.content.value).sort()).toEqual(expected.sort());
      for (const s of live) expect(s.players).toHaveLength(PLAYERS_PER_CHANNEL);
    }
    for (const id of home.keys()) expect(readingSessions(id)).toBe(1);
    // The other instances' players were never interrupted.
    for (const id of stayed) for (const p of players.get(id)!) expect(p.attempts).toHaveLength(1);
    // And a moved channel plays for ffmpeg through nginx.
    expect(await ffmpegRead(`${nginx.url}/ace/getstream?id=${moved[0]}`, 4)).toEqual({ code: 0, stderr: '' });
  }, 240_000);

  // Part B of issue 17 (instance labels, capacity across instances, per-instance recovery):
  test.todo('no engine ever carries two sessions for longer than the documented window (two instances picking one engine with MAX_STREAMS_PER_ENGINE=1)');
  test.todo('without spare capacity, the killed instance’s players play again once its orphaned streams are taken over (bounded, even if it never comes back)');
  test.todo('the killed instance restarted on its data dir: its orphaned streams are ended and its engine sessions stopped; no other instance’s stream is ended');
});
