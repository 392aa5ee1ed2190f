/**
 * /api/events over real sockets with viewers that never read: at most SSE_CLIENTS_MAX viewers
 * (the next gets 503 too_many_clients with Retry-After), each never-reading one is closed once
 * its backlog passes SSE_BACKLOG_MAX or it takes nothing for the write-stall timeout, and the
 * server's SSE backlog sum stays bounded while entries keep coming; a viewer that reads gets
 * every entry meanwhile.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { eventually, getJson, sleep, startStack, type Stack } from '../support/stack.ts';
import { SSE_BACKLOG_MAX, SSE_CLIENTS_MAX } from '../../src/server/sse-viewers.ts';

const TOKEN = 'sse-bounds-token-31c9';
const cookie = `acerelay_token=${TOKEN}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { ACERELAY_ADMIN_TOKEN: TOKEN, ACERELAY_WRITE_STALL_TIMEOUT: '3s' } });
});
afterAll(async () => {
  await stack?.close();
});

/** A viewer that reads its response head and then nothing more (its socket paused). */
function pausedViewer(base: string): Promise<{ socket: net.Socket; head: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET /api/events HTTP/1.1\r\nhost: ${hostname}\r\ncookie: ${cookie}\r\naccept: text/event-stream\r\n\r\n`);
    });
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve({ socket, head: chunk.toString('latin1').split('\r\n')[0]! });
    });
    socket.once('error', reject);
  });
}

/** A viewer that reads everything, counting `entry` events. */
function readingViewer(base: string) {
  const state = { status: 0, entries: 0, closed: false, req: null as http.ClientRequest | null };
  let tail = '';
  state.req = http.get(`${base}/api/events`, { headers: { cookie } }, (res) => {
    state.status = res.statusCode ?? 0;
    res.setEncoding('latin1');
    res.on('data', (text: string) => {
      const all = tail + text;
      state.entries += all.split('event: entry\n').length - 1;
      tail = all.slice(-20);
      // A marker cut at the chunk's end is counted with the next chunk, never twice.
      if (tail.includes('event: entry\n')) tail = tail.slice(tail.lastIndexOf('event: entry\n') + 1);
    });
    res.on('close', () => (state.closed = true));
  });
  state.req.on('error', () => (state.closed = true));
  return state;
}

/** Load: finished actors with a large input, straight into the hub (each one entry, ~16 KB). */
let loadSeq = 0;
function generateEntries(count: number, bytes = 16 * 1024): void {
  const blob = 'x'.repeat(bytes);
  for (let i = 0; i < count; i++) {
    const actor = `load-${++loadSeq}`;
    stack.acerelay.hub.created(actor, 'player', 'load', { blob });
    stack.acerelay.hub.inspect({
      type: '@xstate.snapshot',
      actorRef: { id: actor },
      event: { type: 'xstate.init' },
      snapshot: { value: 'ended', status: 'done', context: {} },
    } as unknown as InspectionEvent);
  }
}

test('never-reading viewers: the count is bounded (503 too_many_clients), each is closed, the backlog sum stays bounded', async () => {
  const reader = readingViewer(stack.url);
  await eventually(() => reader.status === 200, 5_000);
  const paused: net.Socket[] = [];
  for (let i = 1; i < SSE_CLIENTS_MAX; i++) {
    const v = await pausedViewer(stack.url);
    expect(v.head).toBe('HTTP/1.1 200 OK');
    paused.push(v.socket);
  }
  try {
    await eventually(() => stack.acerelay.monitor.count('viewer') === SSE_CLIENTS_MAX, 5_000);
    // Without the token it is still 401: the count is no oracle for strangers.
    expect((await getJson(`${stack.url}/api/events`)).status).toBe(401);
    const refused = await fetch(`${stack.url}/api/events`, { headers: { cookie } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_clients');

    // Entries keep coming; the paused viewers fill their kernel buffers, then their backlogs.
    const bound = SSE_CLIENTS_MAX * SSE_BACKLOG_MAX;
    let most = 0;
    let generated = 0;
    const deadline = Date.now() + 40_000;
    while (stack.acerelay.monitor.count('viewer') > 1 && Date.now() < deadline) {
      generateEntries(8);
      generated += 8;
      most = Math.max(most, stack.acerelay.monitor.total('viewer'));
      await sleep(50);
      most = Math.max(most, stack.acerelay.monitor.total('viewer'));
    }
    expect(stack.acerelay.monitor.count('viewer')).toBe(1);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(bound);
    // The viewer that reads was never closed and got every entry.
    expect(reader.closed).toBe(false);
    await eventually(() => reader.entries >= generated, 10_000);
    // The slots are free again.
    const again = http.get(`${stack.url}/api/events`, { headers: { cookie } });
    const status = await new Promise<number>((resolve) => again.on('response', (res) => resolve(res.statusCode ?? 0)));
    again.destroy();
    expect(status).toBe(200);
  } finally {
    for (const s of paused) s.destroy();
    reader.req?.destroy();
  }
}, 90_000);
