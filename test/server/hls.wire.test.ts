/**
 * HLS over the real wire: ffmpeg and ffprobe as players, hls-parser as the judge of the
 * playlists, the simulator behind. Configuration scaled down (idle, linger, waits of seconds).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTENT, bytes, eventually, ffmpegRead, getJson, play, sleep, startStack, type Stack } from '../support/stack.ts';
import { fetchPlaylist, fetchSegment, ffprobePackets, segmentUrl, sequenceNumbers, type MediaPlaylist } from '../support/hls.ts';
import { simInfohashForId } from '../../src/sim/index.ts';
import { PACKET_SIZE, PAT_PID, pidOf } from '../../src/ts/packet.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

/** The simulator's clip has a keyframe every second. */
const GOP_S = 1;
const TARGET_S = 2;

const manifest = (s: Stack, i = 0) => `${s.url}/ace/manifest.m3u8?id=${CONTENT[i]}`;

function engineSessions(s: Stack, id: string) {
  const ih = simInfohashForId(id);
  return s.sim.state().engines.flatMap((e) => e.sessions).filter((x) => x.infohash === ih);
}

function streamEvents(s: Stack, type: 'stream_started' | 'stream_ended') {
  return s.sim.state().events.filter((e) => e.type === type && e.http_status === 200);
}

