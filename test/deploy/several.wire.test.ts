/**
 * Three acerelays behind real nginx running deploy/nginx.conf, one simulated orchestrator
 * (min 2 / max 12 engines, MAX_STREAMS_PER_ENGINE=1): 12 channels × 3 players, so every engine
 * the orchestrator may run is needed and there is no spare capacity.
 *  1. Every player of a channel lands on one instance (one engine session per channel) and
 *     plays; no engine carries two sessions for longer than the window (instances that chose
 *     one engine at the same moment see it in /engines and the later one moves); provisioning
 *     stays within 3 × PROVISION_CONCURRENCY; every stream names its instance.
 *  2. kill -9 of one instance and an immediate restart on its data dir: its players reconnect
 *     through nginx and play again once its streams are ended, which it does itself on its
 *     journal (engine sessions stopped); no other instance's stream is ended.
 *  3. kill -9 of another instance for good: its players play again once the survivors have
 *     ended its streams (their engine sessions expired), within the documented bound.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAcerelay, type Child } from '../support/child.ts';
import { eventually, ffmpegRead, type FfmpegResult } from '../support/stack.ts';
import { startSimulator, simInfohashForId, type Simulator } from '../../src/sim/index.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { ReconnectingPlayer } from './reconnecting-player.ts';
import { crowdedStretches, instanceOf, provisionsInFlight, startedBy } from './shared-truth.ts';

const CHANNELS_PER_INSTANCE = 4;
const PLAYERS_PER_CHANNEL = 3;
const STATUS_INTERVAL_MS = 2_000;
const ORPHAN_CHECK_MS = 1_000;
/** The simulated engines end a session nobody reads after this long (real ones: about a minute). */
const ENGINE_IDLE_EXPIRY_MS = 15_000;
/**
 * The documented window (docs/architecture.md, "Several instances"): the later start, its
 * stream_started, one status poll of its instance, the stop. Here about 2.5 s; the slack is for
 * a busy machine.
 */
const CROWDING_WINDOW_MS = STATUS_INTERVAL_MS + 5_000;

/** Each instance as a test sees it: its process, its address (`127.0.0.1:port`, as nginx names it). */
interface Instance {
  name: string;
  dataDir: string;
  child: Child;
  addr: string;
  url: string;
}

interface LiveSession {
  id: string;
  content: { kind: string; value: string };
  stream_id: string | null;
  players: Array<{ id: string; state: string }>;
}

const ENV = {
  ACERELAY_LOG_LEVEL: 'info',
  ACERELAY_MAX_STREAMS_PER_ENGINE: '1',
  ACERELAY_LINGER: '1s',
  ACERELAY_HOLD_MAX: '30s',
  ACERELAY_STATUS_INTERVAL: `${STATUS_INTERVAL_MS}ms`,
  ACERELAY_STATUS_INTERVAL_DEGRADED: '1s',
  ACERELAY_STATUS_TIMEOUT: '1s',
  ACERELAY_NO_RESPONSE_TIMEOUT: '5s',
  ACERELAY_EMPTY_TIMEOUT: '4s',
  ACERELAY_PROBE_INTERVAL: '3s',
  ACERELAY_SHUTDOWN_GRACE: '5s',
  ACERELAY_ORPHAN_CHECK_INTERVAL: `${ORPHAN_CHECK_MS}ms`,
};

let sim: Simulator;
let nginx: Nginx;
const instances: Instance[] = [];
/** Every acerelay process started, restarts included: killed at the end whatever happened. */
const children: Child[] = [];
/** Channel id → the instance (address) its players are on now. */
const home = new Map<string, string>();
/** Channel id → the instance nginx chose for it with every instance up. */
const firstHome = new Map<string, string>();
const players = new Map<string, ReconnectingPlayer[]>();

function spawnInstance(name: string, dataDir: string, listen = '127.0.0.1:0'): Child {
  const child = runAcerelay(['serve', '--listen', listen], { ...ENV, ACERELAY_ORCH_URL: sim.url, ACERELAY_INSTANCE: name, ACERELAY_DATA_DIR: dataDir });
  children.push(child);
  return child;
}

