import { describe, expect, it } from 'vitest';
import { ContinuityRewriter } from '../../src/ts/continuity.ts';
import { discontinuityPacket, markDiscontinuity, setDiscontinuityFlag } from '../../src/ts/discontinuity.ts';
import {
  AFC_ADAPTATION_ONLY,
  PACKET_SIZE,
  adaptationFieldControl,
  adaptationFieldLength,
  continuityCounter,
  hasPayload,
  isDiscontinuity,
  isRandomAccess,
  pidOf,
} from '../../src/ts/packet.ts';
import { checkStream } from './stream-check.ts';

function payloadPacket(pid: number, cc: number): Buffer {
  const p = Buffer.alloc(PACKET_SIZE, 0x11);
  Buffer.from([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10 | cc]).copy(p);
  return p;
}

describe('discontinuity', () => {
  it('builds an adaptation-only packet with the flag and stuffing', () => {
    const p = discontinuityPacket(0x101, 6);
    expect(p.length).toBe(PACKET_SIZE);
    expect(pidOf(p, 0)).toBe(0x101);
    expect(adaptationFieldControl(p, 0)).toBe(AFC_ADAPTATION_ONLY);
    expect(hasPayload(p, 0)).toBe(false);
    expect(adaptationFieldLength(p, 0)).toBe(183);
    expect(isDiscontinuity(p, 0)).toBe(true);
    expect(continuityCounter(p, 0)).toBe(6);
    expect(p.subarray(6).every((b) => b === 0xff)).toBe(true);
  });

  it('flags a packet in place when it has an adaptation field', () => {
    const p = payloadPacket(0x100, 3);
    p[3] = 0x30 | 3;
    p[4] = 1;
    p[5] = 0x40; // random access already set
    expect(markDiscontinuity(p, 0)).toBeNull();
    expect(isDiscontinuity(p, 0)).toBe(true);
    expect(isRandomAccess(p, 0)).toBe(true);
    expect(continuityCounter(p, 0)).toBe(3);
  });

  it('cannot flag an empty adaptation field in place', () => {
    const p = payloadPacket(0x100, 3);
    p[3] = 0x30 | 3;
    p[4] = 0;
    expect(setDiscontinuityFlag(p, 0)).toBe(false);
  });

  it('puts a packet in front otherwise, with the counter that keeps the PID valid', () => {
    const p = payloadPacket(0x100, 0);
    const before = markDiscontinuity(p, 0);
    expect(before).not.toBeNull();
    expect(pidOf(before!, 0)).toBe(0x100);
    expect(continuityCounter(before!, 0)).toBe(15);
    expect(isDiscontinuity(p, 0)).toBe(false);
  });

  it('keeps counters valid across a seam when combined with the rewriter', () => {
    const rw = new ContinuityRewriter();
    const old = Buffer.concat([0, 1, 2].map((cc) => payloadPacket(0x100, cc)));
    rw.rewriteAll(old);
    const fresh = Buffer.concat([9, 10].map((cc) => payloadPacket(0x100, cc)));
    rw.rewriteAll(fresh);
    const marker = markDiscontinuity(fresh, 0)!;
    const stream = Buffer.concat([old, marker, fresh]);
    expect(continuityCounter(marker, 0)).toBe(2);
    expect(checkStream(stream).problems).toEqual([]);
  });
});
