import { describe, expect, it } from 'vitest';
import { Channel, type UpstreamValve } from '../../src/fanout/channel.ts';
import type { PlayerSink } from '../../src/fanout/player-sink.ts';
import { HlsSegmenter } from '../../src/fanout/hls-segmenter.ts';
import { loadClip } from '../../src/ts/clip.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';

const CLIP = loadClip().data;
const MiB = 1024 * 1024;

/** A player whose socket takes bytes only when told to. */
class FakeSink implements PlayerSink {
  readonly id: string;
  queued = 0;
  taken = 0;
  dropped: string | null = null;
  private waiter: (() => void) | null = null;
  constructor(id: string) {
    this.id = id;
  }
  write(packets: Buffer): void {
    this.queued += packets.length;
  }
  backlog(): number {
    return this.queued;
  }
  flushed(): number {
    return this.taken;
  }
  drop(reason: 'slow' | 'memory' | 'stalled'): void {
    this.dropped ??= reason;
  }
  whenDrained(fn: () => void): void {
    if (this.queued === 0) fn();
    else this.waiter = fn;
  }
  /** The socket takes everything queued. */
  drain(): void {
    this.taken += this.queued;
    this.queued = 0;
    const fn = this.waiter;
    this.waiter = null;
    fn?.();
  }
}

class Valve implements UpstreamValve {
  paused = false;
  pauses = 0;
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
}

/** A flowing channel (PAT + random-access point seen) with a valve on its upstream. */
function flowing(bufferBytes = 4 * MiB): { channel: Channel; valve: Valve; feed: (bytes: number) => void } {
  const channel = new Channel({ id: 'c', bufferBytes });
  const valve = new Valve();
  channel.beginUpstream();
  channel.setValve(valve);
  let at = 0;
  const feed = (bytes: number) => {
    for (let sent = 0; sent < bytes; ) {
      const n = Math.min(100 * PACKET_SIZE, CLIP.length - at);
      channel.push(Buffer.from(CLIP.subarray(at, at + n)));
      sent += n;
      at = (at + n) % CLIP.length;
    }
  };
  feed(CLIP.length);
  expect(channel.flowing).toBe(true);
  return { channel, valve, feed };
}

describe('Channel flow control', () => {
  it('pauses the upstream only when every player is behind, and resumes when the first catches up', () => {
    const { channel, valve, feed } = flowing();
    const a = new FakeSink('a');
    const b = new FakeSink('b');
    channel.attach(a);
    channel.attach(b);
    feed(2 * MiB);
    expect(valve.paused).toBe(true);
    expect(channel.throttled).toBe(true);
    b.drain();
    expect(valve.paused).toBe(false);
    // b keeps up from now on: a alone falls behind and is dropped past its bound, as before.
    for (let i = 0; i < 40 && !a.dropped; i++) {
      feed(256 * 1024);
      b.drain();
    }
    expect(a.dropped).toBe('slow');
    expect(b.dropped).toBeNull();
    expect(valve.paused).toBe(false);
  });

  it('an HLS segmenter on the channel neither keeps it from pausing when every player is behind nor pauses it alone', () => {
    const { channel, valve, feed } = flowing();
    const segmenter = new HlsSegmenter({ id: 'hls', targetMs: 2000, keep: 3, now: () => 0 });
    const a = new FakeSink('a');
    channel.attach(segmenter);
    feed(2 * MiB);
    expect(valve.pauses).toBe(0);
    channel.attach(a);
    feed(2 * MiB);
    expect(valve.paused).toBe(true);
    a.drain();
    expect(valve.paused).toBe(false);
    expect(segmenter.flushed()).toBeGreaterThan(4 * MiB);
  });

  it('never pauses while one player keeps up', () => {
    const { channel, valve, feed } = flowing(64 * MiB);
    const slow = new FakeSink('slow');
    const fast = new FakeSink('fast');
    channel.attach(slow);
    channel.attach(fast);
    for (let i = 0; i < 20; i++) {
      feed(256 * 1024);
      fast.drain();
    }
    expect(valve.pauses).toBe(0);
    expect(slow.backlog()).toBeGreaterThan(4 * MiB);
  });

  it('keeps one slow player under half its bound instead of dropping it', () => {
    const { channel, valve, feed } = flowing(1 * MiB);
    const only = new FakeSink('only');
    channel.attach(only);
    // Just past half the bound (a paused upstream sends nothing more).
    while (!valve.paused && only.backlog() < 1 * MiB) feed(32 * 1024);
    expect(valve.paused).toBe(true);
    expect(only.dropped).toBeNull();
    expect(only.backlog()).toBeLessThan(1 * MiB);
  });

  it('reads on when a player joins or leaves, and forgets a valve that was replaced', () => {
    const { channel, valve, feed } = flowing();
    const a = new FakeSink('a');
    channel.attach(a);
    feed(2 * MiB);
    expect(valve.paused).toBe(true);
    channel.attach(new FakeSink('b'));
    expect(valve.paused).toBe(false);
    feed(2 * MiB);
    expect(valve.paused).toBe(true);
    channel.detach(a);
    expect(valve.paused).toBe(false);

    const next = new Valve();
    channel.setValve(next);
    channel.clearValve(valve); // the old upstream's cleanup must not remove the new valve
    expect(channel.throttled).toBe(false);
    feed(4 * MiB);
    expect(next.paused).toBe(true);
  });

  it('does not pause for players that cannot say when they drained, nor without a valve', () => {
    const { channel, valve, feed } = flowing(64 * MiB);
    const plain = new FakeSink('plain');
    (plain as { whenDrained?: unknown }).whenDrained = undefined;
    channel.attach(plain);
    feed(2 * MiB);
    expect(valve.pauses).toBe(0);

    const bare = flowing(64 * MiB);
    bare.channel.setValve(null);
    bare.channel.attach(new FakeSink('x'));
    bare.feed(2 * MiB);
    expect(bare.channel.throttled).toBe(false);
  });
});