async function urlOf(child: Child): Promise<string> {
  return JSON.parse(await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 60_000)).url as string;
}

async function sessionsOf(i: Instance): Promise<LiveSession[]> {
  const res = await fetch(`${i.url}/api/sessions`);
  return ((await res.json()) as { live: LiveSession[] }).live;
}

/** The instance nginx picks for a channel: asked with HEAD, which acerelay answers without an engine. */
async function routeOf(id: string): Promise<string> {
  const res = await fetch(`${nginx.url}/ace/getstream?id=${id}`, { method: 'HEAD' });
  expect(res.status).toBe(200);
  // `$upstream_addr` lists every instance tried ("a, b" after a failover): the last one answered.
  return res.headers.get('x-acerelay-instance')!.split(',').at(-1)!.trim();
}

/** Running engine sessions (with a reader) per content, from the simulator. */
function readingSessions(id: string): number {
  const infohash = simInfohashForId(id);
  return sim
    .state()
    .engines.flatMap((e) => e.sessions)
    .filter((s) => s.infohash === infohash && s.stopped_at === null && s.readers > 0).length;
}

/** Running engine sessions on each engine that has any, most first. */
function perEngine(): number[] {
  return sim
    .state()
    .engines.map((e) => e.sessions.filter((s) => s.stopped_at === null).length)
    .filter((n) => n > 0)
    .sort((a, b) => b - a);
}

const all = () => [...players.values()].flat();
const channelsOn = (addr: string) => [...home].filter(([, a]) => a === addr).map(([id]) => id);

/** Every channel plays on one engine session, and every engine carries at most one. */
async function settled(ms: number): Promise<void> {
  await waitFor('every player playing', () => all().every((p) => p.current?.status === 200 && (p.current.mediaPackets ?? 0) > 300), ms);
  await waitFor('one engine session per channel and engine', () => [...home.keys()].every((id) => readingSessions(id) === 1) && perEngine().every((n) => n === 1), ms);
}

/** The longest an engine carried more than one session, checked against the window. */
function expectNoLastingCrowding(): number {
  const state = sim.state();
  const stretches = crowdedStretches(state, 1);
  const longest = Math.max(0, ...stretches.map((c) => c.to - c.from));
  expect(stretches.filter((c) => c.to - c.from > CROWDING_WINDOW_MS)).toEqual([]);
  return longest;
}

/**
 * The stream_ended events since `from` (an index into the simulator's events) ended the dead
 * instance's streams and nothing else of anyone's — apart from streams their own instance moved
 * off a shared engine (a failover it logged): the moved channels start at once on the survivors,
 * and two of those may choose one freed engine.
 */
function expectOnlyTheirEnds(from: number, victimStreams: string[]): void {
  for (const e of sim.state().events.filter((x) => x.type === 'stream_ended').slice(from)) {
    expect(e.ended_stream_id ?? e.stream_id).toBe(e.stream_id);
    if (victimStreams.includes(e.stream_id!)) continue;
    const owner = instances.find((i) => i.name === instanceOf(e.stream_id!))!;
    expect([e.stream_id, e.reason]).toEqual([e.stream_id, 'failover']);
    expect(owner.child.stderr().split('\n').some((l) => l.includes(e.stream_id!) && l.includes('the engine carries more sessions than the maximum'))).toBe(true);
  }
}

/** ffmpeg through nginx; when it fails, what the instance serving that channel shows is printed. */
async function ffmpegThroughNginx(id: string): Promise<FfmpegResult> {
  const result = await ffmpegRead(`${nginx.url}/ace/getstream?id=${id}`, 4);
  if (result.code !== 0 || result.stderr !== '') {
    const i = instances.find((x) => x.addr === home.get(id));
    const live = i ? (await sessionsOf(i).catch(() => [])).filter((s) => s.content.value === id) : [];
    explain(`ffmpeg failed on ${id.slice(0, 6)} (served by ${i?.name}: ${JSON.stringify(live)})`);
  }
  return result;
}

