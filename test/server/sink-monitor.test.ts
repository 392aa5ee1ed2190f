/**
 * The monitor's rules with players and /api/events viewers together: their backlogs share
 * ACERELAY_MEMORY_MAX (viewers are dropped first, then players largest first; a socket with
 * nothing waiting is never dropped for memory), and a viewer that takes nothing for the
 * write-stall timeout is dropped like a player.
 */
import { describe, expect, test } from 'vitest';
import { SinkMonitor, type WatchedSink } from '../../src/server/sink-monitor.ts';

class Fake implements WatchedSink {
  dropped: string | null = null;
  taken = 0;
  constructor(
    readonly name: string,
    public waiting: number,
  ) {}
  backlog(): number {
    return this.waiting;
  }
  flushed(): number {
    return this.taken;
  }
  drop(reason: 'memory' | 'stalled'): void {
    this.dropped ??= reason;
  }
}

describe('players and viewers under one memory bound', () => {
  test('viewer backlogs count toward the bound; past it viewers go first, then the largest player', () => {
    const m = new SinkMonitor(30_000, 1_000);
    const p1 = new Fake('p1', 500);
    const p2 = new Fake('p2', 300);
    const idle = new Fake('idle viewer', 0);
    const v1 = new Fake('v1', 150);
    const v2 = new Fake('v2', 100);
    m.add(p1, 0);
    m.add(p2, 0);
    for (const v of [idle, v1, v2]) m.add(v, 0, 'viewer');
    expect(m.total()).toBe(1_050);
    expect(m.total('viewer')).toBe(250);
    expect(m.count('viewer')).toBe(3);
    // 1050 > 1000: the largest viewer alone brings it under.
    m.check(0);
    expect([p1, p2, idle, v1, v2].map((s) => s.dropped)).toEqual([null, null, null, 'memory', null]);
    // Players grow: both viewers with bytes waiting go, then the largest player.
    p1.waiting = 900;
    p2.waiting = 200;
    m.check(100);
    expect([p1, p2, idle, v2].map((s) => s.dropped)).toEqual(['memory', null, null, 'memory']);
    expect(m.count()).toBe(2);
  });

  test('a viewer that takes nothing for the write-stall timeout is dropped; one that reads is not', () => {
    const m = new SinkMonitor(3_000, 1 << 30);
    const stuck = new Fake('stuck', 4_096);
    const reading = new Fake('reading', 4_096);
    m.add(stuck, 0, 'viewer');
    m.add(reading, 0, 'viewer');
    for (let t = 500; t <= 3_000; t += 500) {
      reading.taken += 1_000;
      m.check(t);
    }
    expect(stuck.dropped).toBe('stalled');
    expect(reading.dropped).toBeNull();
    expect(m.count('viewer')).toBe(1);
  });

  test('an HLS window counts toward the bound and goes by size with the players after the viewers; it is never stalled', () => {
    const m = new SinkMonitor(3_000, 1_000);
    const player = new Fake('player', 300);
    const window = new Fake('window', 600);
    const viewer = new Fake('viewer', 50);
    m.add(player, 0);
    m.add(window, 0, 'window');
    m.add(viewer, 0, 'viewer');
    expect(m.total('window')).toBe(600);
    // A window holds its bytes on purpose and takes nothing: no stall, however long.
    for (let t = 1_000; t <= 10_000; t += 1_000) {
      player.taken += 1;
      viewer.taken += 1;
      m.check(t);
    }
    expect([player.dropped, window.dropped, viewer.dropped]).toEqual([null, null, null]);
    player.taken += 1;
    viewer.taken += 1;
    window.waiting = 800;
    // 1150 > 1000: the viewer first (not enough), then the largest of players and windows.
    m.check(10_500);
    expect([player.dropped, window.dropped, viewer.dropped]).toEqual([null, 'memory', 'memory']);
  });
});
