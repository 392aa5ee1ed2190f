/**
 * The upstream reader with a real engine client over a real socket: a live engine writing
 * 1316 B at a time is read once a read tick (read-pacer.ts), and what each such read releases
 * goes to the players at once, not after the channel's wait for company (the bytes already
 * waited for the tick in the kernel).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/adapters/engine/client.ts';
import type { EngineBody } from '../../src/adapters/engine/engine-body.ts';
import { createUpstreamReader } from '../../src/core/upstream-reader.ts';
import { Channel, MAX_WAIT_MS, SEND_MIN_BYTES } from '../../src/fanout/channel.ts';
import type { OutChunk } from '../../src/fanout/out-chunk.ts';
import type { PlayerSink } from '../../src/fanout/player-sink.ts';
import { systemClock } from '../../src/clock.ts';
import { recordLiveStream } from '../../src/ts/live-stream.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';
import type { SessionEvent } from '../../src/machines/session.machine.ts';

const servers: net.Server[] = [];
const clients: EngineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A socket that takes everything at once. */
class Recorder implements PlayerSink {
  readonly id = 'p';
  bytes = 0;
  write(chunk: OutChunk): void {
    for (let c: OutChunk | null = chunk; c; c = c.next) this.bytes += c.data.length;
  }
  backlog(): number {
    return 0;
  }
  flushed(): number {
    return this.bytes;
  }
  drop(): void {}
}

/** An engine playing `ts` live: 1316 B (seven packets) per chunk, one every `everyMs` or later. */
async function liveEngine(ts: Buffer, everyMs: number): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', async () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let at = 0; at < ts.length && !socket.destroyed; at += 1316) {
        const piece = ts.subarray(at, at + 1316);
        socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
        await new Promise((r) => setTimeout(r, everyMs));
      }
      socket.end('0\r\n\r\n');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/content/x`;
}

describe('upstream reader: paced reads', () => {
  it('each read tick sends what it released at once: when the body parks, nothing waits in the channel', async () => {
    const ts = await recordLiveStream(1);
    // 1316 B every 3 ms or later: ~22 KB a tick at most, a stream the pacer paces.
    const url = await liveEngine(ts, 3);
    const client = new EngineClient({ noResponseTimeoutMs: 5_000, emptyTimeoutMs: 10_000, readPacing: { tickMs: MAX_WAIT_MS, sendBytes: SEND_MIN_BYTES } });
    clients.push(client);
    const bodies: EngineBody[] = [];
    const engine = {
      playback: async (u: string, signal?: AbortSignal) => {
        const play = await client.playback(u, signal);
        bodies.push(play.body);
        return play;
      },
      stat: () => new Promise<never>(() => {}),
    };
    const channel = new Channel({ id: 'c', bufferBytes: 8 * 1024 * 1024 });
    const player = new Recorder();
    channel.attach(player);
    const events: SessionEvent[] = [];
    const read = createUpstreamReader({ engine, clock: systemClock, emptyTimeoutMs: 10_000, noResponseTimeoutMs: 5_000 });
    const stop = read({ sessionId: 's', channel, playback: { playbackUrl: url, statUrl: null, commandUrl: null, infohash: 'h', playbackSessionId: 'ps', isLive: true }, splice: false }, (e) => events.push(e));
    try {
      await expect.poll(() => bodies.length, { timeout: 10_000 }).toBe(1);
      const body = bodies[0]!;
      // Listening after the reader (its listener was put on first): what the players have been sent when the body parks.
      const unsentAtPark: number[] = [];
      body.on('caughtUp', () => unsentAtPark.push(channel.unsentBytes));
      await expect.poll(() => events.map((e) => e.type), { timeout: 10_000 }).toContain('UPSTREAM_FAILED');
      expect(events.find((e) => e.type === 'UPSTREAM_FAILED')).toMatchObject({ code: 'ENGINE_EOF' });
      expect(events[0]!.type).toBe('UPSTREAM_SYNCED');
      expect(unsentAtPark.length).toBeGreaterThanOrEqual(5);
      expect(unsentAtPark.every((n) => n === 0), `unsent at each park: ${unsentAtPark.join(' ')}`).toBe(true);
      // The players had the stream, in whole packets.
      expect(player.bytes % PACKET_SIZE).toBe(0);
      expect(player.bytes).toBeGreaterThan(ts.length / 2);
    } finally {
      stop();
    }
  });
});
