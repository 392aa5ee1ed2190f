import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Channel } from '../../src/fanout/channel.ts';
import type { OutChunk } from '../../src/fanout/out-chunk.ts';
import type { PlayerSink } from '../../src/fanout/player-sink.ts';
import { PesTail } from '../../src/fanout/pes-tail.ts';
import { MARK_PAT, MARK_RADIO, MARK_RAP } from '../../src/fanout/sync-marks.ts';
import { recordLiveStream } from '../../src/ts/live-stream.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';
import { PACKET_PAT, PACKET_RAP, ProgramTracker } from '../../src/ts/program-tracker.ts';
import { StreamCursor } from '../support/stream-cursor.ts';
import { asRadio } from '../support/pmt-rewrites.ts';

/**
 * The replay window no longer scans what it keeps: the hold-back marks the start points as it
 * releases bytes (sync-marks.ts). These tests hold the window to what a scan of the output
 * itself gives, with its own tracker, across engine writes of every size and failovers whose
 * closing segment drops packets.
 */

/** A player that takes everything at once; it keeps each send whole, and where seams fell. */
class Recorder implements PlayerSink {
  /** Sends and seams, in the order they came. */
  readonly events: Array<Buffer | 'seam'> = [];
  received = 0;
  constructor(readonly id: string) {}
  write(chunk: OutChunk): void {
    const parts: Buffer[] = [];
    for (let c: OutChunk | null = chunk; c; c = c.next) parts.push(Buffer.from(c.data));
    const send = Buffer.concat(parts);
    this.events.push(send);
    this.received += send.length;
  }
  backlog(): number {
    return 0;
  }
  flushed(): number {
    return this.received;
  }
  drop(): void {
    throw new Error(`${this.id} dropped: it never falls behind`);
  }
  seam(): void {
    this.events.push('seam');
  }
  get bytes(): Buffer {
    return Buffer.concat(this.events.filter((e): e is Buffer => e !== 'seam'));
  }
}

/**
 * Where a joiner starts, by scanning what a player there from the start received, send by
 * send, as the window once did itself: the PAT before the latest random-access point (every
 * PAT without video), forgotten at each seam. The start offset after each event (null: none).
 */
function startsAfterEvents(player: Recorder): Array<number | null> {
  const out: Array<number | null> = [];
  let tracker = new ProgramTracker();
  let lastPat = -1;
  let start: number | null = null;
  let at = 0;
  for (const event of player.events) {
    if (event === 'seam') {
      tracker = new ProgramTracker();
      lastPat = -1;
      start = null;
    } else {
      for (let off = 0; off + PACKET_SIZE <= event.length; off += PACKET_SIZE) {
        const flags = tracker.classify(event, off);
        if (flags & PACKET_PAT) {
          lastPat = at + off;
          const program = tracker.program;
          if (program !== null && program.videoPid < 0) start = lastPat;
        }
        if (flags & PACKET_RAP && lastPat >= 0) start = lastPat;
      }
      at += event.length;
    }
    out.push(start);
  }
  return out;
}

type Op = { op: 'feed'; bytes: number } | { op: 'attach' } | { op: 'seam'; from: number };

