/**
 * A program without video (a radio channel), made by ffmpeg: the segmenter cuts it at a PAT
 * once the target duration of audio has passed, timed by the audio PID.
 */
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { Channel } from '../../src/fanout/channel.ts';
import { HlsSegmenter, type HlsSegment } from '../../src/fanout/hls-segmenter.ts';
import { PACKET_SIZE, PAT_PID, pidOf } from '../../src/ts/packet.ts';
import { checkStream } from '../ts/stream-check.ts';

test('an audio-only program is cut at PATs, each segment at least the target long and whole packets; back to back they are one valid stream', () => {
  const made = spawnSync(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '16', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-mpegts_flags', '+resend_headers', 'pipe:1'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  expect(made.status, made.stderr?.toString()).toBe(0);
  const ts = made.stdout;
  const channel = new Channel({ id: 'radio', bufferBytes: 16 * 1024 * 1024 });
  const segments: HlsSegment[] = [];
  const segmenter = new HlsSegmenter({ id: 'hls', targetMs: 2000, keep: 100, now: () => 0, onSegment: (s) => segments.push(s) });
  channel.beginUpstream();
  channel.attach(segmenter);
  for (let off = 0; off < ts.length; off += 4_096) channel.push(ts.subarray(off, off + 4_096));
  expect(segments.length).toBeGreaterThanOrEqual(4);
  for (const s of segments) {
    expect(s.data.length % PACKET_SIZE).toBe(0);
    expect(pidOf(s.data, 0)).toBe(PAT_PID);
    expect(s.durationS).toBeGreaterThanOrEqual(2);
    // Cut at the first PAT at or after the target: ffmpeg puts one before every audio PES
    // (32 AAC frames, 0.68 s), so no later than one PES past it.
    expect(s.durationS).toBeLessThan(2 + 0.683);
  }
  expect(checkStream(Buffer.concat(segments.map((s) => s.data))).problems).toEqual([]);
});
