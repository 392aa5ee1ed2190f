import { describe, expect, it } from 'vitest';
import { PACKET_SIZE } from '../../src/ts/packet.ts';
import {
  TIMESTAMP_WRAP,
  diff33,
  readDts,
  readPcr,
  readPcrBase,
  readPcrExtension,
  readPts,
  shiftTimestamps,
  wrap33,
  writeDts,
  writePcr,
  writePts,
} from '../../src/ts/timestamps.ts';

/** A video packet with a PCR and a PES header carrying PTS (and DTS). */
function timedPacket(withDts: boolean): Buffer {
  const p = Buffer.alloc(PACKET_SIZE, 0xff);
  // PUSI, PID 0x100, AF + payload; AF length 7 with the PCR flag.
  Buffer.from([0x47, 0x41, 0x00, 0x30, 0x07, 0x10, 0, 0, 0, 0, 0x7e, 0]).copy(p);
  const pes = 12;
  Buffer.from([0, 0, 1, 0xe0, 0, 0, 0x80, withDts ? 0xc0 : 0x80, withDts ? 10 : 5]).copy(p, pes);
  p[pes + 9] = withDts ? 0x31 : 0x21;
  if (withDts) p[pes + 14] = 0x11;
  return p;
}

const VALUES = [0, 1, 90_000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, TIMESTAMP_WRAP - 1];

describe('wrap arithmetic', () => {
  it('wraps into [0, 2^33) and measures signed differences across the wrap', () => {
    expect(wrap33(-1)).toBe(TIMESTAMP_WRAP - 1);
    expect(wrap33(TIMESTAMP_WRAP + 5)).toBe(5);
    expect(diff33(TIMESTAMP_WRAP - 10, 20)).toBe(30);
    expect(diff33(20, TIMESTAMP_WRAP - 10)).toBe(-30);
  });
});

describe('PCR', () => {
  it('round-trips base and extension, including the top bit', () => {
    const p = timedPacket(false);
    for (const base of VALUES) {
      for (const ext of [0, 1, 255, 256, 299]) {
        expect(writePcr(p, 0, base, ext)).toBe(true);
        expect(readPcrBase(p, 0)).toBe(base);
        expect(readPcrExtension(p, 0)).toBe(ext);
        expect(readPcr(p, 0)).toBe(base * 300 + ext);
      }
    }
  });

  it('wraps a base written past 2^33', () => {
    const p = timedPacket(false);
    writePcr(p, 0, TIMESTAMP_WRAP + 42, 7);
    expect(readPcrBase(p, 0)).toBe(42);
  });

  it('reads -1 and refuses to write when there is no PCR', () => {
    const p = timedPacket(false);
    p[5] = 0; // clear the PCR flag
    expect(readPcrBase(p, 0)).toBe(-1);
    expect(readPcr(p, 0)).toBe(-1);
    expect(writePcr(p, 0, 1)).toBe(false);
  });
});

describe('PTS and DTS', () => {
  it('round-trips every bit pattern and keeps the prefix nibbles and markers', () => {
    const p = timedPacket(true);
    for (const v of VALUES) {
      expect(writePts(p, 0, v)).toBe(true);
      expect(readPts(p, 0)).toBe(v);
      expect(p[21]! >> 4).toBe(0x3);
      expect(p[26]! >> 4).toBe(0x1);
      for (const marker of [21, 23, 25, 26, 28, 30]) expect(p[marker]! & 1).toBe(1);
    }
  });

  it('round-trips DTS values independently of the PTS', () => {
    const p = timedPacket(true);
    writePts(p, 0, 1000);
    for (const v of VALUES) {
      writeDts(p, 0, v);
      expect(readDts(p, 0)).toBe(v);
      expect(readPts(p, 0)).toBe(1000);
    }
  });

  it('has no DTS when only a PTS is present', () => {
    const p = timedPacket(false);
    writePts(p, 0, 12345);
    expect(readPts(p, 0)).toBe(12345);
    expect(readDts(p, 0)).toBe(-1);
    expect(writeDts(p, 0, 1)).toBe(false);
  });

  it('finds nothing in packets that start no PES', () => {
    const p = timedPacket(true);
    p[1] = 0x01; // clear PUSI
    expect(readPts(p, 0)).toBe(-1);
    const padding = timedPacket(false);
    padding[15] = 0xbe; // padding_stream has no optional header
    expect(readPts(padding, 0)).toBe(-1);
  });
});

describe('shiftTimestamps', () => {
  it('shifts PCR, PTS and DTS together and leaves the PCR extension', () => {
    const p = timedPacket(true);
    writePcr(p, 0, 1_000, 123);
    writePts(p, 0, 64_000);
    writeDts(p, 0, 60_400);
    shiftTimestamps(p, 0, 288_000);
    expect(readPcrBase(p, 0)).toBe(289_000);
    expect(readPcrExtension(p, 0)).toBe(123);
    expect(readPts(p, 0)).toBe(352_000);
    expect(readDts(p, 0)).toBe(348_400);
  });

  it('wraps mod 2^33', () => {
    const p = timedPacket(true);
    writePcr(p, 0, TIMESTAMP_WRAP - 100);
    writePts(p, 0, TIMESTAMP_WRAP - 50);
    writeDts(p, 0, TIMESTAMP_WRAP - 60);
    shiftTimestamps(p, 0, 200);
    expect(readPcrBase(p, 0)).toBe(100);
    expect(readPts(p, 0)).toBe(150);
    expect(readDts(p, 0)).toBe(140);
    shiftTimestamps(p, 0, -200);
    expect(readPts(p, 0)).toBe(TIMESTAMP_WRAP - 50);
  });

  it('leaves a packet without timestamps byte for byte', () => {
    const p = Buffer.alloc(PACKET_SIZE, 0x5a);
    Buffer.from([0x47, 0x01, 0x01, 0x17]).copy(p);
    const copy = Buffer.from(p);
    shiftTimestamps(p, 0, 12345);
    expect(p).toEqual(copy);
  });
});
