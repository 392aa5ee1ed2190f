/**
 * The playback body read off its own socket (engine-body.ts): HTTP/1.1 framing from a raw
 * server that splits its writes anywhere, the read memory reused only once the consumer
 * holds no view of it, pause and end, and the failures with their codes.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openPlayback } from '../../../src/adapters/engine/playback.ts';
import type { EngineBody } from '../../../src/adapters/engine/engine-body.ts';
import { EngineClient } from '../../../src/adapters/engine/client.ts';
import { ReadPacer } from '../../../src/adapters/engine/read-pacer.ts';
import { MAX_WAIT_MS, SEND_MIN_BYTES } from '../../../src/fanout/channel.ts';

/** The runtime's pacing: the channel's wait and send's worth. */
const pacing = { tickMs: MAX_WAIT_MS, sendBytes: SEND_MIN_BYTES };

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** Byte i of the test body. */
const byteAt = (i: number) => (i * 31 + (i >>> 9)) & 0xff;
const bodyBytes = (from: number, n: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = byteAt(from + i);
  return b;
};

/** A deterministic generator (the test's own, so a failure can be replayed from its seed). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** A raw server: each connection gets `wire()`'s bytes, written in the given pieces, with a pause between some. */
async function rawServer(pieces: () => Buffer[], opts: { end?: 'close' | 'keep' | 'reset' } = {}): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', async () => {
      for (const p of pieces()) {
        if (!socket.write(p)) await new Promise((r) => socket.once('drain', r));
        if (p.length < 64) await new Promise((r) => setImmediate(r));
      }
      if (opts.end === 'reset') socket.resetAndDestroy();
      else if (opts.end !== 'keep') socket.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/content/x`;
}

/** A chunked body of `total` bytes in chunks of random sizes, the wire cut into random pieces. */
function chunkedWire(total: number, seed: number): Buffer[] {
  const r = rng(seed);
  const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (let at = 0; at < total; ) {
    const n = Math.min(total - at, 1 + r(70_000));
    parts.push(Buffer.from(`${n.toString(16)}${r(4) === 0 ? ';ext=1' : ''}\r\n`), bodyBytes(at, n), Buffer.from('\r\n'));
    at += n;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  const wire = Buffer.concat(parts);
  const out: Buffer[] = [];
  for (let at = 0; at < wire.length; ) {
    const n = Math.min(wire.length - at, r(5) === 0 ? 1 + r(8) : 1 + r(100_000));
    out.push(wire.subarray(at, at + n));
    at += n;
  }
  return out;
}

/**
 * An engine streaming: the head, then `count` chunks of `size` bytes of the test body, one every
 * `everyMs` (a timer each: later on a busy machine, never sooner; 0: eight per turn of the event
 * loop, fast, yet often behind its reader), then the end. `progress` is told how many chunks
 * were handed to the socket so far, after each; `burst`, asked after each, how many more to
 * write at once before the next wait.
 */
async function streamingServer(count: number, size: number, everyMs: number, progress?: (chunks: number) => void, burst?: () => number): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', async () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < count && !socket.destroyed; i++) {
        let ok = socket.write(Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), bodyBytes(i * size, size), Buffer.from('\r\n')]));
        for (let more = burst?.() ?? 0; more > 0 && i + 1 < count; more--) {
          i++;
          ok = socket.write(Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), bodyBytes(i * size, size), Buffer.from('\r\n')]));
        }
        progress?.(i + 1);
        if (!ok) await new Promise((r) => socket.once('drain', r));
        if (everyMs > 0) await new Promise((r) => setTimeout(r, everyMs));
        else if (i % 8 === 7) await new Promise((r) => setImmediate(r));
      }
      socket.end('0\r\n\r\n');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/content/x`;
}

function ended(body: EngineBody): Promise<{ end: 'end' | 'error'; error: (Error & { code?: string }) | null }> {
  return new Promise((resolve) => {
    body.once('end', () => resolve({ end: 'end', error: null }));
    body.once('error', (error) => resolve({ end: 'error', error }));
  });
}

/** Opens `url` and reads its body to the end (listeners on, then resume, as a consumer must). */
async function drain(url: string, bodyTimeoutMs = 5_000) {
  const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs });
  const got: Buffer[] = [];
  play.body.on('data', (c: Buffer) => got.push(c));
  const done = ended(play.body);
  play.body.resume();
  return { ...(await done), data: Buffer.concat(got), play };
}