describe('reading /ace/manifest.m3u8', () => {
  test('ffmpeg reads the live playlist for 20 s: exit 0, no warnings; three consecutive segments each start with PAT + keyframe and last between the target and one GOP more', async () => {
    stack = await startStack();
    const url = manifest(stack);
    const reading = ffmpegRead(url, 20, ['-progress', 'pipe:2', '-stats_period', '1']);
    // Meanwhile: three consecutive segments, as a player downloads them.
    const playlist = await eventually(async () => {
      const p = (await fetchPlaylist(url)).playlist;
      return p && p.segments.length >= 3 ? p : null;
    }, 20_000, 500);
    const dir = mkdtempSync(join(tmpdir(), 'acerelay-hls-'));
    const seqs = sequenceNumbers(playlist).slice(0, 3);
    expect(seqs[1]! - seqs[0]!).toBe(1);
    expect(seqs[2]! - seqs[1]!).toBe(1);
    const starts: number[] = [];
    for (const [i, seg] of playlist.segments.slice(0, 3).entries()) {
      const got = await fetchSegment(segmentUrl(url, seg.uri));
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('video/mp2t');
      expect(got.data.length % PACKET_SIZE).toBe(0);
      expect(pidOf(got.data, 0)).toBe(PAT_PID);
      const file = join(dir, `${seqs[i]}.ts`);
      writeFileSync(file, got.data);
      const probe = await ffprobePackets(file);
      expect(probe.code).toBe(0);
      const video = probe.packets.filter((p) => p.stream === 'video');
      expect(video[0]!.key).toBe(true);
      const last = video.at(-1)!;
      const duration = last.pts + last.duration - video[0]!.pts;
      expect(duration).toBeGreaterThanOrEqual(TARGET_S - 0.01);
      expect(duration).toBeLessThanOrEqual(TARGET_S + GOP_S + 0.01);
      // The playlist says the same.
      expect(Math.abs(seg.duration - duration)).toBeLessThan(0.05);
      starts.push(video[0]!.pts);
    }
    // Consecutive: each starts where the previous ended.
    expect(starts[1]! - starts[0]!).toBeCloseTo(playlist.segments[0]!.duration, 1);
    expect(starts[2]! - starts[1]!).toBeCloseTo(playlist.segments[1]!.duration, 1);
    const result = await reading;
    expect(result.code).toBe(0);
    const warnings = result.stderr.split('\n').filter((l) => l && !/^(\w+=|progress=)/.test(l));
    expect(warnings).toEqual([]);
    const outTime = Math.max(...[...result.stderr.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]) / 1e6));
    expect(outTime).toBeGreaterThan(19);
  }, 90_000);

  test('the playlist, polled and parsed by hls-parser: sequence +1 per new segment, a sliding window, targetduration covering every segment, live caching; a segment that left the window is 410, an unknown one 404', async () => {
    stack = await startStack({ env: { ACERELAY_HLS_WINDOW: '2' } });
    const url = manifest(stack);
    // HEAD answers without an engine.
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(stack.sim.state().engines.flatMap((e) => e.sessions)).toEqual([]);
    const bad = await getJson(`${stack.url}/ace/manifest.m3u8?id=nothex`);
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_id']);

    // Dozens of playlist requests on one keep-alive connection leave no listener behind on it.
    const leaks: string[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'MaxListenersExceededWarning') leaks.push(w.message);
    };
    process.on('warning', onWarning);
    const seen = new Map<number, { uri: string; duration: number }>();
    let previous: MediaPlaylist | null = null;
    let slides = 0;
    const until = Date.now() + 14_000;
    while (Date.now() < until) {
      const got = await fetchPlaylist(url);
      expect(got.status).toBe(200);
      expect(got.headers.get('cache-control')).toBe('no-cache');
      const p = got.playlist!;
      expect(p.endlist).toBe(false);
      expect(p.segments.length).toBeGreaterThan(0);
      expect(p.segments.length).toBeLessThanOrEqual(2);
      for (const [i, seg] of p.segments.entries()) {
        const seq = (p.mediaSequenceBase ?? 0) + i;
        expect(Math.round(seg.duration)).toBeLessThanOrEqual(p.targetDuration);
        expect(seg.programDateTime).toBeInstanceOf(Date);
        expect(seg.discontinuity ?? false).toBe(false);
        // A segment keeps its URI and duration from one playlist to the next.
        const known = seen.get(seq);
        if (known) expect({ uri: seg.uri, duration: seg.duration }).toEqual(known);
        seen.set(seq, { uri: seg.uri, duration: seg.duration });
      }
      if (previous) {
        const before = sequenceNumbers(previous);
        const now = sequenceNumbers(p);
        const added = now.at(-1)! - before.at(-1)!;
        expect(added).toBeGreaterThanOrEqual(0);
        // Once the window is full, the media sequence moves by one per new segment.
        if (before.length === 2) expect(now[0]! - before[0]!).toBe(added);
        if (now[0]! > before[0]!) slides++;
      }
      previous = p;
      await sleep(400);
    }
    process.off('warning', onWarning);
    expect(leaks).toEqual([]);
    expect(slides).toBeGreaterThanOrEqual(3);
    const seqs = [...seen.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));

    const last = previous!;
    const newest = sequenceNumbers(last).at(-1)!;
    const one = await fetchSegment(segmentUrl(url, last.segments.at(-1)!.uri));
    expect(one.status).toBe(200);
    expect(one.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    // Kept twice the window and one more (RFC 8216 §6.2.2), then gone.
    const oldUri = seen.get(0)!.uri;
    expect(newest).toBeGreaterThan(5);
    const gone = await fetchSegment(segmentUrl(url, oldUri));
    expect([gone.status, (gone.body as { error: { code: string } }).error.code]).toEqual([410, 'segment_gone']);
    const future = await fetchSegment(segmentUrl(url, last.segments.at(-1)!.uri.replace(`/${newest}.ts`, `/${newest + 50}.ts`)));
    expect([future.status, (future.body as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
    const guessed = await fetchSegment(`${stack.url}/ace/hls/AAAAAAAAAAAAAAAAAAAAAA/${newest}.ts`);
    expect([guessed.status, (guessed.body as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
  }, 60_000);
});

describe('HLS viewers are players', () => {
  test('a TS player and an HLS player on one channel share one engine session and one stream_started; both are counted', async () => {
    stack = await startStack();
    const url = manifest(stack);
    const ts = play(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, { until: bytes(3_000_000), maxMs: 30_000 });
    const p = await eventually(async () => {
      const got = await fetchPlaylist(url);
      return got.playlist && got.playlist.segments.length >= 2 ? got.playlist : null;
    }, 20_000, 300);
    const seg = await fetchSegment(segmentUrl(url, p.segments.at(-1)!.uri));
    expect(seg.status).toBe(200);
    const status = await getJson(`${stack.url}/ace/status`);
    expect(status.body).toEqual({ streams: 1, clients: 2, hls_clients: 1 });
    const one = await getJson(`${stack.url}/ace/status?id=${CONTENT[0]}`);
    expect(one.body.players.map((x: { transport: string }) => x.transport).sort()).toEqual(['hls', 'ts']);
    expect(one.body.hls_clients).toBe(1);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^acerelay_hls_clients 1$/m);
    expect(metrics).toMatch(/^acerelay_clients 2$/m);
    expect(metrics).toMatch(/^acerelay_hls_window_bytes [1-9]\d*$/m);
    const cap = await ts;
    expect(cap.status).toBe(200);
    expect(engineSessions(stack, CONTENT[0]!).length).toBe(1);
    expect(streamEvents(stack, 'stream_started').length).toBe(1);
  }, 60_000);

  test('HLS viewers stop requesting: after ACERELAY_HLS_IDLE and the linger, one stop and one stream_ended', async () => {
    const idleMs = 3_000;
    const lingerMs = 1_000;
    stack = await startStack({ env: { ACERELAY_HLS_IDLE: '3s', ACERELAY_LINGER: '1s' } });
    const url = manifest(stack);
    const p = await eventually(async () => (await fetchPlaylist(url)).playlist, 20_000, 300);
    await fetchSegment(segmentUrl(url, p.segments.at(-1)!.uri));
    const lastRequest = Date.now();
    expect(streamEvents(stack, 'stream_started').length).toBe(1);
    const session = await eventually(() => engineSessions(stack!, CONTENT[0]!)[0], 5_000);
    // Still playing to nobody within the idle time.
    await sleep(idleMs - 1_000);
    expect(engineSessions(stack, CONTENT[0]!)[0]!.stopped_at).toBeNull();
    const stopped = await eventually(() => engineSessions(stack!, CONTENT[0]!)[0]!.stopped_at, 15_000);
    expect(stopped - lastRequest).toBeGreaterThanOrEqual(idleMs + lingerMs - 200);
    await eventually(() => streamEvents(stack!, 'stream_ended').length === 1, 10_000);
    await sleep(500);
    const after = engineSessions(stack, CONTENT[0]!);
    expect(after.length).toBe(1);
    expect(after[0]!.playback_session_id).toBe(session.playback_session_id);
    expect(after[0]!.stop_calls).toBe(1);
    expect(streamEvents(stack, 'stream_ended').length).toBe(1);
    expect((await getJson(`${stack.url}/ace/status`)).body).toEqual({ streams: 0, clients: 0, hls_clients: 0 });
  }, 60_000);

  test('a session that waits: the playlist request waits ACERELAY_HLS_FIRST_WAIT, then 503 stream_not_ready with Retry-After; the held audience keeps its place and plays when the VPN returns', async () => {
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '90s', ACERELAY_HLS_FIRST_WAIT: '2s', ACERELAY_HLS_IDLE: '20s' } });
    await stack.sim.control('vpn', { connected: false });
    await eventually(() => stack!.acerelay.feed.current().status?.vpn.connected === false, 5_000);
    const url = manifest(stack);
    const started = Date.now();
    const first = await fetch(url);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('stream_not_ready');
    const held = (await getJson(`${stack.url}/ace/status?id=${CONTENT[0]}`)).body.players;
    expect(held.map((x: { state: string; transport: string }) => [x.state, x.transport])).toEqual([['waiting_vpn', 'hls']]);
    await stack.sim.control('vpn', { connected: true });
    const p = await eventually(async () => (await fetchPlaylist(url)).playlist, 20_000, 1_000);
    expect(p.segments.length).toBeGreaterThan(0);
    // The same player all along: it kept its place.
    const now = (await getJson(`${stack.url}/ace/status?id=${CONTENT[0]}`)).body.players;
    expect(now.map((x: { id: string }) => x.id)).toEqual(held.map((x: { id: string }) => x.id));
    expect(now[0].state).toBe('streaming');
  }, 60_000);

  test('refused as a TS player would be: the breaker open beyond HOLD_MAX is a 503 circuit_open with its Retry-After', async () => {
    stack = await startStack({ sim: { minReplicas: 1, maxReplicas: 3 }, env: { ACERELAY_HOLD_MAX: '5s' } });
    // Fill the one engine so the next channel needs provisioning.
    const ac = new AbortController();
    const ts = play(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, { signal: ac.signal, maxMs: 30_000 });
    await eventually(() => stack!.acerelay.registry.listSessions().some((s) => s.actor.getSnapshot().matches({ running: 'streaming' })), 10_000);
    await stack.sim.control('circuit', { state: 'open', eta: 120 });
    await eventually(() => stack!.acerelay.feed.current().status?.provisioning.blocked?.code === 'circuit_breaker', 5_000);
    const refused = await fetch(manifest(stack, 1));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('circuit_open');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(100);
    ac.abort();
    await ts;
  }, 60_000);

  test('an HLS window counts in ACERELAY_MEMORY_MAX: past it the audience ends (counted as a memory drop) and the next request starts a new one', async () => {
    stack = await startStack({ env: { ACERELAY_MEMORY_MAX: '1MiB', ACERELAY_HLS_WINDOW: '2' } });
    const url = manifest(stack);
    const first = await eventually(async () => (await fetchPlaylist(url)).playlist, 20_000, 300);
    expect(first.segments.length).toBeGreaterThan(0);
    const audience = (await getJson(`${stack.url}/ace/status?id=${CONTENT[0]}`)).body.players[0].id as string;
    // Segments of ~625 KB: the second complete one passes 1 MiB, and the window goes.
    await eventually(async () => /^acerelay_slow_client_drops_total\{reason="memory"\} 1$/m.test(await (await fetch(`${stack!.url}/metrics`)).text()), 15_000, 250);
    expect(stack.acerelay.monitor.total('window')).toBe(0);
    const again = await eventually(async () => (await fetchPlaylist(url)).playlist, 20_000, 300);
    expect(again.segments.length).toBeGreaterThan(0);
    // A new audience (this one too will go past the bound soon: look while it is there).
    await eventually(async () => {
      const players = ((await getJson(`${stack!.url}/ace/status?id=${CONTENT[0]}`)).body.players ?? []) as Array<{ id: string; transport: string }>;
      return players.some((p) => p.transport === 'hls' && p.id !== audience);
    }, 10_000, 100);
  }, 60_000);
});
