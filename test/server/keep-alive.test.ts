/**
 * The keep-alive ticker's rules for streaming players (the wire behaviour is in
 * test/recovery/stall.wire.test.ts): nulls only after STALL_KEEPALIVE_AFTER_MS of media
 * silence, none once media flows, none into a backlog (a stuck player stays visible to the
 * write-stall drop), and one keep-alive, not two, for a player that is also held.
 */
import { describe, expect, test } from 'vitest';
import { KEEPALIVE_PACKETS, KeepAlive, STALL_KEEPALIVE_AFTER_MS, type StreamingTarget } from '../../src/server/keep-alive.ts';
import { NULL_PID, PACKET_SIZE, pidOf } from '../../src/ts/packet.ts';

class FakePlayer implements StreamingTarget {
  bytesSent = 0;
  queued = 0;
  readonly got: Buffer[] = [];
  backlog(): number {
    return this.queued;
  }
  keepAlive(nulls: Buffer): void {
    this.got.push(nulls);
  }
}

/** Ticks every 500 ms from `from` to `to` (inclusive), running `each` before each tick. */
function run(k: KeepAlive, from: number, to: number, each: (now: number) => void = () => {}): void {
  for (let now = from; now <= to; now += 500) {
    each(now);
    k.tick(now);
  }
}

describe('stall keep-alive for streaming players', () => {
  test('none while media flows; null packets after the silence threshold; none again once media is back', () => {
    const k = new KeepAlive();
    const p = new FakePlayer();
    k.watch(p, 0);
    run(k, 500, 10_000, () => (p.bytesSent += 188 * 100));
    expect(p.got).toEqual([]);
    // Media stops after t = 10 s.
    run(k, 10_500, 10_000 + STALL_KEEPALIVE_AFTER_MS - 500);
    expect(p.got).toEqual([]);
    run(k, 10_000 + STALL_KEEPALIVE_AFTER_MS, 20_000);
    expect(p.got.length).toBeGreaterThanOrEqual(9);
    for (const nulls of p.got) {
      expect(nulls.length).toBe(KEEPALIVE_PACKETS * PACKET_SIZE);
      for (let off = 0; off < nulls.length; off += PACKET_SIZE) expect(pidOf(nulls, off)).toBe(NULL_PID);
    }
    const during = p.got.length;
    run(k, 20_500, 24_000, () => (p.bytesSent += 188));
    expect(p.got.length).toBe(during);
  });

  test('a silent player with bytes still waiting in its socket gets none (the write-stall drop must see it)', () => {
    const k = new KeepAlive();
    const p = new FakePlayer();
    k.watch(p, 0);
    p.bytesSent = 1_000_000;
    p.queued = 64 * 1024;
    run(k, 500, 30_000);
    expect(p.got).toEqual([]);
    // It took its backlog after all: now it is only an upstream stall.
    p.queued = 0;
    k.tick(30_500);
    expect(p.got.length).toBe(1);
  });

  test('a recovering player (held too) gets the held keep-alive only, and an unwatched one none', () => {
    const k = new KeepAlive();
    const held = new FakePlayer();
    const gone = new FakePlayer();
    k.watch(held, 0);
    k.add(held);
    k.watch(gone, 0);
    k.unwatch(gone);
    run(k, 500, 10_000);
    expect(held.got.length).toBe(20);
    expect(gone.got).toEqual([]);
  });
});
