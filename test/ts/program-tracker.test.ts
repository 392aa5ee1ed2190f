import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_PATH } from '../../src/ts/clip.ts';
import { PACKET_SIZE, pidOf } from '../../src/ts/packet.ts';
import { crc32Mpeg2 } from '../../src/ts/crc32.ts';
import {
  PACKET_PAT,
  PACKET_PMT,
  PACKET_RAP,
  ProgramTracker,
  isRandomAccessStart,
} from '../../src/ts/program-tracker.ts';

const clip = readFileSync(DEFAULT_CLIP_PATH);

/** A PUSI video packet whose PES payload (after a 5-byte PTS header) starts with `es`. */
function videoPes(es: number[]): Buffer {
  const p = Buffer.alloc(PACKET_SIZE, 0xee);
  Buffer.from([0x47, 0x41, 0x00, 0x10, 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1]).copy(p);
  Buffer.from(es).copy(p, 18);
  return p;
}

const AUD = [0, 0, 0, 1, 0x09, 0xf0];
const h264 = (type: number) => [0, 0, 0, 1, type, 0x88, 0x80];
const hevc = (type: number) => [0, 0, 0, 1, type << 1, 0x01, 0xaf];

describe('ProgramTracker on the fixture clip', () => {
  it('learns the program from PAT and PMT', () => {
    const tracker = new ProgramTracker();
    expect(tracker.program).toBeNull();
    tracker.scan(clip);
    expect(tracker.program).toEqual({
      programNumber: 1,
      pmtPid: 0x1000,
      pcrPid: 0x100,
      videoPid: 0x100,
      videoCodec: 'h264',
      streams: [
        { streamType: 0x1b, pid: 0x100, kind: 'video', codec: 'h264' },
        { streamType: 0x0f, pid: 0x101, kind: 'audio', codec: 'aac' },
      ],
    });
  });

  it('finds every PAT and one random-access point per second of video', () => {
    const tracker = new ProgramTracker();
    const seen: Array<[number, number]> = [];
    const { pats, raps } = tracker.scan(clip, (flags, off) => seen.push([flags, off]));
    expect(pats.length).toBe(29);
    expect(pats.every((off) => pidOf(clip, off) === 0)).toBe(true);
    expect(raps.length).toBe(4); // 3.2 s, a keyframe every second
    expect(raps.every((off) => pidOf(clip, off) === 0x100)).toBe(true);
    // Each keyframe directly follows a PAT and a PMT.
    for (const rap of raps) {
      expect(seen.find(([, off]) => off === rap - PACKET_SIZE)?.[0]).toBe(PACKET_PMT);
      expect(seen.find(([, off]) => off === rap - 2 * PACKET_SIZE)?.[0]).toBe(PACKET_PAT);
    }
    expect(seen.filter(([flags]) => flags === PACKET_RAP).map(([, off]) => off)).toEqual(raps);
  });

  it('gives the same answers packet by packet as a whole buffer at a time', () => {
    const a = new ProgramTracker();
    const b = new ProgramTracker();
    const whole = a.scan(clip);
    const raps: number[] = [];
    for (let off = 0; off < clip.length; off += PACKET_SIZE) if (b.classify(clip, off) & PACKET_RAP) raps.push(off);
    expect(raps).toEqual(whole.raps);
  });

  it('keeps the program object while the program stays the same', () => {
    const tracker = new ProgramTracker();
    tracker.scan(clip.subarray(0, 10 * PACKET_SIZE));
    const first = tracker.program;
    tracker.scan(clip);
    expect(tracker.program).toBe(first);
  });

  it('does not flag a corrupt PAT', () => {
    const tracker = new ProgramTracker();
    const pat = Buffer.from(clip.subarray(PACKET_SIZE, 2 * PACKET_SIZE));
    expect(tracker.classify(pat, 0)).toBe(PACKET_PAT);
    pat[10] = pat[10]! ^ 0x01;
    expect(tracker.classify(pat, 0)).toBe(0);
  });

  it('takes a repeated PAT or PMT from its bytes, and still learns a changed one or refuses a damaged one', () => {
    const tracker = new ProgramTracker();
    tracker.scan(clip);
    const program = tracker.program!;
    const patAt = [...Array(clip.length / PACKET_SIZE).keys()].map((i) => i * PACKET_SIZE).find((o) => pidOf(clip, o) === 0)!;
    const pmtAt = [...Array(clip.length / PACKET_SIZE).keys()].map((i) => i * PACKET_SIZE).find((o) => pidOf(clip, o) === 0x1000)!;
    const pat = Buffer.from(clip.subarray(patAt, patAt + PACKET_SIZE));
    const pmt = Buffer.from(clip.subarray(pmtAt, pmtAt + PACKET_SIZE));
    // Another continuity counter, the same section: a repeat.
    pat[3] = (pat[3]! & 0xf0) | ((pat[3]! + 5) & 0x0f);
    expect(tracker.classify(pat, 0)).toBe(PACKET_PAT);
    expect(tracker.classify(pmt, 0)).toBe(PACKET_PMT);
    expect(tracker.program).toBe(program);
    // The audio stream becomes MP2 (a new PMT version with a valid CRC): learnt at once.
    const changed = Buffer.from(pmt);
    const start = 5 + changed[4]!;
    const end = start + 3 + (((changed[start + 1]! & 0x0f) << 8) | changed[start + 2]!);
    const audio = changed.indexOf(Buffer.from([0x0f, 0xe1, 0x01]), start);
    changed[audio] = 0x03;
    changed.writeUInt32BE(crc32Mpeg2(changed, start, end - 4) >>> 0, end - 4);
    expect(tracker.classify(changed, 0)).toBe(PACKET_PMT);
    expect(tracker.program!.streams.find((s) => s.pid === 0x101)).toMatchObject({ kind: 'audio', codec: 'mp2' });
    // A repeat damaged on the way (its CRC no longer matches) is neither flagged nor learnt.
    const damaged = Buffer.from(changed);
    damaged[audio] = 0x0f;
    expect(tracker.classify(damaged, 0)).toBe(0);
    expect(tracker.program!.streams.find((s) => s.pid === 0x101)?.codec).toBe('mp2');
  });

  it('starts over after reset', () => {
    const tracker = new ProgramTracker();
    tracker.scan(clip);
    tracker.reset();
    expect(tracker.program).toBeNull();
    expect(tracker.classify(clip, 3 * PACKET_SIZE)).toBe(0);
  });
});

