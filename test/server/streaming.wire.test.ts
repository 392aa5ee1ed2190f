/**
 * The proxy's main job over real sockets: players get channels, share sessions, and the
 * orchestrator's accounting stays exact.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT, bytes, eventually, ffmpegRead, play, sleep, startStack, wholePackets, type Stack } from '../support/stack.ts';
import { simInfohashForId } from '../../src/sim/index.ts';

describe('one stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { minReplicas: 3, maxReplicas: 6 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('ffmpeg reads 10 s with no warnings as the first player, and as one joining a live channel', async () => {
    const url = `${stack.url}/ace/getstream?id=${CONTENT[0]}`;
    const first = ffmpegRead(url, 10);
    await sleep(3_000);
    const joiner = await ffmpegRead(url, 10);
    const cold = await first;
    expect(cold).toEqual({ code: 0, stderr: '' });
    expect(joiner).toEqual({ code: 0, stderr: '' });
    const state = stack.sim.state();
    const sessions = state.engines.flatMap((e) => e.sessions).filter((s) => s.infohash === simInfohashForId(CONTENT[0]!));
    // Both players were served by one engine session.
    expect(sessions).toHaveLength(1);
  }, 60_000);

  test('three players on one channel: one engine session and one reader; whole packets, identical from each join point', async () => {
    const url = `${stack.url}/ace/getstream?id=${CONTENT[1]}`;
    const a = play(url, { until: bytes(3_000_000), maxMs: 20_000 });
    await sleep(1_500);
    const b = play(url, { until: bytes(1_500_000), maxMs: 20_000 });
    await sleep(1_500);
    const c = play(url, { until: bytes(800_000), maxMs: 20_000 });
    const [ca, cb, cc] = await Promise.all([a, b, c]);
    for (const cap of [ca, cb, cc]) {
      expect(cap.status).toBe(200);
      expect(cap.headers['content-type']).toBe('video/mp2t');
    }
    const aligned = (buf: Buffer) => buf.subarray(0, buf.length - (buf.length % 188));
    for (const cap of [ca, cb, cc]) expect(wholePackets(aligned(cap.bytes))).toBe(true);
    // A joiner's first bytes are the replay window, which the first player got earlier.
    for (const joiner of [cb, cc]) {
      const head = joiner.bytes.subarray(0, 188 * 20);
      const at = ca.bytes.indexOf(head);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at % 188).toBe(0);
      const n = Math.min(joiner.bytes.length, ca.bytes.length - at);
      expect(n).toBeGreaterThan(400_000);
      expect(joiner.bytes.subarray(0, n).equals(ca.bytes.subarray(at, at + n))).toBe(true);
    }
    const ih = simInfohashForId(CONTENT[1]!);
    const sessions = stack.sim.state().engines.flatMap((e) => e.sessions).filter((s) => s.infohash === ih);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.reader_conflicts ?? 0).toBe(0);
  }, 60_000);

  test('an id= player and an infohash= player of the same content share a session; another parameter does not', async () => {
    const ih = simInfohashForId(CONTENT[2]!);
    const byId = play(`${stack.url}/ace/getstream?id=${CONTENT[2]}`, { until: bytes(2_000_000), maxMs: 20_000 });
    await sleep(1_500);
    const byHash = play(`${stack.url}/ace/getstream?infohash=${ih}`, { until: bytes(300_000), maxMs: 20_000 });
    const other = play(`${stack.url}/ace/getstream?infohash=${ih}&transcode_audio=1`, { until: bytes(300_000), maxMs: 20_000 });
    const caps = await Promise.all([byId, byHash, other]);
    for (const cap of caps) expect(cap.status).toBe(200);
    const sessions = stack.sim.state().engines.flatMap((e) => e.sessions.map((s) => ({ ...s, engine: e.container_id }))).filter((s) => s.infohash === ih);
    expect(sessions).toHaveLength(2);
    // The same content twice on one engine would cut the first session: they are on different engines.
    expect(new Set(sessions.map((s) => s.engine)).size).toBe(2);
  }, 60_000);

  test('a disconnect → linger → one stop and one stream_ended with the accepted id; a player joining during the linger keeps the session', async () => {
    const url = `${stack.url}/ace/getstream?id=${CONTENT[3]}`;
    const ih = simInfohashForId(CONTENT[3]!);
    await play(url, { until: bytes(200_000) });
    await sleep(300);
    // Within the 1 s linger a second player comes: same engine session.
    await play(url, { until: bytes(200_000) });
    const sessionsNow = () => stack.sim.state().engines.flatMap((e) => e.sessions).filter((s) => s.infohash === ih);
    expect(sessionsNow()).toHaveLength(1);
    const stopped = await eventually(() => sessionsNow().every((s) => s.stopped_at !== null), 8_000);
    expect(stopped).toBe(true);
    const [session] = sessionsNow();
    expect(session!.stop_calls).toBe(1);
    const events = stack.sim.state().events;
    const started = events.filter((e) => e.type === 'stream_started' && e.http_status === 200);
    const mine = started.filter((e) => stack.sim.state().streams.some((s) => s.id === e.stream_id && s.key === CONTENT[3]));
    expect(mine).toHaveLength(1);
    const endsOf = () => stack.sim.state().events.filter((e) => e.type === 'stream_ended' && e.stream_id === mine[0]!.stream_id);
    await eventually(() => endsOf().length > 0, 5_000);
    const ends = endsOf();
    expect(ends, JSON.stringify(stack.sim.state().events.filter((e) => e.stream_id === mine[0]!.stream_id))).toHaveLength(1);
    expect(ends[0]!.http_status).toBe(200);
  }, 60_000);

  test('HEAD validates and touches no engine', async () => {
    const before = stack.sim.state().engines.flatMap((e) => e.sessions).length;
    const ok = await fetch(`${stack.url}/ace/getstream?id=${CONTENT[8]}`, { method: 'HEAD' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('video/mp2t');
    const bad = await fetch(`${stack.url}/ace/getstream?id=nothex`, { method: 'HEAD' });
    expect(bad.status).toBe(400);
    const slash = await fetch(`${stack.url}/ace/getstream/?infohash=${CONTENT[8]}`, { method: 'HEAD' });
    expect(slash.status).toBe(200);
    await sleep(300);
    expect(stack.sim.state().engines.flatMap((e) => e.sessions).length).toBe(before);
  });

  test('bad requests get a 400 with a code; a Range header still gets a 200 stream', async () => {
    const cases: Array<[string, string]> = [
      [`id=${CONTENT[0]}&infohash=${CONTENT[1]}`, 'conflicting_source'],
      ['', 'missing_source'],
      ['id=xyz', 'invalid_id'],
      ['infohash=12345', 'invalid_infohash'],
      [`url=http://x/y.torrent`, 'unsupported_source'],
      [`magnet=abc`, 'unsupported_source'],
      [`id=${CONTENT[0]}&id=${CONTENT[1]}`, 'conflicting_source'],
    ];
    for (const [query, code] of cases) {
      const res = await fetch(`${stack.url}/ace/getstream?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, query).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(5);
    }
    const ranged = await play(`${stack.url}/ace/getstream?id=${CONTENT[0]}&pid=123`, { headers: { range: 'bytes=0-' }, until: bytes(100_000) });
    expect(ranged.status).toBe(200);
    expect(ranged.headers['content-range']).toBeUndefined();
  });

  test('/ace/status counts streams and clients, and describes one stream', async () => {
    const url = `${stack.url}/ace/getstream?id=${CONTENT[4]}`;
    const ac = new AbortController();
    const p = play(url, { signal: ac.signal, maxMs: 20_000 });
    await eventually(async () => (await (await fetch(`${stack.url}/ace/status?id=${CONTENT[4]}`)).json() as { phase?: string }).phase === 'live', 8_000);
    const all = (await (await fetch(`${stack.url}/ace/status`)).json()) as { streams: number; clients: number };
    expect(all.streams).toBeGreaterThanOrEqual(1);
    expect(all.clients).toBeGreaterThanOrEqual(1);
    const one = (await (await fetch(`${stack.url}/ace/status?id=${CONTENT[4]}`)).json()) as { players: Array<{ state: string }> };
    expect(one.players.map((x) => x.state)).toContain('streaming');
    ac.abort();
    await p;
    const missing = await fetch(`${stack.url}/ace/status?infohash=${'f'.repeat(40)}`);
    expect(missing.status).toBe(404);
  });
});

describe('twenty channels at once', () => {
  test('min 5 / max 20 replicas, one session per engine: never two sessions on an engine, provisioning within its bound, all play', async () => {
    const stack = await startStack({ sim: { minReplicas: 5, maxReplicas: 20, provisionDelayMs: 600, engineReadyDelayMs: 500 } });
    try {
      const ids = Array.from({ length: 20 }, (_, i) => (i + 10).toString(16).padStart(40, 'e'));
      // Every player stays until all 20 have media: the 20 sessions overlap, so 20 engines are needed.
      const streaming = new Set<string>();
      const caps = await Promise.all(
        ids.map((id) =>
          play(`${stack.url}/ace/getstream?id=${id}`, {
            maxMs: 60_000,
            until: (c) => {
              if (c.size >= 200_000) streaming.add(id);
              return streaming.size === ids.length;
            },
          }),
        ),
      );
      expect(caps.map((c) => c.status)).toEqual(ids.map(() => 200));
      expect(streaming.size).toBe(20);
      const state = stack.sim.state();
      // No engine ever carried two sessions at once.
      for (const engine of state.engines) {
        const spans = engine.sessions.map((s) => [s.started_at, s.stopped_at ?? Infinity] as const).sort((x, y) => x[0] - y[0]);
        for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
      }
      // Provisioning calls in flight never exceeded ACERELAY_PROVISION_CONCURRENCY (2).
      const calls = state.provisions.map((p) => [p.t, p.done_at ?? Infinity] as const);
      for (const [t] of calls) expect(calls.filter(([s, e]) => s <= t && t < e).length).toBeLessThanOrEqual(2);
      expect(state.provisions.filter((p) => p.http_status === 200).length).toBeGreaterThanOrEqual(15);
    } finally {
      await stack.close();
    }
  }, 90_000);
});