describe('EngineBody', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`chunked, split anywhere (seed ${seed}): every byte in order; views still held are never overwritten; memory is reused`, async () => {
      const total = 6 * 1024 * 1024;
      const url = await rawServer(() => chunkedWire(total, seed));
      const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
      const r = rng(seed * 7919);
      // The consumer keeps the newest views (up to ~700 KB, as a hold-back and a send waiting
      // would) and says so; each is checked when it arrives and again when it is let go.
      const kept: { view: Buffer; at: number }[] = [];
      let keptBytes = 0;
      let at = 0;
      let bad = 0;
      const check = (v: Buffer, from: number) => {
        for (let i = 0; i < v.length; i += 97) if (v[i] !== byteAt(from + i)) return false;
        return v.length === 0 || v[v.length - 1] === byteAt(from + v.length - 1);
      };
      play.body.reuseWhen((memory) => kept.some((k) => k.view.buffer === memory));
      play.body.on('data', (chunk: Buffer) => {
        if (!check(chunk, at)) bad++;
        kept.push({ view: chunk, at });
        keptBytes += chunk.length;
        at += chunk.length;
        const limit = 100_000 + r(600_000);
        while (keptBytes > limit) {
          const k = kept.shift()!;
          keptBytes -= k.view.length;
          if (!check(k.view, k.at)) bad++;
        }
      });
      const done = ended(play.body);
      play.body.resume();
      expect(await done).toEqual({ end: 'end', error: null });
      for (const k of kept) if (!check(k.view, k.at)) bad++;
      expect(bad).toBe(0);
      expect(at).toBe(total);
      // 6 MiB read through 256 KiB arenas: without reuse 24+; with it, what the consumer holds and a few spare.
      expect(play.body.arenasAllocated).toBeLessThan(12);
    });
  }

  it('a view held for ever is never overwritten, and the read memory stays bounded behind it (48 arenas read, ~33 allocated)', async () => {
    const total = 12 * 1024 * 1024;
    const url = await rawServer(() => chunkedWire(total, 11));
    const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
    // The first piece read into an arena (what came with the head is a copy of its own).
    let first: Buffer | null = null;
    let firstAt = 0;
    let at = 0;
    let bad = 0;
    play.body.reuseWhen((memory) => first !== null && first.buffer === memory);
    play.body.on('data', (c: Buffer) => {
      if (!first && c.buffer.byteLength === 256 * 1024) {
        first = c;
        firstAt = at;
      }
      for (let i = 0; i < c.length; i += 101) if (c[i] !== byteAt(at + i)) bad++;
      at += c.length;
    });
    const done = ended(play.body);
    play.body.resume();
    expect((await done).end).toBe('end');
    expect(at).toBe(total);
    expect(bad).toBe(0);
    expect(first).not.toBeNull();
    for (let i = 0; i < first!.length; i++) if (first![i] !== byteAt(firstAt + i)) bad++;
    expect(bad).toBe(0);
    // Behind the held one nothing is reused until 32 full arenas are followed; then the held one is
    // left to the collector (never reused: its bytes above are intact) and the rest go round again.
    expect(play.body.arenasAllocated).toBeGreaterThanOrEqual(32);
    expect(play.body.arenasAllocated).toBeLessThanOrEqual(36);
    expect((play.body as unknown as { arena: { full: unknown[] } }).arena.full.length).toBeLessThanOrEqual(32);
  });

  it('without reuseWhen nothing is reused: every view stays valid for as long as the consumer keeps it', async () => {
    const total = 2 * 1024 * 1024;
    const got = await drain(await rawServer(() => chunkedWire(total, 9)));
    expect(got.end).toBe('end');
    expect(got.data.equals(bodyBytes(0, total))).toBe(true);
    expect(got.play.body.arenasAllocated).toBeGreaterThanOrEqual(8);
  });

  it('Content-Length: exactly that many bytes, then end; a body that runs to the close ends there', async () => {
    const sized = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n'), bodyBytes(0, 3000), bodyBytes(3000, 2000)], { end: 'keep' });
    const a = await drain(sized);
    expect(a.end).toBe('end');
    expect(a.data.equals(bodyBytes(0, 5000))).toBe(true);

    const toClose = await rawServer(() => [Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n'), bodyBytes(0, 7000)]);
    const b = await drain(toClose);
    expect(b.play.contentType).toBe('video/mp2t');
    expect(b.end).toBe('end');
    expect(b.data.equals(bodyBytes(0, 7000))).toBe(true);
  });

  it('paused: nothing more, not even the end, until resume; then the rest in order and only then the end', async () => {
    const url = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), Buffer.concat([0, 1, 2, 3].map((i) => Buffer.concat([Buffer.from('2710\r\n'), bodyBytes(i * 10_000, 10_000), Buffer.from('\r\n')]))), Buffer.from('0\r\n\r\n')]);
    const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
    const got: Buffer[] = [];
    let endedAt = -1;
    play.body.on('data', (c: Buffer) => {
      got.push(c);
      if (got.length === 1) play.body.pause();
    });
    play.body.on('end', () => (endedAt = got.length));
    play.body.resume();
    // The server sent everything; while paused nothing more is delivered.
    await expect.poll(() => got.length).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.length).toBe(1);
    expect(endedAt).toBe(-1);
    const done = ended(play.body);
    play.body.resume();
    expect((await done).end).toBe('end');
    expect(Buffer.concat(got).equals(bodyBytes(0, 40_000))).toBe(true);
    expect(endedAt).toBe(got.length);
  });

  it('a body that completes in the read its consumer paused in ends only at the resume', async () => {
    const url = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n'), bodyBytes(0, 5000)], { end: 'keep' });
    const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
    const events: string[] = [];
    play.body.on('data', (c: Buffer) => {
      events.push(`data ${c.length}`);
      play.body.pause();
    });
    play.body.on('end', () => events.push('end'));
    play.body.resume();
    await expect.poll(() => events.length).toBeGreaterThan(0);
    // The last bytes and the completion came in one read: 'end' would follow at once.
    await new Promise((r) => setImmediate(r));
    expect(events.includes('end')).toBe(false);
    const done = ended(play.body);
    play.body.resume();
    expect((await done).end).toBe('end');
    expect(events.at(-1)).toBe('end');
  });

  it('failures carry codes: a cut in the middle of a chunk, a malformed chunk size, a reset, silence', async () => {
    const cut = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n'), bodyBytes(0, 100)]);
    expect((await drain(cut)).error?.code).toBe('ENGINE_BODY_CUT');

    const bad = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')], { end: 'keep' });
    expect((await drain(bad)).error?.code).toBe('ENGINE_BAD_CHUNK');

    const reset = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n'), bodyBytes(0, 16)], { end: 'reset' });
    const failed = await drain(reset);
    expect(failed.end).toBe('error');
    expect(['ECONNRESET', 'ENGINE_BODY_CUT']).toContain(failed.error?.code);

    const silent = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')], { end: 'keep' });
    expect((await drain(silent, 300)).error?.code).toBe('ENGINE_BODY_TIMEOUT');
  });

  it('EngineClient.destroy() ends the playback bodies it opened (they have sockets of their own, outside its pool)', async () => {
    const endless = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')], { end: 'keep' });
    const client = new EngineClient({ noResponseTimeoutMs: 5_000, emptyTimeoutMs: 60_000 });
    const play = await client.playback(endless);
    let closed = false;
    play.body.on('close', () => (closed = true));
    play.body.resume();
    expect(closed).toBe(false);
    await client.destroy();
    await expect.poll(() => closed, { timeout: 1_000 }).toBe(true);
  });

  it('a bad or endless head, or none in time, fails the call with the engine error codes', async () => {
    const garbage = await rawServer(() => [Buffer.from('SPDY/3 200 OK\r\n\r\n')]);
    await expect(openPlayback(garbage, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENGINE_BAD_RESPONSE' });
    const huge = await rawServer(() => [Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.from(`X-Pad: ${'a'.repeat(20_000)}\r\n`)], { end: 'keep' });
    await expect(openPlayback(huge, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENGINE_BAD_RESPONSE' });
    const mute = await rawServer(() => [], { end: 'keep' });
    await expect(openPlayback(mute, { headersTimeoutMs: 300, bodyTimeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENGINE_TIMEOUT' });
    const closes = await rawServer(() => []);
    await expect(openPlayback(closes, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE' });
  });

  describe('paced reads (read-pacer.ts)', () => {
    it('a live stream is read once a tick: after a read that emptied the socket, the next waits for the tick; every byte in order', async () => {
      // 1316 B every 3 ms or later: ~22 KB a tick at most, under the pacing rate (32 KiB a tick).
      const count = 400;
      const url = await streamingServer(count, 1316, 3);
      const pacer = new ReadPacer(pacing);
      const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000, pacer });
      const body = play.body;
      let firstPark: { reads: number; at: number } | null = null;
      let caughtUp = 0;
      body.on('caughtUp', () => {
        caughtUp++;
        firstPark ??= { reads: body.reads, at: performance.now() };
      });
      const got: Buffer[] = [];
      body.on('data', (c: Buffer) => got.push(Buffer.from(c)));
      const done = ended(body);
      body.resume();
      expect(await done).toEqual({ end: 'end', error: null });
      const span = performance.now() - firstPark!.at;
      expect(Buffer.concat(got).equals(bodyBytes(0, count * 1316))).toBe(true);
      // Paced within its first rate window, then parked after each read that emptied the socket.
      expect(body.parks).toBeGreaterThanOrEqual(5);
      expect(caughtUp).toBe(body.parks);
      // At most one park a tick (the timers can only be late), where reading as the bytes come
      // would have read (and parked) up to once per engine write.
      expect(body.parks - 1).toBeLessThanOrEqual(span / pacer.pacing.tickMs + 2);
      // One read per park: a read before the tick would have been one more (a few more for
      // reads that filled the end of an arena, and the last one).
      expect(body.reads - firstPark!.reads).toBeLessThanOrEqual(1.25 * (body.parks - 1) + 4);
    });

    it('a fast stream is read as it comes: never parked for long enough to back up into the engine', async () => {
      const count = 30_000; // ~40 MB, eight writes per turn: often behind its reader, whose reads then come up short
      const url = await streamingServer(count, 1316, 0);
      const pacer = new ReadPacer(pacing);
      const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000, pacer });
      let bytes = 0;
      let ok = true;
      play.body.on('data', (c: Buffer) => {
        if (c[0] !== byteAt(bytes)) ok = false;
        bytes += c.length;
      });
      const done = ended(play.body);
      play.body.resume();
      expect(await done).toEqual({ end: 'end', error: null });
      expect(bytes).toBe(count * 1316);
      expect(ok).toBe(true);
      // Its short reads (the reader ahead of the writer) came many times a second; parked at
      // each, it would wait a tick each time. A park at all means a rate window found it slow
      // (a starved writer), and the full read after the tick ends pacing again.
      expect(play.body.reads).toBeGreaterThan(50);
      expect(play.body.parks, `${play.body.parks} parks in ${play.body.reads} reads`).toBeLessThanOrEqual(3);
    });

    it('a paced stream that brings far more than its rate in one tick is read as it comes from then on (before it backs up into the engine)', async () => {
      let burstNow = false;
      const count = 600;
      const url = await streamingServer(count, 1316, 3, undefined, () => {
        if (!burstNow) return 0;
        burstNow = false;
        return 120; // ~158 KB at once: three full reads at the next tick
      });
      const pacer = new ReadPacer(pacing);
      const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000, pacer });
      const body = play.body;
      let bytes = 0;
      body.on('data', (c: Buffer) => (bytes += c.length));
      // The reads from the park during which the burst was written to the next park.
      let burstPark: { reads: number } | null = null;
      let readsToNextPark = -1;
      body.on('caughtUp', () => {
        if (burstPark) {
          if (readsToNextPark < 0) readsToNextPark = body.reads - burstPark.reads;
        } else if (body.parks >= 3) {
          burstPark = { reads: body.reads };
          burstNow = true;
        }
      });
      const done = ended(body);
      body.resume();
      expect(await done).toEqual({ end: 'end', error: null });
      expect(bytes).toBe(count * 1316);
      expect(burstPark).not.toBeNull();
      // Still paced, it would read the burst in a few full reads and park again at its end. Read
      // as it comes, it reads the stream's next pieces one by one (or a few together on a busy
      // machine) until a rate window finds it slow again, 200 ms on.
      expect(readsToNextPark === -1 || readsToNextPark > 10, `${readsToNextPark} reads from the burst to the next park`).toBe(true);
    });

    it('a parked body its consumer pauses before the tick is not woken by it; resumed, it reads on to the end', async () => {
      let written = 0;
      const count = 300;
      const url = await streamingServer(count, 1316, 3, (n) => (written = n));
      const pacer = new ReadPacer(pacing);
      const play = await openPlayback(url, { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000, pacer });
      const body = play.body;
      let bytes = 0;
      body.on('data', (c: Buffer) => (bytes += c.length));
      let paused: { waiting: number; reads: number; written: number } | null = null;
      // Paused after it parked (as a channel whose players all fell behind pauses it).
      body.once('caughtUp', () =>
        setImmediate(() => {
          body.pause();
          paused = { waiting: pacer.waiting, reads: body.reads, written };
        }),
      );
      body.resume();
      await expect.poll(() => paused, { timeout: 5_000 }).not.toBeNull();
      expect(paused!.waiting).toBe(1);
      // The engine writes more, and the tick the body was parked for passes (and one more):
      // nothing is read while paused.
      await expect.poll(() => written, { timeout: 10_000 }).toBeGreaterThanOrEqual(Math.min(count, paused!.written + 20));
      await new Promise<void>((r) => pacer.park(r));
      await new Promise<void>((r) => pacer.park(r));
      expect(body.reads).toBe(paused!.reads);
      expect(bytes).toBeLessThan(count * 1316);
      const done = ended(body);
      body.resume();
      expect(await done).toEqual({ end: 'end', error: null });
      expect(bytes).toBe(count * 1316);
    });
  });
});
