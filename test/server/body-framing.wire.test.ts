/**
 * The player's body as it leaves the socket: acerelay writes it to the socket itself (framed
 * once per channel send, not by Node per player), so the framing is checked byte by byte here,
 * off raw sockets, for a lone player, players sharing a channel, and an HTTP/1.0 player.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT, eventually, startStack, type Stack } from '../support/stack.ts';

interface Raw {
  head: string;
  /** The body as sent (chunked framing included when there is one). */
  body: Buffer;
  close(): void;
}

/** A raw GET: the head, then every body byte as it came, until `enough` says so. */
function rawGet(url: string, path: string, version: '1.0' | '1.1', enough: (body: Buffer) => boolean): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let head: string | null = null;
    const timer = setTimeout(() => done(new Error('timeout')), 20_000);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve({ head: head!, body: buf, close: () => socket.destroy() });
    };
    socket.on('connect', () => socket.write(`GET ${path} HTTP/${version}\r\nHost: ${hostname}\r\n\r\n`));
    socket.on('error', (err) => done(err));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (head === null) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
      }
      if (enough(buf)) done();
    });
  });
}

/** Parses a chunked body: each chunk's data, and what is left over (a chunk not complete yet). */
function chunks(body: Buffer): { sizes: number[]; data: Buffer } {
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const line = body.subarray(at, eol).toString('latin1');
    expect(line).toMatch(/^[0-9a-f]+$/);
    const size = parseInt(line, 16);
    if (body.length < eol + 2 + size + 2) break;
    expect(body.subarray(eol + 2 + size, eol + 4 + size).toString('latin1')).toBe('\r\n');
    sizes.push(size);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 4 + size;
  }
  return { sizes, data: Buffer.concat(parts) };
}

const whole = (data: Buffer) => data.length % 188 === 0 && data.every((b, i) => i % 188 !== 0 || b === 0x47);

describe('the body on the wire', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { minReplicas: 2, bitrate: 4_000_000, chunkBytes: 16_384 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('HTTP/1.1: every chunk a whole number of packets, for a lone player and for players sharing the channel', async () => {
    const path = `/ace/getstream?id=${CONTENT[2]}`;
    const enough = (n: number) => (body: Buffer) => chunks(body).data.length >= n;
    // The first player reads until the joiners are done, so what they got is in what it got
    // however slowly a loaded machine lets them join.
    let firstBytes = 0;
    let joinersDone = false;
    const first = rawGet(stack.url, path, '1.1', (body) => {
      firstBytes = body.length;
      return joinersDone && enough(1_500_000)(body);
    });
    // The channel is live with one player (its chunks are the upstream's own buffers), then two more join.
    await eventually(() => stack.acerelay.registry.listPlayers().length === 1 && firstBytes >= 300_000, 15_000);
    const more = [rawGet(stack.url, path, '1.1', enough(600_000)), rawGet(stack.url, path, '1.1', enough(600_000))];
    const joiners = await Promise.all(more);
    joinersDone = true;
    const all = [await first, ...joiners];
    for (const raw of all) {
      expect(raw.head).toMatch(/^HTTP\/1\.1 200/);
      expect(raw.head).toMatch(/\r\ntransfer-encoding: chunked/i);
      const { sizes, data } = chunks(raw.body);
      expect(sizes.length).toBeGreaterThan(10);
      for (const s of sizes) expect(s % 188).toBe(0);
      expect(whole(data)).toBe(true);
    }
    // The joiners got the same bytes as the first player from where they joined.
    const a = chunks(all[0]!.body).data;
    for (const raw of all.slice(1)) {
      // A joiner is held for a moment before it attaches: the keep-alive null packets it may get
      // then are its own; its media starts at the first packet that is not one (a PAT).
      const joined = chunks(raw.body).data;
      let skip = 0;
      while (skip + 188 <= joined.length && (((joined[skip + 1]! & 0x1f) << 8) | joined[skip + 2]!) === 0x1fff) skip += 188;
      const b = joined.subarray(skip);
      expect((((b[1]! & 0x1f) << 8) | b[2]!)).toBe(0); // PAT first
      // The simulated engine loops a clip: its opening packets recur (continuity counters
      // repeat every 16), so every place they occur in the first player's body is tried.
      const prefix = b.subarray(0, 188 * 10);
      let matched = 0;
      for (let at = a.indexOf(prefix); at >= 0 && matched === 0; at = a.indexOf(prefix, at + 188)) {
        const n = Math.min(b.length, a.length - at);
        if (b.subarray(0, n).equals(a.subarray(at, at + n))) matched = n;
      }
      expect(matched).toBeGreaterThan(200_000);
    }
  }, 60_000);

  test('HTTP/1.0: no chunked framing, the packets themselves until the connection ends', async () => {
    const raw = await rawGet(stack.url, `/ace/getstream?id=${CONTENT[3]}`, '1.0', (body) => body.length >= 500_000);
    expect(raw.head).toMatch(/^HTTP\/1\.[01] 200/);
    expect(raw.head).not.toMatch(/transfer-encoding/i);
    const data = raw.body.subarray(0, raw.body.length - (raw.body.length % 188));
    expect(data.length).toBeGreaterThanOrEqual(500_000 - 188);
    expect(whole(data)).toBe(true);
  }, 60_000);
});
