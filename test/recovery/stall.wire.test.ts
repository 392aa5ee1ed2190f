/**
 * A mid-stream engine stall over the real wire: after ~5 s of upstream silence the players of
 * the session get keep-alive null packets (whole packets, continuity of the media PIDs intact)
 * until media flows again, and ffmpeg reads through it. EMPTY_TIMEOUT is set beyond the gap, so
 * the session waits for its engine rather than failing over.
 */
import http from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { CONTENT, eventually, ffmpegRead, sleep, startStack, wholePackets, type Stack } from '../support/stack.ts';
import { simInfohashForId } from '../../src/sim/index.ts';
import { NULL_PID, PACKET_SIZE, pidOf } from '../../src/ts/packet.ts';
import { STALL_KEEPALIVE_AFTER_MS } from '../../src/server/keep-alive.ts';
import { checkStream } from '../ts/stream-check.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

const GAP_MS = 9_000;

interface Timed {
  /** Arrival time (ms) of each whole packet received. */
  times: number[];
  bytes: Buffer;
  status: number;
}

const isNull = (buf: Buffer, i: number) => pidOf(buf, i * PACKET_SIZE) === NULL_PID;

/**
 * A player that notes when each packet arrived. It stops `after` packets past the first media
 * packet that came `silentMs` or more after the media packet before it (the clip has null
 * packets of its own: media is every other PID).
 */
function timedPlayer(url: string, silentMs: number, after: number, maxMs: number): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const times: number[] = [];
    let size = 0;
    let status = 0;
    let all = Buffer.alloc(0);
    let lastMedia: number | null = null;
    let resumed = -1;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), maxMs);
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      all = Buffer.concat(chunks, size);
      resolve({ times, bytes: all.subarray(0, times.length * PACKET_SIZE), status });
    };
    const req = http.get(url, { signal: ac.signal }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        const now = Date.now();
        const from = times.length;
        while ((times.length + 1) * PACKET_SIZE <= size) times.push(now);
        if (times.length === from) return;
        all = Buffer.concat(chunks, size);
        for (let i = from; i < times.length && resumed < 0; i++) {
          if (isNull(all, i)) continue;
          if (lastMedia !== null && now - lastMedia >= silentMs) resumed = i;
          lastMedia = now;
        }
        if (resumed >= 0 && times.length - resumed > after) {
          ac.abort();
          done();
        }
      });
      res.on('error', () => done());
      res.on('end', () => done());
    });
    req.on('error', (err) => (ac.signal.aborted ? done() : reject(err)));
  });
}

/** The longest silence between two media packets: their indices. */
function longestMediaGap(buf: Buffer, times: number[]): { before: number; after: number } {
  let best = { before: -1, after: -1 };
  let last = -1;
  for (let i = 0; i < times.length; i++) {
    if (isNull(buf, i)) continue;
    if (last >= 0 && (best.before < 0 || times[i]! - times[last]! > times[best.after]! - times[best.before]!)) best = { before: last, after: i };
    last = i;
  }
  return best;
}