describe('isRandomAccessStart', () => {
  it('accepts the random_access_indicator alone', () => {
    const p = Buffer.alloc(PACKET_SIZE, 0xff);
    Buffer.from([0x47, 0x41, 0x00, 0x30, 1, 0x40]).copy(p);
    expect(isRandomAccessStart(p, 0, 'h264')).toBe(true);
  });

  it('finds an H.264 IDR behind an access unit delimiter', () => {
    expect(isRandomAccessStart(videoPes([...AUD, ...h264(5)]), 0, 'h264')).toBe(true);
    expect(isRandomAccessStart(videoPes([...AUD, ...h264(1)]), 0, 'h264')).toBe(false);
  });

  it('counts an SPS as a start when no non-IDR slice follows in the packet', () => {
    expect(isRandomAccessStart(videoPes([...AUD, ...h264(7), ...h264(8), ...h264(6)]), 0, 'h264')).toBe(true);
    expect(isRandomAccessStart(videoPes([...AUD, ...h264(7), ...h264(1)]), 0, 'h264')).toBe(false);
  });

  it('knows HEVC IRAP types 16–21', () => {
    for (const type of [16, 19, 20, 21]) expect(isRandomAccessStart(videoPes(hevc(type)), 0, 'hevc')).toBe(true);
    expect(isRandomAccessStart(videoPes([...hevc(35), ...hevc(1)]), 0, 'hevc')).toBe(false);
    expect(isRandomAccessStart(videoPes([...hevc(32), ...hevc(33), ...hevc(34)]), 0, 'hevc')).toBe(true);
  });

  it('knows the MPEG-2 sequence header', () => {
    expect(isRandomAccessStart(videoPes([0, 0, 1, 0xb3, 0x14]), 0, 'mpeg2video')).toBe(true);
    expect(isRandomAccessStart(videoPes([0, 0, 1, 0x00, 0x14]), 0, 'mpeg2video')).toBe(false);
  });

  it('needs a PES start', () => {
    const p = videoPes([...AUD, ...h264(5)]);
    p[1] = 0x01;
    const tracker = new ProgramTracker();
    tracker.scan(clip);
    expect(tracker.classify(p, 0)).toBe(0);
  });
});
