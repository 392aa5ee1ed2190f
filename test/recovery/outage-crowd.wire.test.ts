/**
 * A crowd held through a VPN outage, at the end of which the orchestrator is full: the
 * outside test that reset 90 held players in 30 ms (issue 12, item 1), over the wire.
 * Simulator at max_replicas 10 with 4 engines running and a replica pool of 10: after the
 * outage 6 engines can be provisioned, and the 7th call is answered the way the real
 * orchestrator answers a full house (500 general_error "Maximum active replicas limit reached").
 */
import http from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { eventually, startStack, type Stack } from '../support/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

interface Player {
  index: number;
  status: number;
  /** Client time from the request to the end of the response ('open' while it lasts). */
  endedAfterMs: number | null;
  ending: 'open' | 'reset' | 'end';
  /** Whether any non-null TS packet arrived (media, not keep-alive). */
  media: boolean;
  code: string | null;
  close(): void;
}

/** Opens a player and resolves once its response headers arrived (so arrival order is ours). */
function connect(url: string, index: number): Promise<Player> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const ac = new AbortController();
    let carry = Buffer.alloc(0);
    const player: Player = { index, status: 0, endedAfterMs: null, ending: 'open', media: false, code: null, close: () => ac.abort() };
    const end = (how: 'reset' | 'end') => {
      if (player.ending !== 'open') return;
      player.ending = ac.signal.aborted ? 'end' : how;
      player.endedAfterMs = Date.now() - started;
    };
    const req = http.get(url, { signal: ac.signal }, (res) => {
      player.status = res.statusCode ?? 0;
      resolve(player);
      let body = '';
      res.on('data', (chunk: Buffer) => {
        if (player.status !== 200) {
          body += chunk.toString();
          return;
        }
        if (player.media) return;
        // Whole packets across chunk borders: any PID other than 0x1FFF is media.
        carry = Buffer.concat([carry, chunk]);
        let i = 0;
        for (; i + 188 <= carry.length; i += 188) {
          const pid = ((carry[i + 1]! & 0x1f) << 8) | carry[i + 2]!;
          if (pid !== 0x1fff) player.media = true;
        }
        carry = carry.subarray(i);
      });
      res.on('end', () => {
        if (player.status !== 200) player.code = (JSON.parse(body) as { error: { code: string } }).error.code;
        end('end');
      });
      res.on('error', () => end('reset'));
      res.on('aborted', () => end('reset'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (player.status === 0) reject(err);
      else end('reset');
    });
  });
}

test('VPN outage with 130 players on 130 channels: after it, provisioning stays within its bound, a full orchestrator holds players instead of resetting them, and capacity goes in arrival order', async () => {
  const HOLD_MAX_MS = 60_000;
  stack = await startStack({
    sim: { minReplicas: 4, maxReplicas: 10, maxActiveReplicas: 10, provisionDelayMs: 300, engineReadyDelayMs: 200 },
    // VPN ETA is 60 s: HOLD_MAX must cover it for players to be held rather than refused.
    env: { ACERELAY_HOLD_MAX: '60s', ACERELAY_QUEUE_MAX: '100', ACERELAY_PROVISION_CONCURRENCY: '2', ACERELAY_LINGER: '500ms' },
  });
  const s = stack;
  await eventually(() => s.acerelay.feed.current().engines?.length === 4, 10_000);
  await s.sim.control('vpn', { connected: false });
  await eventually(() => s.acerelay.feed.current().status?.vpn.connected === false, 5_000);

  const ids = Array.from({ length: 130 }, (_, i) => `c0${i.toString(16).padStart(38, '0')}`);
  const players: Player[] = [];
  for (const [i, id] of ids.entries()) players.push(await connect(`${s.url}/ace/getstream?id=${id}`, i));
  const held = players.filter((p) => p.status === 200);
  const refused = players.filter((p) => p.status === 503);
  expect(held).toHaveLength(100);
  expect(refused).toHaveLength(30);
  await eventually(() => refused.every((p) => p.code !== null), 5_000);
  expect(new Set(refused.map((p) => p.code))).toEqual(new Set(['queue_full']));
  // The first 100 to arrive are the ones held.
  expect(held.map((p) => p.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));

  const vpnBack = Date.now();
  await s.sim.control('vpn', { connected: true });
  // 4 engines were idle and 6 more fit: 10 players stream, in arrival order.
  await eventually(() => held.filter((p) => p.media).length === 10, 30_000);
  // Well after the house filled (several status polls and probe windows), nobody else was let
  // go: the 90 others are still held.
  await eventually(() => s.sim.state().provisions.some((p) => p.http_status === 500), 10_000);
  while (Date.now() - vpnBack < 12_000) await new Promise((r) => setTimeout(r, 250));
  expect(held.filter((p) => p.ending !== 'open').map((p) => p.index)).toEqual([]);
  expect(held.filter((p) => p.media).map((p) => p.index)).toEqual(Array.from({ length: 10 }, (_, i) => i));

  // An engine frees (three players of the first channels leave): the next in line get it.
  for (const p of held.slice(0, 3)) p.close();
  await eventually(() => held.slice(3).filter((p) => p.media).length === 10, 20_000);
  expect(held.filter((p) => p.media).map((p) => p.index)).toEqual(Array.from({ length: 13 }, (_, i) => i));

  // Provisioning calls in flight never exceeded the bound, at any instant.
  const marks: Array<[number, number]> = [];
  for (const p of s.sim.state().provisions) marks.push([p.t, +1], [p.done_at ?? Infinity, -1]);
  marks.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let most = 0;
  for (const [, d] of marks) most = Math.max(most, (inFlight += d));
  expect(most).toBeLessThanOrEqual(2);
  // And the full house did not turn into one call per waiting player.
  const full = s.sim.state().provisions.filter((p) => p.http_status === 500);
  expect(full.length).toBeLessThanOrEqual(5);

  // The rest are aborted (reset) at HOLD_MAX, not before.
  const waiting = held.filter((p) => !p.media);
  await eventually(() => waiting.every((p) => p.ending !== 'open'), HOLD_MAX_MS + 20_000, 500);
  for (const p of waiting) {
    expect(p.ending).toBe('reset');
    expect(p.endedAfterMs!).toBeGreaterThanOrEqual(HOLD_MAX_MS - 250);
  }
  for (const p of held) p.close();
}, 150_000);
