import { describe, expect, it } from 'vitest';
import {
  AFC_ADAPTATION_ONLY,
  AFC_BOTH,
  AFC_PAYLOAD_ONLY,
  NULL_PID,
  PACKET_SIZE,
  adaptationFieldControl,
  adaptationFieldLength,
  adaptationFlags,
  continuityCounter,
  hasAdaptationField,
  hasPayload,
  hasPcr,
  hasPusi,
  isDiscontinuity,
  isRandomAccess,
  nullPacket,
  nullPackets,
  payloadOffset,
  pidOf,
  setContinuityCounter,
  writeNullPackets,
} from '../../src/ts/packet.ts';

function packet(header: number[], fill = 0xaa): Buffer {
  const p = Buffer.alloc(PACKET_SIZE, fill);
  Buffer.from(header).copy(p);
  return p;
}

describe('packet fields', () => {
  it('reads the header of a payload-only packet at an offset', () => {
    const buf = Buffer.concat([Buffer.alloc(10), packet([0x47, 0x41, 0x00, 0x1b])]);
    const off = 10;
    expect(pidOf(buf, off)).toBe(0x100);
    expect(hasPusi(buf, off)).toBe(true);
    expect(adaptationFieldControl(buf, off)).toBe(AFC_PAYLOAD_ONLY);
    expect(hasAdaptationField(buf, off)).toBe(false);
    expect(hasPayload(buf, off)).toBe(true);
    expect(continuityCounter(buf, off)).toBe(11);
    expect(adaptationFieldLength(buf, off)).toBe(-1);
    expect(adaptationFlags(buf, off)).toBe(0);
    expect(payloadOffset(buf, off)).toBe(off + 4);
  });

  it('reads the adaptation field flags and skips the field for the payload', () => {
    // AF length 7, flags: discontinuity + random access + PCR.
    const p = packet([0x47, 0x01, 0x01, 0x35, 0x07, 0xd0]);
    expect(pidOf(p, 0)).toBe(0x101);
    expect(hasPusi(p, 0)).toBe(false);
    expect(adaptationFieldControl(p, 0)).toBe(AFC_BOTH);
    expect(adaptationFieldLength(p, 0)).toBe(7);
    expect(isDiscontinuity(p, 0)).toBe(true);
    expect(isRandomAccess(p, 0)).toBe(true);
    expect(hasPcr(p, 0)).toBe(true);
    expect(payloadOffset(p, 0)).toBe(12);
  });

  it('has no payload offset for adaptation-only packets or an oversized field', () => {
    const afOnly = packet([0x47, 0x01, 0x00, 0x20, 183, 0x00]);
    expect(adaptationFieldControl(afOnly, 0)).toBe(AFC_ADAPTATION_ONLY);
    expect(hasPayload(afOnly, 0)).toBe(false);
    expect(payloadOffset(afOnly, 0)).toBe(-1);
    const broken = packet([0x47, 0x01, 0x00, 0x30, 183, 0x00]);
    expect(payloadOffset(broken, 0)).toBe(-1);
  });

  it('treats an empty adaptation field as having no flags', () => {
    const p = packet([0x47, 0x01, 0x00, 0x30, 0x00], 0xff);
    expect(adaptationFlags(p, 0)).toBe(0);
    expect(payloadOffset(p, 0)).toBe(5);
  });

  it('rewrites the continuity counter without touching the other bits', () => {
    const p = packet([0x47, 0x01, 0x00, 0x3f]);
    setContinuityCounter(p, 0, 0x12);
    expect(p[3]).toBe(0x32);
  });
});

describe('null packets', () => {
  it('builds 47 1F FF 10 followed by 0xFF', () => {
    const p = nullPacket();
    expect(p.length).toBe(PACKET_SIZE);
    expect([...p.subarray(0, 4)]).toEqual([0x47, 0x1f, 0xff, 0x10]);
    expect(p.subarray(4).every((b) => b === 0xff)).toBe(true);
    expect(pidOf(p, 0)).toBe(NULL_PID);
  });

  it('hands out blocks of any size, shared up to 64', () => {
    for (const n of [1, 7, 64, 65, 200]) {
      const block = nullPackets(n);
      expect(block.length).toBe(n * PACKET_SIZE);
      for (let i = 0; i < n; i++) expect(block.subarray(i * PACKET_SIZE, (i + 1) * PACKET_SIZE)).toEqual(nullPacket());
    }
    expect(nullPackets(3).buffer).toBe(nullPackets(5).buffer);
  });

  it('writes null packets into a target buffer', () => {
    const target = Buffer.alloc(150 * PACKET_SIZE + 2, 0);
    writeNullPackets(target, 2, 150);
    expect(target[0]).toBe(0);
    for (let i = 0; i < 150; i++) expect(pidOf(target, 2 + i * PACKET_SIZE)).toBe(NULL_PID);
  });
});
