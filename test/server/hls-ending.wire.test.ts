/**
 * An HLS audience's end must not go unsaid (docs/recovery.md): an audience that ends with an
 * error while none of its viewers has a request waiting tells each of them on its next request,
 * over real sockets.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CONTENT, eventually, getJson, startStack, type Stack } from '../support/stack.ts';
import { fetchPlaylist, segmentUrl } from '../support/hls.ts';
import { simInfohashForId } from '../../src/sim/index.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

interface Answer {
  status: number;
  code: string | null;
  retryAfter: string | null;
}

async function ask(s: Stack, userAgent: string): Promise<Answer> {
  const res = await fetch(`${s.url}/ace/manifest.m3u8?id=${CONTENT[0]}`, { headers: { 'user-agent': userAgent } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code ?? null, retryAfter: res.headers.get('retry-after') };
}

async function hlsPlayers(s: Stack): Promise<string[]> {
  const players = ((await getJson(`${s.url}/ace/status?id=${CONTENT[0]}`)).body.players ?? []) as Array<{ id: string; transport: string }>;
  return players.filter((p) => p.transport === 'hls').map((p) => p.id);
}

describe('an HLS audience that ends with an error', () => {
  test('held past HOLD_MAX with no playlist request waiting: its viewer\'s next request gets the 502 engine_failed, once, then starts afresh; a new client starts a new audience; forgotten after ACERELAY_HLS_IDLE', async () => {
    const idleMs = 8_000;
    // HOLD_MAX well beyond the first wait (the viewer is between two requests when it ends),
    // the idle time beyond HOLD_MAX (the audience ends held, not idle).
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '5s', ACERELAY_HLS_FIRST_WAIT: '1s', ACERELAY_HLS_IDLE: '8s' } });
    const s = stack;
    const hls = s.acerelay.hls;
    // The orchestrator gone: a wait without an ETA, held until HOLD_MAX (as test/recovery/holding.wire.test.ts (e) holds a TS player).
    await s.sim.control('orchestrator', { mode: 'down' });
    await eventually(() => s.acerelay.feed.current().kind === 'unknown', 5_000);

    expect(await ask(s, 'viewer-a')).toMatchObject({ status: 503, code: 'stream_not_ready' });
    const [first] = await hlsPlayers(s);
    expect(first).toBeDefined();
    // It ends at HOLD_MAX while viewer-a waits out its Retry-After.
    await eventually(() => hls.audiences === 0, 15_000);

    // A client that was not part of it starts a new audience.
    expect(await ask(s, 'viewer-b')).toMatchObject({ status: 503, code: 'stream_not_ready' });
    const second = await hlsPlayers(s);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first);

    // viewer-a is told how its audience ended (a TS player held past HOLD_MAX is reset: engine_failed).
    expect(await ask(s, 'viewer-a')).toEqual({ status: 502, code: 'engine_failed', retryAfter: null });
    expect(await hlsPlayers(s)).toEqual(second);
    // Told once: its next request is served as any (it joins the live audience).
    expect(await ask(s, 'viewer-a')).toMatchObject({ status: 503, code: 'stream_not_ready' });
    expect(await hlsPlayers(s)).toEqual(second);

    // The second audience ends at HOLD_MAX too, both viewers between requests: both remembered…
    await eventually(() => hls.audiences === 0 && hls.endings.untold === 2, 15_000, 50);
    const endedAt = Date.now();
    // …until ACERELAY_HLS_IDLE has passed, then nothing is left of it.
    await eventually(() => hls.endings.untold === 0 && hls.endings.tokens === 0, idleMs + 10_000, 50);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(idleMs - 300);
    expect(await ask(s, 'viewer-b')).toMatchObject({ status: 503, code: 'stream_not_ready' });
    const third = await hlsPlayers(s);
    expect(third).toHaveLength(1);
    expect(third[0]).not.toBe(second[0]);
  }, 90_000);

  test('lost mid-stream beyond recovery (HOLD_MAX) while its viewer is between requests: the viewer\'s next segment request gets the 502 engine_failed, once, then 404 not_found', async () => {
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '4s', ACERELAY_HLS_IDLE: '30s' } });
    const s = stack;
    const hls = s.acerelay.hls;
    const viewer = { headers: { 'user-agent': 'viewer-a' } };
    const url = `${s.url}/ace/manifest.m3u8?id=${CONTENT[0]}`;
    const p = await eventually(async () => (await fetchPlaylist(url, viewer)).playlist, 20_000, 300);
    const segment = segmentUrl(url, p.segments.at(-1)!.uri);
    expect((await fetch(segment, viewer)).status).toBe(200);
    // Its engine goes and no other can be had (the orchestrator gone too): the audience
    // recovers until HOLD_MAX, then ends.
    const ih = simInfohashForId(CONTENT[0]!);
    const engine = await eventually(() => s.sim.state().engines.find((e) => e.sessions.some((x) => x.infohash === ih && x.stopped_at === null)), 10_000);
    await s.sim.control('orchestrator', { mode: 'down' });
    await s.sim.control(`engines/${engine.container_id}`, { mode: 'restart', ms: 60_000 });
    await eventually(() => hls.audiences === 0, 30_000, 50);
    const told = await fetch(segment, viewer);
    expect(told.status).toBe(502);
    expect(((await told.json()) as { error: { code: string } }).error.code).toBe('engine_failed');
    const after = await fetch(segment, viewer);
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(hls.endings.untold).toBe(0);
  }, 90_000);
});