/** What the players and the simulator show now: printed when a wait runs out. */
function explain(what: string): void {
  const state = sim.state();
  console.log(
    `${what}: players ${JSON.stringify([...players].map(([id, list]) => [id.slice(0, 6), list.map((p) => [p.attempts.length, p.current?.status, p.current?.instance, p.current?.mediaPackets])]))}; ` +
      `started ${JSON.stringify(instances.map((i) => [i.name, startedBy(state, i.name).length]))}; sessions per engine ${JSON.stringify(perEngine())}; ` +
      `engines ${state.engines.filter((e) => e.removed_at === null).length}`,
  );
}

async function waitFor<T>(what: string, check: () => T | Promise<T>, ms: number, every = 250): Promise<NonNullable<T>> {
  try {
    return await eventually(check, ms, every);
  } catch (err) {
    explain(what);
    throw err;
  }
}

function moves(): number {
  return instances.reduce((n, i) => n + (i.child.stderr().match(/the engine carries more sessions than the maximum/g)?.length ?? 0), 0);
}

/** Kills one instance (SIGKILL) and waits until every player of its channels is back on a survivor with a 200. */
async function kill(victim: Instance): Promise<{ tKill: number; moved: string[] }> {
  const moved = channelsOn(victim.addr);
  const tKill = Date.now();
  victim.child.proc.kill('SIGKILL');
  await victim.child.exited;
  return { tKill, moved };
}

beforeAll(async () => {
  sim = await startSimulator({
    port: 0,
    minReplicas: 2,
    maxReplicas: 12,
    provisionDelayMs: 200,
    engineReadyDelayMs: 300,
    startDelayMs: 100,
    idleExpiryMs: ENGINE_IDLE_EXPIRY_MS,
  });
  const spawned = [1, 2, 3].map((n) => {
    const name = `relay-${n}`;
    const dataDir = mkdtempSync(join(tmpdir(), `acerelay-${name}-`));
    return { name, dataDir, child: spawnInstance(name, dataDir) };
  });
  for (const [n, url] of (await Promise.all(spawned.map((s) => urlOf(s.child)))).entries()) {
    instances.push({ ...spawned[n]!, url, addr: new URL(url).host });
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
    firstHome.set(id, addr);
  }
}, 180_000);

afterAll(async () => {
  for (const list of players.values()) for (const p of list) p.stop();
  for (const c of children) c.proc.kill('SIGKILL');
  await nginx?.stop();
  await sim?.close();
});