const ops = fc.array(
  fc.oneof(
    { weight: 14, arbitrary: fc.record({ op: fc.constant('feed' as const), bytes: fc.integer({ min: 1, max: 90_000 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('attach' as const) }) },
    // A failover: the new upstream starts anywhere in its stream, mid-packet even.
    { weight: 1, arbitrary: fc.record({ op: fc.constant('seam' as const), from: fc.nat() }) },
  ),
  { minLength: 40, maxLength: 120, size: 'max' },
);

describe("the replay window's start points", () => {
  const STREAM = recordLiveStream(8);

  it('are where a scan of the output puts them: every joiner gets what the first player got from there on', async () => {
    const data = await STREAM;
    let joinersChecked = 0;
    let seamsWithHeldBytes = 0;
    fc.assert(
      fc.property(ops, (steps) => {
        const channel = new Channel({ id: 'c', bufferBytes: 32 * 1024 * 1024 });
        channel.beginUpstream();
        const first = new Recorder('first');
        channel.attach(first);
        const joiners: Array<{ player: Recorder; events: number }> = [];
        const stream = new StreamCursor(data);
        for (const s of steps) {
          if (s.op === 'feed') {
            const piece = stream.take(s.bytes);
            if (piece) channel.push(Buffer.from(piece));
          } else if (s.op === 'attach') {
            const player = new Recorder(`j${joiners.length}`);
            joiners.push({ player, events: first.events.length });
            channel.attach(player);
          } else {
            const held = channel.bufferedBytes;
            channel.beginUpstream();
            if (held > 0) seamsWithHeldBytes++;
            stream.seek(s.from);
          }
        }
        channel.flush();
        const starts = startsAfterEvents(first);
        const whole = first.bytes;
        for (const { player, events } of joiners) {
          // Started at once from the start point then, or waited for the first one after.
          let expected = events === 0 ? null : starts[events - 1]!;
          for (let e = events; expected === null && e < starts.length; e++) expected = starts[e]!;
          // No start point since it came: it is still waiting, as it must be.
          if (expected === null) {
            expect(player.received).toBe(0);
            continue;
          }
          expect(player.received).toBe(whole.length - expected!);
          expect(player.bytes.equals(whole.subarray(expected!))).toBe(true);
          joinersChecked++;
        }
      }),
      { numRuns: 80 },
    );
    // The runs did exercise joins and failovers that closed a segment with bytes held.
    expect(joinersChecked).toBeGreaterThan(100);
    expect(seamsWithHeldBytes).toBeGreaterThan(10);
  });
});

describe('PesTail marks', () => {
  it('marks each PAT and random-access point by its offset in the output, closing segments included', async () => {
    const data = await recordLiveStream(4);
    const tail = new PesTail(1024 * 1024);
    const out: Buffer[] = [];
    // Seams inside frames: each closing segment drops the open PES it cut.
    const cuts = [137 * PACKET_SIZE, 1500 * PACKET_SIZE, 1507 * PACKET_SIZE, 4100 * PACKET_SIZE];
    const segmentEnds: number[] = [];
    let from = 0;
    let length = 0;
    for (const cut of [...cuts, Math.floor(data.length / PACKET_SIZE) * PACKET_SIZE]) {
      for (let at = from; at < cut; at += 30 * PACKET_SIZE) out.push(...tail.push(Buffer.from(data.subarray(at, Math.min(cut, at + 30 * PACKET_SIZE)))));
      out.push(tail.closeSegment());
      length = out.reduce((n, b) => n + b.length, 0);
      segmentEnds.push(length);
      from = cut;
    }
    const output = Buffer.concat(out);
    // The segments did drop the frames they cut.
    expect(output.length).toBeLessThan(from - 3 * PACKET_SIZE);
    // A scan of the output, with a fresh tracker from each segment's first byte as the tail's.
    const expected: Array<[number, number]> = [];
    let tracker = new ProgramTracker();
    for (let off = 0; off + PACKET_SIZE <= output.length; off += PACKET_SIZE) {
      if (segmentEnds.includes(off)) tracker = new ProgramTracker();
      const flags = tracker.classify(output, off);
      if (flags & PACKET_PAT) expected.push([off, MARK_PAT]);
      else if (flags & PACKET_RAP) expected.push([off, MARK_RAP]);
    }
    const marks: Array<[number, number]> = [];
    while (tail.marks.size > 0) {
      marks.push([tail.marks.next, tail.marks.nextFlags]);
      tail.marks.shift();
    }
    expect(marks.length).toBeGreaterThan(20);
    expect(marks).toEqual(expected);
  });
});

describe('a channel without video', () => {
  it('marks every PAT after its PMT as a start point by itself, and a joiner starts at the latest PAT', async () => {
    const data = asRadio(await recordLiveStream(4));
    const tail = new PesTail(1024 * 1024);
    for (let at = 0; at < data.length; at += 40 * PACKET_SIZE) tail.push(Buffer.from(data.subarray(at, at + 40 * PACKET_SIZE)));
    const kinds: number[] = [];
    while (tail.marks.size > 0) {
      kinds.push(tail.marks.nextFlags);
      tail.marks.shift();
    }
    // The first PAT comes before any PMT was read; every later one is a start point.
    expect(kinds.length).toBeGreaterThan(10);
    expect(kinds[0]).toBe(MARK_PAT);
    expect(kinds.slice(1).every((k) => k === (MARK_PAT | MARK_RADIO))).toBe(true);

    const channel = new Channel({ id: 'radio', bufferBytes: 16 * 1024 * 1024 });
    channel.beginUpstream();
    const first = new Recorder('first');
    channel.attach(first);
    const stream = new StreamCursor(data);
    for (let i = 0; i < 40; i++) channel.push(Buffer.from(stream.take(7 * 1316)!));
    channel.flush();
    const joinedAt = first.received;
    const joiner = new Recorder('joiner');
    channel.attach(joiner);
    for (let i = 0; i < 40; i++) channel.push(Buffer.from(stream.take(7 * 1316)!));
    channel.flush();
    // It starts at the last PAT the first player had been sent when it came (no random-access
    // point to wait for), and gets the rest as the first player did.
    const whole = first.bytes;
    let lastPat = -1;
    const tracker = new ProgramTracker();
    for (let off = 0; off + PACKET_SIZE <= joinedAt; off += PACKET_SIZE) if (tracker.classify(whole, off) & PACKET_PAT) lastPat = off;
    expect(lastPat).toBeGreaterThan(0);
    expect(joiner.bytes.equals(whole.subarray(lastPat))).toBe(true);
  });
});