test('a 9 s upstream gap: keep-alive null packets after ~5 s of silence, then media again on the same session; ffmpeg reads through it', async () => {
  stack = await startStack({ sim: { minReplicas: 1, maxReplicas: 2 }, env: { ACERELAY_EMPTY_TIMEOUT: '20s', ACERELAY_HOLD_MAX: '60s' } });
  const url = `${stack.url}/ace/getstream?id=${CONTENT[0]}`;
  const ih = simInfohashForId(CONTENT[0]!);
  const ffmpeg = ffmpegRead(url, 10, ['-progress', 'pipe:2', '-stats_period', '1']);
  const reading = timedPlayer(url, GAP_MS - 2_000, 2_000, 40_000);
  const engine = await eventually(() => stack!.sim.state().engines.find((e) => e.sessions.some((s) => s.infohash === ih && s.stopped_at === null)), 10_000);
  await eventually(() => stack!.acerelay.registry.listPlayers().filter((c) => stack!.acerelay.registry.describePlayer(c).state === 'streaming').length === 2, 10_000);
  await sleep(1_500);
  await stack.sim.control(`engines/${engine.container_id}`, { mode: 'gap', ms: GAP_MS });
  const gapEnds = Date.now() + GAP_MS;
  const got = await reading;
  expect(got.status).toBe(200);
  expect(wholePackets(got.bytes)).toBe(true);
  // Null packets fall between whole packets: every media PID's continuity is intact.
  expect(checkStream(got.bytes).problems).toEqual([]);

  const { before, after } = longestMediaGap(got.bytes, got.times);
  expect(before).toBeGreaterThan(0);
  const lastMedia = got.times[before]!;
  expect(got.times[after]! - lastMedia).toBeGreaterThanOrEqual(GAP_MS - 2_000);
  // What arrived in the silence, after the packets that came with the last media chunk.
  const keepAlive = got.times.slice(before + 1, after).filter((t) => t > lastMedia);
  expect(keepAlive.length).toBeGreaterThanOrEqual(6);
  for (let i = before + 1; i < after; i++) expect(isNull(got.bytes, i)).toBe(true);
  const silence = keepAlive[0]! - lastMedia;
  expect(silence).toBeGreaterThanOrEqual(STALL_KEEPALIVE_AFTER_MS - 1_000);
  expect(silence).toBeLessThan(STALL_KEEPALIVE_AFTER_MS + 2_500);
  // Then a few per second until media came back.
  const gaps = [...keepAlive.slice(1), got.times[after]!].map((t, i) => t - keepAlive[i]!);
  expect(Math.max(...gaps)).toBeLessThan(1_500);
  // Media again after the gap.
  expect(got.times.length - after).toBeGreaterThan(1_000);

  const result = await ffmpeg;
  expect(result.code).toBe(0);
  const warnings = result.stderr.split('\n').filter((l) => l && !/^(\w+=|progress=)/.test(l));
  expect(warnings).toEqual([]);
  const outTime = Math.max(...[...result.stderr.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]) / 1e6));
  expect(outTime).toBeGreaterThan(9);
  // It read across the gap: its 10 s of stream were not all there before the gap ended.
  expect(Date.now()).toBeGreaterThan(gapEnds);
  // No failover: the same engine session served before and after the gap.
  const sessions = stack.sim.state().engines.flatMap((e) => e.sessions).filter((s) => s.infohash === ih);
  expect(sessions).toHaveLength(1);
}, 60_000);

test('a stall that outlasts EMPTY_TIMEOUT: keep-alive from ~5 s of silence on, without a break through the failover, then media from another engine', async () => {
  stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 4 }, env: { ACERELAY_EMPTY_TIMEOUT: '10s', ACERELAY_HOLD_MAX: '60s' } });
  const url = `${stack.url}/ace/getstream?id=${CONTENT[2]}`;
  const ih = simInfohashForId(CONTENT[2]!);
  const reading = timedPlayer(url, 9_000, 1_000, 50_000);
  const engine = await eventually(() => stack!.sim.state().engines.find((e) => e.sessions.some((s) => s.infohash === ih && s.stopped_at === null)), 10_000);
  await eventually(() => stack!.acerelay.registry.listPlayers().some((c) => stack!.acerelay.registry.describePlayer(c).state === 'streaming'), 10_000);
  await sleep(1_000);
  await stack.sim.control(`engines/${engine.container_id}`, { mode: 'stall' });
  const got = await reading;
  expect(got.status).toBe(200);
  expect(wholePackets(got.bytes)).toBe(true);
  const { before, after } = longestMediaGap(got.bytes, got.times);
  const lastMedia = got.times[before]!;
  expect(got.times[after]! - lastMedia).toBeGreaterThanOrEqual(10_000);
  const keepAlive = got.times.slice(before + 1, after).filter((t) => t > lastMedia);
  const silence = keepAlive[0]! - lastMedia;
  expect(silence).toBeGreaterThanOrEqual(STALL_KEEPALIVE_AFTER_MS - 1_000);
  expect(silence).toBeLessThan(STALL_KEEPALIVE_AFTER_MS + 2_500);
  const gaps = [...keepAlive.slice(1), got.times[after]!].map((t, i) => t - keepAlive[i]!);
  expect(Math.max(...gaps)).toBeLessThan(1_500);
  // The session failed over to the other engine.
  const engines = new Set(
    stack.sim
      .state()
      .engines.filter((e) => e.sessions.some((s) => s.infohash === ih))
      .map((e) => e.container_id),
  );
  expect(engines.size).toBe(2);
}, 60_000);