describe('three acerelays behind nginx (deploy/nginx.conf), one orchestrator, no spare engine', () => {
  test('12 channels × 3 players: every player of a channel on one instance, one engine session per channel, all play (ffmpeg on each instance); no engine carries two sessions beyond the window; provisioning within 3 × PROVISION_CONCURRENCY; every stream names its instance', async () => {
    const t0 = Date.now();
    for (const id of home.keys()) {
      players.set(
        id,
        Array.from({ length: PLAYERS_PER_CHANNEL }, () => new ReconnectingPlayer(`${nginx.url}/ace/getstream?id=${id}`).start()),
      );
    }
    await settled(90_000);
    const longest = expectNoLastingCrowding();
    console.log(
      `12 channels on 12 engines ${((Date.now() - t0) / 1000).toFixed(1)} s after the first request; ` +
        `${moves()} sessions moved off a shared engine; longest an engine carried two: ${longest} ms; ` +
        `provisioning calls in flight at most: ${provisionsInFlight(sim.state())}`,
    );

    // Every player where nginx said its channel goes, on its first connection: moving a
    // session to another engine is invisible to its players (no reconnect).
    for (const [id, list] of players) {
      for (const p of list) {
        expect(p.attempts).toHaveLength(1);
        expect(p.current!.instance).toBe(home.get(id));
        expect(p.current!.aligned).toBe(true);
      }
    }
    // Each instance runs exactly its channels, one session each with all three players.
    for (const i of instances) {
      const live = await sessionsOf(i);
      expect(live.map((s) => s.content.value).sort()).toEqual(channelsOn(i.addr).sort());
      for (const s of live) expect(s.players).toHaveLength(PLAYERS_PER_CHANNEL);
      // Its streams carry its name, in the id and in the labels.
      for (const s of live) expect(instanceOf(s.stream_id!)).toBe(i.name);
    }
    const state = sim.state();
    for (const s of state.streams) {
      expect(s.id).toMatch(/^acerelay-relay-[123]-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(s.labels['acerelay.instance']).toBe(instanceOf(s.id));
    }
    // N instances × PROVISION_CONCURRENCY (2) at most.
    expect(provisionsInFlight(state)).toBeLessThanOrEqual(3 * 2);

    // ffmpeg through nginx, one channel per instance: it joins that channel's session.
    const probes = instances.map((i) => channelsOn(i.addr)[0]!);
    const ff = await Promise.all(probes.map((id) => ffmpegThroughNginx(id)));
    expect(ff).toEqual(probes.map(() => ({ code: 0, stderr: '' })));
    for (const id of probes) expect(readingSessions(id)).toBe(1);
  }, 180_000);

  test('kill -9 and restart on its data dir: its players reconnect and play again on one other instance per channel once it has ended its streams and stopped its engine sessions; no other instance’s stream is ended', async () => {
    const victim = instances[0]!;
    const theirs = instances.slice(1);
    const before = sim.state();
    const victimStreams = startedBy(before, victim.name);
    const othersStreams = theirs.flatMap((i) => startedBy(before, i.name));
    expect(victimStreams).toHaveLength(CHANNELS_PER_INSTANCE);
    const victimSessions = new Set(
      before.streams.filter((s) => victimStreams.includes(s.id)).map((s) => s.playback_session_id),
    );
    const endsBefore = before.events.filter((e) => e.type === 'stream_ended').length;

    const { tKill, moved } = await kill(victim);
    // Back at once, on the same port and data dir, as a restarted container is.
    victim.child = spawnInstance(victim.name, victim.dataDir, victim.addr);
    await urlOf(victim.child);
    const movedPlayers = moved.flatMap((id) => players.get(id)!);

    // Its streams are ended and its engine sessions stopped — by itself, on its journal (the
    // engines would have ended them only after ENGINE_IDLE_EXPIRY_MS).
    await eventually(() => startedBy(sim.state(), victim.name).length === 0, 20_000);
    const after = sim.state();
    const sessions = after.engines.flatMap((e) => e.sessions).filter((s) => victimSessions.has(s.playback_session_id));
    expect(sessions).toHaveLength(CHANNELS_PER_INSTANCE);
    for (const s of sessions) {
      expect(s.end_reason).toBe('stop');
      expect(s.stop_calls).toBe(1);
    }
    await eventually(() => /recovered from the previous run/.test(victim.child.stderr()), 10_000);

    // Its players reconnected through nginx (it was refused while down, so nginx sends them on)
    // and play again, each channel on one surviving instance.
    await waitFor('the moved players playing', () => movedPlayers.every((p) => p.attempts.length >= 2 && p.current!.status === 200 && p.current!.mediaPackets > 300), 60_000, 100);
    const firstMedia = Math.max(...movedPlayers.map((p) => p.current!.firstMediaAt!));
    for (const p of movedPlayers) expect(p.attempts[0]!.ending).toBe('error');
    for (const id of moved) {
      const where = new Set(players.get(id)!.map((p) => p.current!.instance));
      expect(where.size).toBe(1);
      const addr = [...where][0]!;
      expect(theirs.map((i) => i.addr)).toContain(addr);
      home.set(id, addr);
    }
    console.log(`kill -9 + restart → its ${movedPlayers.length} players play again ${((firstMedia - tKill) / 1000).toFixed(1)} s after the kill`);
    expect(firstMedia - tKill).toBeLessThan(30_000);

    // No other instance's stream was ended: every end since the kill named one of the victim's.
    expectOnlyTheirEnds(endsBefore, victimStreams);
    const started = new Set(sim.state().streams.filter((s) => s.status === 'started').map((s) => s.id));
    for (const id of othersStreams) expect(started.has(id)).toBe(true);
    for (const id of [...home.keys()].filter((id) => !moved.includes(id))) for (const p of players.get(id)!) expect(p.attempts).toHaveLength(1);

    await settled(60_000);
    expectNoLastingCrowding();
  }, 180_000);

  test('kill -9 for good: its players play again once the survivors have ended its orphaned streams (their engine sessions gone), within engine expiry + 2 orphan checks + a poll + a start; no survivor’s stream is ended', async () => {
    const victim = instances[1]!;
    const survivors = instances.filter((i) => i !== victim);
    // nginx left the restarted instance out for fail_timeout after it was refused: once that is
    // over, a channel's players and any new player of it are routed alike.
    const backHome = [...firstHome].find(([, addr]) => addr === instances[0]!.addr)![0];
    await waitFor('nginx routing to the restarted instance again', async () => (await routeOf(backHome)) === instances[0]!.addr, 30_000, 500);
    const before = sim.state();
    const victimStreams = startedBy(before, victim.name);
    const survivorStreams = survivors.flatMap((i) => startedBy(before, i.name));
    expect(victimStreams.length).toBeGreaterThan(0);
    const endsBefore = before.events.filter((e) => e.type === 'stream_ended').length;

    const { tKill, moved } = await kill(victim);
    const movedPlayers = moved.flatMap((id) => players.get(id)!);
    const firstTry = new Map(movedPlayers.map((p) => [p, p.attempts.length]));

    // Nobody stops its engine sessions: the engines end them, nobody reading. Then a survivor
    // finds them gone twice and ends the streams: capacity comes back and the players play.
    await waitFor('its streams ended', () => startedBy(sim.state(), victim.name).length === 0, 60_000);
    const tEnded = Date.now();
    await waitFor('the moved players playing', () => movedPlayers.every((p) => p.attempts.length > firstTry.get(p)! && p.current!.status === 200 && p.current!.mediaPackets > 300), 60_000, 100);
    const firstMedia = Math.max(...movedPlayers.map((p) => p.current!.firstMediaAt!));
    console.log(
      `kill -9 for good → its streams ended by the survivors ${((tEnded - tKill) / 1000).toFixed(1)} s after the kill ` +
        `(engine expiry ${ENGINE_IDLE_EXPIRY_MS / 1000} s), its ${movedPlayers.length} players play again after ${((firstMedia - tKill) / 1000).toFixed(1)} s`,
    );
    // The bound: the engine's expiry, two orphan checks, a status poll, a start (+ slack).
    expect(firstMedia - tKill).toBeLessThan(ENGINE_IDLE_EXPIRY_MS + 2 * ORPHAN_CHECK_MS + STATUS_INTERVAL_MS + 15_000);
    const state = sim.state();
    for (const id of victimStreams) {
      const s = state.streams.find((x) => x.id === id)!;
      expect(s.ended_by).toBe('event');
    }
    // Its engine sessions were never stopped by anyone: they expired.
    const victimSessions = new Set(state.streams.filter((s) => victimStreams.includes(s.id)).map((s) => s.playback_session_id));
    for (const s of state.engines.flatMap((e) => e.sessions).filter((x) => victimSessions.has(x.playback_session_id))) {
      expect(s.end_reason).toBe('expired');
    }
    // No survivor's stream was ended.
    expectOnlyTheirEnds(endsBefore, victimStreams);
    const started = new Set(state.streams.filter((s) => s.status === 'started').map((s) => s.id));
    for (const id of survivorStreams) expect(started.has(id)).toBe(true);

    for (const id of moved) {
      const where = new Set(players.get(id)!.map((p) => p.current!.instance));
      expect(where.size).toBe(1);
      home.set(id, [...where][0]!);
    }
    await settled(60_000);
    expectNoLastingCrowding();
    // nginx routes a new player of a moved channel to where its players went (ffmpeg joins them).
    expect(await routeOf(moved[0]!)).toBe(home.get(moved[0]!));
    expect(await ffmpegThroughNginx(moved[0]!)).toEqual({ code: 0, stderr: '' });
  }, 180_000);
});
