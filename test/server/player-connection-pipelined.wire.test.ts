/**
 * A player whose request was pipelined behind another on one connection: Node gives its
 * response no socket until the one before it ends, so its body goes through `res.write`
 * (Node frames it) instead of straight to the socket. Found by review: that path wrote only
 * the first part of a send split over two slabs, and a finished player there kept a backlog
 * for ever, pinning every slab of its channel from then on. Also: a send over many slabs
 * reaches a player whole, pipelined or not.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { PlayerConnection, type ConnectionDeps } from '../../src/server/player-connection.ts';
import { OutSlabs } from '../../src/fanout/out-slabs.ts';
import type { OutChunk } from '../../src/fanout/out-chunk.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';
import { eventually } from '../support/stack.ts';

const noop = () => {};
const deps = {
  clock: { now: () => Date.now() },
  keepAlive: { add: noop, delete: noop, watch: noop, unwatch: noop },
  monitor: { add: noop, delete: noop },
  metrics: { ttfb: { observe: noop }, slowDrops: { inc: noop } },
  log: { info: noop, warn: noop, error: noop },
} as unknown as ConnectionDeps;

/** `n` packets, each carrying its own number, so a lost or repeated one shows. */
function packets(n: number, from: number): Buffer {
  const b = Buffer.alloc(n * PACKET_SIZE);
  for (let i = 0; i < n; i++) {
    b[i * PACKET_SIZE] = 0x47;
    b.writeUInt32BE(from + i, i * PACKET_SIZE + 4);
  }
  return b;
}

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/**
 * A server whose `/first` answers when `release` is called (or never), and whose `/player`
 * is a PlayerConnection; one raw socket sends both requests at once.
 */
async function pipelined(first = true): Promise<{ player: Promise<PlayerConnection>; release(): void; received(): Buffer }> {
  let releaseFirst: () => void = noop;
  let gotPlayer: (p: PlayerConnection) => void = noop;
  const player = new Promise<PlayerConnection>((r) => (gotPlayer = r));
  const server = http.createServer((req, res) => {
    if (req.url === '/first') {
      releaseFirst = () => res.end('first');
      return;
    }
    const conn = new PlayerConnection(req, res, deps);
    conn.bind(noop);
    conn.hold();
    gotPlayer(conn);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  let raw = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (raw = Buffer.concat([raw, d])));
  socket.on('error', noop);
  socket.write(`${first ? 'GET /first HTTP/1.1\r\nHost: x\r\n\r\n' : ''}GET /player HTTP/1.1\r\nHost: x\r\n\r\n`);
  closers.push(() => {
    socket.destroy();
    server.closeAllConnections();
    server.close();
  });
  return { player, release: () => releaseFirst(), received: () => raw };
}

/** The player's body: the second response's chunked body, unframed (complete chunks only). */
function playerBody(raw: Buffer): Buffer {
  const at = raw.lastIndexOf('HTTP/1.1 200');
  let i = raw.indexOf('\r\n\r\n', at) + 4;
  const parts: Buffer[] = [];
  for (;;) {
    const eol = raw.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(i, eol).toString('latin1'), 16);
    if (!size || raw.length < eol + 2 + size + 2) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

test('a pipelined player gets both parts of a send split over two slabs, in order', async () => {
  const p = await pipelined();
  const conn = await p.player;
  const slabs = new OutSlabs(() => Infinity);
  const a = slabs.put([packets(200, 0)]);
  const b = slabs.put([packets(200, 200)]);
  expect(b.next).not.toBeNull(); // the second send did not fit the rest of the first slab
  conn.write(a);
  conn.write(b);
  p.release();
  const expected = Buffer.concat([packets(200, 0), packets(200, 200)]);
  const body = await eventually(() => {
    const got = playerBody(p.received());
    return got.length >= expected.length ? got : null;
  });
  expect(body.equals(expected)).toBe(true);
});

/** The parts of a send, in order. */
function partsOf(chunk: OutChunk): OutChunk[] {
  const parts: OutChunk[] = [];
  for (let c: OutChunk | null = chunk; c; c = c.next) parts.push(c);
  return parts;
}

for (const first of [true, false]) {
  test(`a ${first ? 'pipelined player (through its response)' : 'player (straight to its socket, one writev)'} gets every part of a send over four slabs, in order`, async () => {
    const p = await pipelined(first);
    const conn = await p.player;
    const slabs = new OutSlabs(() => Infinity);
    const a = slabs.put([packets(100, 0)]);
    // Over three whole slabs and the rest of the one before: an engine's burst.
    const b = slabs.put([packets(600, 100), packets(500, 700)]);
    expect(partsOf(b).length).toBe(4);
    conn.write(a);
    conn.write(b);
    expect(conn.bytesSent).toBe(1200 * PACKET_SIZE);
    p.release();
    const expected = packets(1200, 0);
    const body = await eventually(() => {
      const got = playerBody(p.received());
      return got.length >= expected.length ? got : null;
    });
    expect(body.equals(expected)).toBe(true);
  });
}

test('a pipelined player that never got its socket holds nothing once it is finished (no pin on the slabs)', async () => {
  const p = await pipelined(); // `/first` is never answered: the player's bytes wait in its response
  const conn = await p.player;
  const slabs = new OutSlabs(() => Infinity);
  conn.write(slabs.put([packets(100, 0)]));
  expect(conn.backlog()).toBeGreaterThan(0);
  conn.finish('dropped', null);
  expect(conn.backlog()).toBe(0);
});
