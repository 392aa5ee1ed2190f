import { describe, expect, it } from 'vitest';
import { crc32Mpeg2 } from '../../src/ts/crc32.ts';

describe('crc32Mpeg2', () => {
  it('matches the CRC-32/MPEG-2 check value', () => {
    expect(crc32Mpeg2(Buffer.from('123456789'))).toBe(0x0376e6e7);
  });

  it('reproduces the CRC of a known PAT section', () => {
    // ffmpeg's PAT: transport_stream_id 1, program 1 → PMT PID 0x1000.
    const section = Buffer.from('00b00d0001c100000001f000', 'hex');
    expect(crc32Mpeg2(section)).toBe(0x2ab104b2);
  });

  it('gives 0 over a section followed by its own CRC', () => {
    const pmt = Buffer.from('02b0170001c10000e100f0001be100f0000fe101f0002f44b99b', 'hex');
    expect(crc32Mpeg2(pmt)).toBe(0);
    expect(crc32Mpeg2(pmt, 0, pmt.length - 4)).toBe(0x2f44b99b);
  });

  it('honours start and end', () => {
    const padded = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from('123456789'), Buffer.from([9])]);
    expect(crc32Mpeg2(padded, 3, 12)).toBe(0x0376e6e7);
  });
});
