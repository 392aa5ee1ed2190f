/**
 * Holding, refusing and aborting over the real wire, configuration scaled down (ETAs and
 * HOLD_MAX of seconds), ffmpeg and raw sockets as players.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CONTENT, bytes, eventually, ffmpegRead, play, sleep, startStack, type Stack } from '../support/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

function nullPacketsOnly(buf: Buffer): boolean {
  if (buf.length === 0 || buf.length % 188 !== 0) return false;
  for (let i = 0; i < buf.length; i += 188) {
    if (buf[i] !== 0x47 || buf[i + 1] !== 0x1f || buf[i + 2] !== 0xff || (buf[i + 3]! & 0x30) !== 0x10) return false;
    for (let j = 4; j < 188; j++) if (buf[i + j] !== 0xff) return false;
  }
  return true;
}

describe('VPN down when the player connects', () => {
  test('(a) ffmpeg is held, then reads through and decodes after the VPN comes back', async () => {
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '60s' } });
    await stack.sim.control('vpn', { connected: false });
    await eventually(() => stack!.acerelay.feed.current().status?.vpn.connected === false, 5_000);
    const reading = ffmpegRead(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, 6, ['-progress', 'pipe:2', '-stats_period', '1']);
    await eventually(() => stack!.acerelay.registry.heldCount === 1, 5_000);
    const held = stack.acerelay.registry.listPlayers().map((c) => stack!.acerelay.registry.describePlayer(c).state);
    expect(held).toEqual(['waiting_vpn']);
    await sleep(3_000);
    await stack.sim.control('vpn', { connected: true });
    const result = await reading;
    expect(result.code).toBe(0);
    const warnings = result.stderr.split('\n').filter((l) => l && !/^(\w+=|progress=)/.test(l));
    expect(warnings).toEqual([]);
    const outTime = Math.max(...[...result.stderr.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]) / 1e6));
    expect(outTime).toBeGreaterThan(5);
  }, 60_000);

  test('(c) the keep-alive bytes a held player gets are valid TS null packets at a low rate', async () => {
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '60s' } });
    // Ready once the first status poll said so.
    expect(await eventually(async () => (await fetch(`${stack!.url}/readyz`)).status === 200, 5_000)).toBe(true);
    await stack.sim.control('vpn', { connected: false });
    await eventually(() => stack!.acerelay.feed.current().status?.vpn.connected === false, 5_000);
    // Not ready for a new channel, and saying why.
    const ready = await fetch(`${stack.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await ready.json()) as { reason: string }).reason).toContain('vpn');
    const started = Date.now();
    const cap = await play(`${stack.url}/ace/getstream?id=${CONTENT[1]}`, { maxMs: 4_000 });
    const elapsed = (Date.now() - started) / 1000;
    expect(cap.status).toBe(200);
    expect(cap.headers['content-type']).toBe('video/mp2t');
    expect(nullPacketsOnly(cap.bytes)).toBe(true);
    // A few packets per second, at most ~2 KB/s: a probing player does not fill its probe size.
    expect(cap.bytes.length / elapsed).toBeLessThan(2_048);
    expect(cap.bytes.length).toBeGreaterThanOrEqual(188 * 4);
  }, 30_000);
});

describe('refused and aborted', () => {
  test('(d) a breaker ETA beyond HOLD_MAX: 503 with an integer Retry-After before any byte', async () => {
    stack = await startStack({ sim: { minReplicas: 1, maxReplicas: 3 }, env: { ACERELAY_HOLD_MAX: '5s' } });
    // Fill the one engine so the next channel needs provisioning.
    const ac = new AbortController();
    const first = play(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, { signal: ac.signal, maxMs: 30_000 });
    await eventually(() => stack!.acerelay.registry.listSessions().some((s) => s.actor.getSnapshot().matches({ running: 'streaming' })), 10_000);
    await stack.sim.control('circuit', { state: 'open', eta: 120 });
    await eventually(() => stack!.acerelay.feed.current().status?.provisioning.blocked?.code === 'circuit_breaker', 5_000);
    const res = await fetch(`${stack.url}/ace/getstream?id=${CONTENT[2]}`);
    expect(res.status).toBe(503);
    const retryAfter = res.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(100);
    const body = (await res.json()) as { error: { code: string; retry_after: number } };
    expect(body.error.code).toBe('circuit_open');
    expect(body.error.retry_after).toBe(Number(retryAfter));
    ac.abort();
    await first;
  }, 40_000);

  test('(e) a held player still waiting at HOLD_MAX sees a reset, not a clean end', async () => {
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '3s' } });
    await stack.sim.control('orchestrator', { mode: 'down' });
    await eventually(() => stack!.acerelay.feed.current().kind === 'unknown', 5_000);
    const started = Date.now();
    const cap = await play(`${stack.url}/ace/getstream?id=${CONTENT[3]}`, { maxMs: 15_000 });
    expect(cap.status).toBe(200);
    expect(cap.ending).toBe('reset');
    const waited = (Date.now() - started) / 1000;
    expect(waited).toBeGreaterThan(2.5);
    expect(waited).toBeLessThan(10);
    await stack.sim.control('orchestrator', { mode: 'ok' });
  }, 30_000);
});

describe('capacity', () => {
  test('with max replicas reached, held players are admitted in arrival order as sessions end; with the queue full the next gets 503', async () => {
    stack = await startStack({
      sim: { minReplicas: 1, maxReplicas: 1 },
      env: { ACERELAY_QUEUE_MAX: '2', ACERELAY_HOLD_MAX: '60s', ACERELAY_LINGER: '500ms' },
    });
    const stopFirst = new AbortController();
    const first = play(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, { signal: stopFirst.signal, maxMs: 60_000 });
    await eventually(() => stack!.acerelay.registry.listSessions().some((s) => s.actor.getSnapshot().matches({ running: 'streaming' })), 10_000);
    await eventually(() => stack!.acerelay.feed.current().status?.provisioning.blocked?.code === 'max_capacity', 6_000);
    const admitted: string[] = [];
    const stopSecond = new AbortController();
    const second = play(`${stack.url}/ace/getstream?id=${CONTENT[1]}`, {
      signal: stopSecond.signal,
      maxMs: 60_000,
      until: (c) => {
        if (c.size > 100_000 && !admitted.includes('second')) admitted.push('second');
        return false;
      },
    });
    await eventually(() => stack!.acerelay.registry.heldCount === 1, 5_000);
    const third = play(`${stack.url}/ace/getstream?id=${CONTENT[2]}`, {
      maxMs: 60_000,
      until: (c) => {
        if (c.size > 100_000 && !admitted.includes('third')) admitted.push('third');
        return c.size > 200_000;
      },
    });
    await eventually(() => stack!.acerelay.registry.heldCount === 2, 5_000);
    const refused = await fetch(`${stack.url}/ace/getstream?id=${CONTENT[3]}`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('queue_full');

    stopFirst.abort();
    await first;
    await eventually(() => admitted.length === 1, 15_000);
    expect(admitted).toEqual(['second']);
    stopSecond.abort();
    await second;
    const cap3 = await third;
    expect(admitted).toEqual(['second', 'third']);
    expect(cap3.status).toBe(200);
  }, 90_000);
});

describe('one player never hurts another', () => {
  test('a player that stops reading is dropped alone (reset) past its backlog bound; the others keep streaming', async () => {
    stack = await startStack({ sim: { bitrate: 8_000_000 }, env: { ACERELAY_BUFFER: '1MiB' } });
    const url = `${stack.url}/ace/getstream?id=${CONTENT[5]}`;
    // A raw socket that reads for a moment and then nothing.
    const net = await import('node:net');
    const { port } = new URL(stack.url);
    const stuck = net.connect(Number(port), '127.0.0.1');
    stuck.write(`GET /ace/getstream?id=${CONTENT[5]} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let stuckEnded: string | null = null;
    let tail = Buffer.alloc(0);
    stuck.on('data', (d: Buffer) => (tail = Buffer.concat([tail, d]).subarray(-64)));
    stuck.on('error', (e: NodeJS.ErrnoException) => (stuckEnded = e.code ?? 'error'));
    stuck.on('close', () => (stuckEnded ??= 'close'));
    await sleep(500);
    stuck.pause();
    // The kernel's socket buffers fill first (several MB on loopback), then our backlog bound.
    const dropped = async () => /acerelay_slow_client_drops_total\{reason="slow"\} [1-9]/.test(await (await fetch(`${stack!.url}/metrics`)).text());
    // The good player reads on until the stuck one is dropped (alone on the channel, a stuck
    // player paces the upstream instead: its bound would never be reached). How long that
    // takes depends on the kernel's buffers and the machine's load, not on a byte count.
    let droppedSeen = false;
    const watch = eventually(dropped, 45_000, 250).then((v) => (droppedSeen = v));
    const good = await play(url, { until: (c) => c.size >= 8_000_000 && droppedSeen, maxMs: 50_000 });
    expect(good.status).toBe(200);
    expect(good.size).toBeGreaterThanOrEqual(8_000_000);
    expect(await watch).toBe(true);
    // The good one's end reaches the registry a moment after its socket closed.
    await eventually(() => stack!.acerelay.registry.playerCount === 0, 10_000);
    // The server closes with SO_LINGER 0 (RST). A paused client may surface that as a reset
    // or as an early EOF, but never as the chunked terminator of a finished response.
    stuck.resume();
    await eventually(() => stuckEnded !== null, 10_000);
    expect(tail.toString('latin1').endsWith('0\r\n\r\n')).toBe(false);
  }, 90_000);
});

describe('half-open and frozen players', () => {
  test('a socket that takes nothing for the write-stall timeout is dropped, though its backlog is under the bound', async () => {
    stack = await startStack({
      sim: { bitrate: 8_000_000 },
      env: { ACERELAY_BUFFER: '256MiB', ACERELAY_WRITE_STALL_TIMEOUT: '2s' },
    });
    const net = await import('node:net');
    const { port } = new URL(stack.url);
    // Never reads a byte: like a player whose host vanished (its kernel buffers fill, then nothing moves).
    const frozen = net.connect(Number(port), '127.0.0.1');
    frozen.pause();
    frozen.write(`GET /ace/getstream?id=${CONTENT[6]} HTTP/1.1\r\nHost: x\r\n\r\n`);
    frozen.on('error', () => {});
    const dropped = async () => /acerelay_slow_client_drops_total\{reason="stalled"\} [1-9]/.test(await (await fetch(`${stack!.url}/metrics`)).text());
    expect(await eventually(dropped, 40_000, 500)).toBe(true);
    expect(stack.acerelay.registry.playerCount).toBe(0);
    frozen.destroy();
  }, 60_000);
});

describe('many players through an outage', () => {
  test('100 players held through a breaker outage of several poll intervals: at most one provisioning call per probe window, all 100 stream after', async () => {
    stack = await startStack({
      sim: { minReplicas: 0, maxReplicas: 12, provisionDelayMs: 150, engineReadyDelayMs: 200 },
      // Polls 6 s apart leave room after the floored (5 s) breaker ETA for a probe.
      env: { ACERELAY_HOLD_MAX: '60s', ACERELAY_QUEUE_MAX: '150', ACERELAY_PROBE_INTERVAL: '3s', ACERELAY_STATUS_INTERVAL_DEGRADED: '6s' },
    });
    await stack.sim.control('circuit', { state: 'open', eta: 3 });
    await eventually(() => stack!.acerelay.feed.current().status?.provisioning.blocked?.code === 'circuit_breaker', 5_000);
    const outageStart = stack.sim.state().now;
    const channels = CONTENT.slice(0, 9).concat(['a'.repeat(40)]);
    const players = Array.from({ length: 100 }, (_, i) =>
      play(`${stack!.url}/ace/getstream?id=${channels[i % 10]}`, { until: bytes(400_000), maxMs: 90_000 }),
    );
    await eventually(() => stack!.acerelay.registry.heldCount === 100, 10_000);
    // Several poll intervals and probe windows of outage.
    await sleep(13_000);
    const outageEnd = stack.sim.state().now;
    const during = stack.sim.state().provisions.filter((p) => p.t >= outageStart && p.t <= outageEnd);
    // The first probe once the floored ETA has passed, then at most one per probe window —
    // whatever the number of players.
    expect(during.length).toBeGreaterThanOrEqual(1);
    expect(during.length).toBeLessThanOrEqual(4);
    for (const p of during) expect(p.http_status).toBe(503);
    for (let i = 1; i < during.length; i++) expect(during[i]!.t - during[i - 1]!.t).toBeGreaterThanOrEqual(2_900);
    await stack.sim.control('circuit', { state: 'closed' });
    const caps = await Promise.all(players);
    expect(caps.filter((c) => c.status === 200 && c.size >= 400_000)).toHaveLength(100);
    expect(stack.sim.state().engines.filter((e) => e.removed_at === null).length).toBe(10);
  }, 120_000);
});
