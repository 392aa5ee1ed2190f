import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PesTail } from '../../src/fanout/pes-tail.ts';
import { loadClip } from '../../src/ts/clip.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';
import { ConcatPesTail } from './pes-tail.oracle.ts';
import { asRadio, withVideoPidTwice } from '../support/pmt-rewrites.ts';

/**
 * A real A/V stream (the simulator's clip, looped): PES of every length, PSI, nulls. Its
 * middle loop is a radio channel (the video PID listed as audio), so the program changes
 * twice with PES open: what decides the hold-back changes and open PES must carry over.
 */
const STREAM = Buffer.concat([loadClip().data, asRadio(loadClip().data), loadClip().data]);
const PACKETS = STREAM.length / PACKET_SIZE;

type Step = { take: number; split: boolean } | { seam: true };

interface Run {
  /** What players got, one buffer per segment (from one seam to the next; the last ends with one too). */
  segments: Buffer[];
  /** Bytes handed out after each chunk, counted from the start. */
  sent: number[];
}

/**
 * Feeds the same chunks and seams to a tail. With `parts`, a chunk marked `split` goes in as
 * two buffers (as the channel hands over a chunk that completed a held packet); the oracle
 * always gets it whole.
 */
function run(tail: { push(b: Buffer | Buffer[]): Buffer | Buffer[]; closeSegment(): Buffer }, steps: Step[], parts = false): Run {
  const segments: Buffer[] = [];
  const sent: number[] = [];
  let current: Buffer[] = [];
  let total = 0;
  let at = 0;
  const seam = () => {
    const rest = tail.closeSegment();
    total += rest.length;
    segments.push(Buffer.concat([...current, rest]));
    current = [];
  };
  for (const step of steps) {
    if ('seam' in step) {
      seam();
      continue;
    }
    const n = Math.min(step.take, PACKETS - at);
    if (n <= 0) break;
    // A fresh copy per chunk, as the upstream hands them over.
    const chunk = Buffer.from(STREAM.subarray(at * PACKET_SIZE, (at + n) * PACKET_SIZE));
    const half = Math.floor(n / 2) * PACKET_SIZE;
    const input = parts && step.split && half > 0 ? [chunk.subarray(0, half), chunk.subarray(half)] : chunk;
    const given = tail.push(input);
    const out = Buffer.concat(Array.isArray(given) ? given : [given]);
    if (Array.isArray(given)) for (const piece of given) expect(piece.length % PACKET_SIZE).toBe(0);
    current.push(out);
    total += out.length;
    sent.push(total);
    at += n;
  }
  seam();
  return { segments, sent };
}

const MAX_CHUNK = 400 * PACKET_SIZE;

const steps = fc.array(
  fc.oneof({ weight: 12, arbitrary: fc.record({ take: fc.integer({ min: 1, max: MAX_CHUNK / PACKET_SIZE }), split: fc.boolean() }) }, { weight: 1, arbitrary: fc.constant({ seam: true as const }) }),
  { minLength: 1, maxLength: 120 },
);

describe('PesTail', () => {
  it('gives players exactly what the copy-everything version gives, when it gives it, for any chunking and seams', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 188 * 50, max: 2 * 1024 * 1024 }), (s, maxHeld) => {
        const fast = run(new PesTail(maxHeld), s, true);
        const oracle = run(new ConcatPesTail(maxHeld) as unknown as Parameters<typeof run>[0], s);
        // Buffer.equals: vitest's deep equality walks megabytes byte by byte.
        expect(fast.segments.length).toBe(oracle.segments.length);
        expect(fast.segments.findIndex((b, i) => !b.equals(oracle.segments[i]!))).toBe(-1);
        // And at the same moments: after every chunk, as many bytes out.
        expect(fast.sent).toEqual(oracle.sent);
      }),
      { numRuns: 150 },
    );
  });

  it('passes every byte through in order when no upstream fails', () => {
    const tail = new PesTail(1024 * 1024);
    const out: Buffer[] = [];
    for (let at = 0; at < PACKETS; at += 53) out.push(...tail.push(STREAM.subarray(at * PACKET_SIZE, Math.min(PACKETS, at + 53) * PACKET_SIZE)));
    const held = tail.heldBytes;
    expect(Buffer.concat(out).equals(STREAM.subarray(0, STREAM.length - held))).toBe(true);
  });

  it('hands out views of the chunks it was given, never copies', () => {
    const tail = new PesTail(1024 * 1024);
    const chunks = [0, 1, 2, 3].map((i) => Buffer.from(STREAM.subarray(i * 200 * PACKET_SIZE, (i + 1) * 200 * PACKET_SIZE)));
    const pieces = chunks.flatMap((c) => tail.push(c));
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(chunks.some((c) => c.buffer === p.buffer)).toBe(true);
  });

  it('holds back alike when the PMT lists the video PID twice (once as audio)', () => {
    const plain = Buffer.concat([loadClip().data, loadClip().data]);
    const twice = withVideoPidTwice(plain);
    const released = (data: Buffer): number[] => {
      const tail = new PesTail(1024 * 1024);
      const out: number[] = [];
      let total = 0;
      for (let at = 0; at < data.length; at += 37 * PACKET_SIZE) {
        for (const piece of tail.push(data.subarray(at, Math.min(data.length, at + 37 * PACKET_SIZE)))) total += piece.length;
        out.push(total);
      }
      return out;
    };
    // Packets keep their size, so the two streams line up packet for packet;
    // a gate that lost track of the video PID would hold nothing back and release sooner.
    const plainReleased = released(plain);
    expect(plainReleased.some((n, i) => n < (i + 1) * 37 * PACKET_SIZE)).toBe(true);
    expect(released(twice)).toEqual(plainReleased);
  });
});
