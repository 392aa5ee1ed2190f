import { describe, expect, it } from 'vitest';
import { crc32Mpeg2 } from '../../src/ts/crc32.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';
import { parsePat, parsePmt, sectionBounds, streamTypeInfo } from '../../src/ts/psi.ts';

function sectionPacket(pid: number, section: Buffer, pointer = 0): Buffer {
  const p = Buffer.alloc(PACKET_SIZE, 0xff);
  p[0] = 0x47;
  p[1] = 0x40 | (pid >> 8);
  p[2] = pid & 0xff;
  p[3] = 0x10;
  p[4] = pointer;
  section.copy(p, 5 + pointer);
  return p;
}

function withCrc(body: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32Mpeg2(body));
  return Buffer.concat([body, crc]);
}

const FFMPEG_PAT = Buffer.from('00b00d0001c100000001f0002ab104b2', 'hex');
const FFMPEG_PMT = Buffer.from('02b0170001c10000e100f0001be100f0000fe101f0002f44b99b', 'hex');

describe('PAT', () => {
  it('maps programs to PMT PIDs', () => {
    expect(parsePat(sectionPacket(0, FFMPEG_PAT), 0)).toEqual({
      transportStreamId: 1,
      version: 0,
      programs: [{ programNumber: 1, pmtPid: 0x1000 }],
    });
  });

  it('skips the network PID entry and honours the pointer_field', () => {
    const body = Buffer.from('00b0110007c30000' + '0000e010' + '0003e064', 'hex');
    const pat = parsePat(sectionPacket(0, withCrc(body), 3), 0);
    expect(pat).toEqual({ transportStreamId: 7, version: 1, programs: [{ programNumber: 3, pmtPid: 0x64 }] });
  });

  it('rejects a corrupt CRC, a missing PUSI and a section longer than the packet', () => {
    const bad = Buffer.from(FFMPEG_PAT);
    bad[9] = bad[9]! ^ 1;
    expect(parsePat(sectionPacket(0, bad), 0)).toBeNull();
    const noStart = sectionPacket(0, FFMPEG_PAT);
    noStart[1] = 0x00;
    expect(parsePat(noStart, 0)).toBeNull();
    const long = Buffer.from(FFMPEG_PAT);
    long[1] = 0xb0 | 0x0f;
    long[2] = 0xff;
    expect(sectionBounds(sectionPacket(0, long), 0)).toBeNull();
  });

  it('does not read a PMT as a PAT', () => {
    expect(parsePat(sectionPacket(0x1000, FFMPEG_PMT), 0)).toBeNull();
  });
});

describe('PMT', () => {
  it('lists the PCR PID and the elementary streams with their kinds', () => {
    expect(parsePmt(sectionPacket(0x1000, FFMPEG_PMT), 0)).toEqual({
      programNumber: 1,
      version: 0,
      pcrPid: 0x100,
      streams: [
        { streamType: 0x1b, pid: 0x100, kind: 'video', codec: 'h264' },
        { streamType: 0x0f, pid: 0x101, kind: 'audio', codec: 'aac' },
      ],
    });
  });

  it('skips program info and ES descriptors', () => {
    // program_info: an ISO 639 descriptor; then HEVC with another, AC-3, and teletext.
    const body = Buffer.from(
      '02b000' + '0002c10000' + 'e200' + 'f006' + '0a04656e6700' +
        '24e200f006' + '0a0465737400' + '81e201f000' + '06e202f000',
      'hex',
    );
    body[2] = body.length - 3 + 4;
    const pmt = parsePmt(sectionPacket(0x20, withCrc(body)), 0);
    expect(pmt?.programNumber).toBe(2);
    expect(pmt?.pcrPid).toBe(0x200);
    expect(pmt?.streams.map((s) => [s.pid, s.codec, s.kind])).toEqual([
      [0x200, 'hevc', 'video'],
      [0x201, 'ac3', 'audio'],
      [0x202, '0x06', 'other'],
    ]);
  });
});

describe('stream types', () => {
  it('knows the common video and audio codecs', () => {
    expect(streamTypeInfo(0x02)).toEqual({ kind: 'video', codec: 'mpeg2video' });
    expect(streamTypeInfo(0x24)).toEqual({ kind: 'video', codec: 'hevc' });
    expect(streamTypeInfo(0x11)).toEqual({ kind: 'audio', codec: 'aac_latm' });
    expect(streamTypeInfo(0x03).codec).toBe('mp2');
    expect(streamTypeInfo(0x04).codec).toBe('mp2');
    expect(streamTypeInfo(0x81).codec).toBe('ac3');
  });
});
