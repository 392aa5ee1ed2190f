import { describe, expect, it } from 'vitest';
import { Channel, MAX_WAIT_MS, SEND_MIN_BYTES } from '../../src/fanout/channel.ts';
import type { OutChunk } from '../../src/fanout/out-chunk.ts';
import type { PlayerSink } from '../../src/fanout/player-sink.ts';
import { recordLiveStream } from '../../src/ts/live-stream.ts';
import { PACKET_PAT, ProgramTracker } from '../../src/ts/program-tracker.ts';
import { diff33, readPcrBase } from '../../src/ts/timestamps.ts';
import { SEAM_GAP_TICKS } from '../../src/fanout/seam.ts';
import { PACKET_SIZE, isDiscontinuity, pidOf } from '../../src/ts/packet.ts';
import { eventually } from '../support/stack.ts';

/** A socket that takes everything at once and remembers each write's packets. */
class Recorder implements PlayerSink {
  readonly writes: Buffer[] = [];
  constructor(readonly id: string) {}
  write(chunk: OutChunk): void {
    const parts: Buffer[] = [];
    for (let c: OutChunk | null = chunk; c; c = c.next) parts.push(c.data);
    this.writes.push(Buffer.concat(parts));
  }
  backlog(): number {
    return 0;
  }
  flushed(): number {
    return 0;
  }
  drop(): void {}
  get bytes(): Buffer {
    return Buffer.concat(this.writes);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Channel: fewer, larger writes', () => {
  it('sends once whole frames worth SEND_MIN_BYTES are ready, and a lone frame after MAX_WAIT_MS at the latest', async () => {
    const data = await recordLiveStream(3);
    const channel = new Channel({ id: 'c', bufferBytes: 4 * 1024 * 1024 });
    channel.beginUpstream();
    const a = new Recorder('a');
    const b = new Recorder('b');
    channel.attach(a);
    channel.attach(b);
    // An engine writing 1316 bytes at a time: a frame of this stream is ~20 KB, so one write per two frames.
    for (let at = 0; at + 1316 <= data.length; at += 1316) channel.push(Buffer.from(data.subarray(at, at + 1316)));
    const sizes = a.writes.map((w) => w.length);
    expect(sizes.length).toBeGreaterThan(10);
    // The first write is the joiners' replay (the window); after it, every send is at least SEND_MIN_BYTES.
    for (const n of sizes.slice(1)) expect(n).toBeGreaterThanOrEqual(SEND_MIN_BYTES);
    expect(sizes.length).toBeLessThan(data.length / SEND_MIN_BYTES + 2);
    // Nothing more comes from upstream: what waits leaves within MAX_WAIT_MS.
    const before = a.bytes.length;
    await sleep(MAX_WAIT_MS + 200);
    expect(a.bytes.length).toBeGreaterThan(before);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(a.bytes.length % PACKET_SIZE).toBe(0);
  });

  it('sends each lone frame within maxWaitMs, again and again: after a wait that ran out, and after one a full send cut short', async () => {
    const data = await recordLiveStream(4);
    const channel = new Channel({ id: 'c', bufferBytes: 16 * 1024 * 1024, sendMinBytes: 1024 * 1024, maxWaitMs: 30 });
    channel.beginUpstream();
    const a = new Recorder('a');
    channel.attach(a);
    channel.attach(new Recorder('b'));
    let at = 0;
    const push = () => {
      channel.push(Buffer.from(data.subarray(at, at + 65_536)));
      at += 65_536;
    };
    /** Pushes `n` writes of 64 KiB, then waits until the first player got more. */
    const sentAfter = async (n: number) => {
      const before = a.bytes.length;
      for (let i = 0; i < n; i++) push();
      return eventually(() => a.bytes.length > before);
    };
    // The window starts (the joiners' replay), then lone frames: each waits out its own wait.
    await sentAfter(4);
    for (let i = 0; i < 3; i++) await sentAfter(1);
    // A megabyte at once (sent before its wait ran out), then a lone frame: it waits again.
    await sentAfter(17);
    for (let i = 0; i < 3; i++) await sentAfter(1);
    expect(a.writes.length).toBeGreaterThanOrEqual(8);
    channel.close();
  });

  it('sends what waited before a new upstream (failover), so the old frames go out first and whole', async () => {
    const first = await recordLiveStream(2);
    const second = await recordLiveStream(2, { positionMs: 1_700_000_100_000 });
    // Sends that wait long (a quarter MB, or a second): output is always waiting at the seam.
    const channel = new Channel({ id: 'c', bufferBytes: 4 * 1024 * 1024, sendMinBytes: 256 * 1024, maxWaitMs: 1_000 });
    const p = new Recorder('p');
    const q = new Recorder('q');
    channel.beginUpstream();
    channel.attach(p);
    channel.attach(q);
    for (let at = 0; at < first.length; at += 16_384) channel.push(Buffer.from(first.subarray(at, at + 16_384)));
    const oldBytes = p.bytes.length;
    channel.beginUpstream();
    for (let at = 0; at < second.length; at += 16_384) channel.push(Buffer.from(second.subarray(at, at + 16_384)));
    await sleep(1_200);
    const out = p.bytes;
    // After the old bytes: the old segment's last whole frames, in the upstream's order, then
    // the new one, whose first packet carries the seam's discontinuity indicator (its PAT, or
    // an adaptation-only packet on the PAT PID right before it).
    let newStart = -1;
    for (let off = oldBytes; off < out.length && newStart < 0; off += PACKET_SIZE) if (isDiscontinuity(out, off)) newStart = off;
    expect(newStart).toBeGreaterThan(oldBytes);
    expect(pidOf(out, newStart)).toBe(0);
    expect(first.indexOf(out.subarray(oldBytes, newStart))).toBeGreaterThanOrEqual(0);
    const tracker = new ProgramTracker();
    const pat = tracker.classify(out, newStart) & PACKET_PAT ? newStart : newStart + PACKET_SIZE;
    expect(new ProgramTracker().classify(out, pat) & PACKET_PAT).toBe(PACKET_PAT);
    // Clock continuity: the new upstream's first PCR comes the seam's gap after the last one
    // players got (the rewriter must see everything sent before it, waiting output included).
    let lastOld = -1;
    for (let off = 0; off < newStart; off += PACKET_SIZE) if (readPcrBase(out, off) >= 0) lastOld = readPcrBase(out, off);
    let firstNew = -1;
    for (let off = newStart; off < out.length && firstNew < 0; off += PACKET_SIZE) firstNew = readPcrBase(out, off);
    expect(diff33(lastOld, firstNew)).toBeGreaterThanOrEqual(SEAM_GAP_TICKS);
    expect(q.bytes.equals(out)).toBe(true);
    // A player joining now starts at the new upstream's first sync point, never in the old one.
    const late = new Recorder('late');
    channel.attach(late);
    const replay = late.bytes;
    expect(replay.length).toBeGreaterThan(0);
    // The window ends with the newest bytes sent: it is the tail of what the others got.
    const from = p.bytes.length - replay.length;
    expect(p.bytes.subarray(from).equals(replay)).toBe(true);
    expect(from).toBeGreaterThanOrEqual(newStart);
  });
});
