import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_PATH, TIMED_PCR, TIMED_PES, loadClip, parseClip } from '../../src/ts/clip.ts';
import { NULL_PID, PACKET_SIZE, nullPacket, pidOf } from '../../src/ts/packet.ts';
import { PACKET_PAT, PACKET_PMT, PACKET_RAP, ProgramTracker } from '../../src/ts/program-tracker.ts';
import { parsePat, parsePmt } from '../../src/ts/psi.ts';
import { readPcrBase, readPts } from '../../src/ts/timestamps.ts';

const dir = mkdtempSync(join(tmpdir(), 'acerelay-clip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the fixture clip', () => {
  const clip = loadClip();

  it('is cached per path', () => {
    expect(loadClip()).toBe(clip);
    expect(loadClip(DEFAULT_CLIP_PATH)).toBe(clip);
  });

  it('loops every 3.2 s: 80 video frames and 150 AAC frames tile it exactly', () => {
    expect(clip.packetCount * PACKET_SIZE).toBe(clip.data.length);
    expect(clip.loopTicks).toBe(288_000);
    expect(clip.program.videoCodec).toBe('h264');
    expect(clip.program.streams.map((s) => s.codec)).toEqual(['h264', 'aac']);
  });

  it('has due times that rise through one loop and meet the next', () => {
    const { due, loopTicks } = clip;
    for (let i = 1; i < due.length; i++) expect(due[i]!).toBeGreaterThan(due[i - 1]!);
    expect(due[due.length - 1]!).toBeLessThan(loopTicks + due[0]!);
    expect(due[0]!).toBeLessThanOrEqual(0);
    // Due time 0 is the first PCR, and PCR packets are due at their PCR.
    for (let i = 0; i < clip.packetCount; i++) {
      const pcr = readPcrBase(clip.data, i * PACKET_SIZE);
      if (pcr >= 0) expect(due[i]).toBeCloseTo(pcr - clip.pcrOrigin, 6);
    }
  });

  it('marks the packets a loop shift must touch', () => {
    for (let i = 0; i < clip.packetCount; i++) {
      const off = i * PACKET_SIZE;
      expect((clip.timed[i]! & TIMED_PCR) !== 0).toBe(readPcrBase(clip.data, off) >= 0);
      expect((clip.timed[i]! & TIMED_PES) !== 0).toBe(readPts(clip.data, off) >= 0);
    }
  });

  it('starts sessions at PAT, PMT, keyframe once a second', () => {
    const tracker = new ProgramTracker();
    const flags = Array.from({ length: clip.packetCount }, (_, i) => tracker.classify(clip.data, i * PACKET_SIZE));
    expect(clip.syncPoints.length).toBe(4);
    for (const point of clip.syncPoints) {
      expect(point.needsPsi).toBe(false);
      expect(flags[point.index]).toBe(PACKET_PAT);
      expect(flags[point.index + 1]).toBe(PACKET_PMT);
      expect(point.keyframe).toBe(point.index + 2);
      expect(flags[point.keyframe]).toBe(PACKET_RAP);
      expect(point.due).toBe(clip.due[point.index]);
    }
    const seconds = clip.syncPoints.map((p) => clip.due[p.keyframe]! / 90_000);
    for (let i = 1; i < seconds.length; i++) expect(seconds[i]! - seconds[i - 1]!).toBeCloseTo(1, 1);
  });

  it('keeps a PAT and a PMT to put in front of a keyframe', () => {
    expect(clip.psi.length).toBe(2 * PACKET_SIZE);
    expect(parsePat(clip.psi, 0)?.programs[0]?.pmtPid).toBe(0x1000);
    expect(parsePmt(clip.psi, PACKET_SIZE)?.pcrPid).toBe(0x100);
  });
});

describe('parseClip', () => {
  it('starts at the keyframe behind a PSI copy when the clip has no PAT + PMT before it', () => {
    const data = Buffer.from(loadClip().data);
    const second = loadClip().syncPoints[1]!;
    for (const i of [second.index, second.index + 1]) nullPacket().copy(data, i * PACKET_SIZE);
    const clip = parseClip(data);
    const point = clip.syncPoints[1]!;
    expect(point.needsPsi).toBe(true);
    expect(point.index).toBe(point.keyframe);
    expect(pidOf(data, (point.keyframe - 1) * PACKET_SIZE)).toBe(NULL_PID);
  });

  it('rejects what it cannot loop', () => {
    expect(() => parseClip(Buffer.alloc(100))).toThrow(/188/);
    expect(() => parseClip(Buffer.alloc(188))).toThrow(/sync/);
    const onlyNulls = Buffer.concat([nullPacket(), nullPacket()]);
    expect(() => parseClip(onlyNulls)).toThrow(/PAT/);
  });

  it('lets L cover audio that runs one frame past the video', () => {
    // The command from the spec, without trimming the audio: 151 AAC frames against 80 video frames.
    const path = join(dir, 'untrimmed.mpegts');
    execFileSync('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3.2',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-keyint_min', '25',
      '-sc_threshold', '0', '-b:v', '300k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
      '-f', 'mpegts', '-mpegts_flags', '+resend_headers', '-y', path,
    ]);
    const clip = parseClip(readFileSync(path));
    expect(clip.loopTicks).toBe(288_000 + 1920);
  });
});
