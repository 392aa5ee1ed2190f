/** The HLS segmenter on a real channel fed with the simulator's live stream (unpaced, in odd-sized chunks). */
import { describe, expect, it } from 'vitest';
import HLS from 'hls-parser';
import { ManualClock } from '../../src/clock.ts';
import { Channel } from '../../src/fanout/channel.ts';
import { HlsSegmenter, type HlsSegment } from '../../src/fanout/hls-segmenter.ts';
import { renderPlaylist } from '../../src/fanout/hls-playlist.ts';
import { createLiveStream } from '../../src/ts/live-stream.ts';
import { PACKET_SIZE, PAT_PID, hasPayload, isDiscontinuity, pidOf } from '../../src/ts/packet.ts';
import { PACKET_PAT, PACKET_PMT, PACKET_RAP, ProgramTracker } from '../../src/ts/program-tracker.ts';
import { checkStream, collect } from '../ts/stream-check.ts';
import type { OutChunk } from '../../src/fanout/out-chunk.ts';
import type { PlayerSink } from '../../src/fanout/player-sink.ts';

HLS.setOptions({ strictMode: true });

const MiB = 1024 * 1024;
/** The simulator's clip: a keyframe every second (and one 0.2 s GOP per 3.2 s loop). */
const GOP_S = 1;

async function liveBytes(positionMs: number, bytes: number): Promise<Buffer> {
  return collect(createLiveStream({ clock: new ManualClock(1_700_000_000_000), bitrate: 0, positionMs, burstMs: 0 }), bytes);
}

/** Pushes `data` into the channel in uneven chunks (never packet-aligned), as an engine's socket would. */
function feed(channel: Channel, data: Buffer): void {
  const sizes = [7001, 1316, 65_536, 188 * 3 + 5, 20_000];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    channel.push(data.subarray(off, off + n));
    off += n;
  }
}

function setup(keep = 100) {
  const channel = new Channel({ id: 'c', bufferBytes: 16 * MiB });
  const segments: HlsSegment[] = [];
  const segmenter = new HlsSegmenter({ id: 'hls', targetMs: 2000, keep, now: () => 1_700_000_000_000, onSegment: (s) => segments.push(s) });
  channel.beginUpstream();
  channel.attach(segmenter);
  return { channel, segmenter, segments };
}

/**
 * Flags of the first `n` packets that carry a payload (PAT, PMT, RAP), read with a fresh
 * tracker as a player joining at this segment has (adaptation-only packets that only flag a
 * discontinuity are skipped).
 */
function firstPackets(seg: HlsSegment, n: number): number[] {
  const tracker = new ProgramTracker();
  const out: number[] = [];
  for (let off = 0; out.length < n && off < seg.data.length; off += PACKET_SIZE) {
    const flags = tracker.classify(seg.data, off);
    if (hasPayload(seg.data, off)) out.push(flags);
  }
  return out;
}

describe('HlsSegmenter', () => {
  it('cuts whole-packet segments at the first keyframe at or after the target, each starting with PAT, PMT and the keyframe', async () => {
    const { channel, segmenter, segments } = setup();
    feed(channel, await liveBytes(10_000, 6 * MiB));
    expect(segments.length).toBeGreaterThanOrEqual(8);
    for (const [i, s] of segments.entries()) {
      expect(s.seq).toBe(i);
      expect(s.discontinuity).toBe(false);
      expect(s.data.length % PACKET_SIZE).toBe(0);
      expect(firstPackets(s, 3)).toEqual([PACKET_PAT, PACKET_PMT, PACKET_RAP]);
      expect(s.durationS).toBeGreaterThanOrEqual(2);
      expect(s.durationS).toBeLessThanOrEqual(2 + GOP_S);
    }
    // Read back to back they are one valid stream: counters (the PSI copies are legal
    // duplicates) and timestamps run on.
    expect(checkStream(Buffer.concat(segments.map((s) => s.data))).problems).toEqual([]);
    // The open segment counts too (memory), beyond the complete ones.
    expect(segmenter.bytes).toBeGreaterThan(segments.reduce((n, s) => n + s.data.length, 0));
  });

  it('keeps only `keep` segments; older ones are gone, newer ones not yet there', async () => {
    const { channel, segmenter, segments } = setup(3);
    feed(channel, await liveBytes(10_000, 4 * MiB));
    expect(segments.length).toBeGreaterThan(4);
    expect(segmenter.window.map((s) => s.seq)).toEqual(segments.slice(-3).map((s) => s.seq));
    const newest = segments.at(-1)!.seq;
    expect(segmenter.segment(newest)).toBe(segments.at(-1));
    expect(segmenter.segment(newest - 3)).toBeUndefined();
    expect(segmenter.segment(newest + 1)).toBeUndefined();
    expect(segmenter.bytes).toBeGreaterThanOrEqual(segmenter.window.reduce((n, s) => n + s.data.length, 0));
  });

  it('a seam ends the current segment and marks the next, which starts with the new upstream PAT (discontinuous), PMT and keyframe', async () => {
    const { channel, segments } = setup();
    feed(channel, await liveBytes(10_000, 2 * MiB));
    const before = segments.length;
    expect(before).toBeGreaterThan(2);
    channel.beginUpstream();
    // Another engine, another position in the loop: its timestamps jump (the channel splices them).
    feed(channel, await liveBytes(47_300, 2 * MiB));
    const marked = segments.filter((s) => s.discontinuity);
    expect(marked.length).toBe(1);
    const seam = marked[0]!;
    // The segment the seam cut is complete (no keyframe after it) and ends at the seam.
    expect(seam.seq).toBe(before + 1);
    expect(firstPackets(seam, 3)).toEqual([PACKET_PAT, PACKET_PMT, PACKET_RAP]);
    expect(pidOf(seam.data, 0)).toBe(PAT_PID);
    expect(isDiscontinuity(seam.data, 0)).toBe(true);
    for (const s of segments) expect(s.discontinuitySeq).toBe(s.seq >= seam.seq ? 1 : 0);
    for (const s of segments.filter((x) => x.seq > seam.seq).slice(0, -1)) expect(firstPackets(s, 3)).toEqual([PACKET_PAT, PACKET_PMT, PACKET_RAP]);
    // Across the seam the bytes are one stream a player reads through.
    expect(checkStream(Buffer.concat(segments.map((s) => s.data))).problems).toEqual([]);
  });

  // Upstream writes of 150 kB: every send spans three slabs or more (a chain of parts).
  it.each([20_000, 150_000])('beside players sharing the channel\'s slabs (upstream writes of %i bytes): segments keep their own bytes (the slabs are reused under them), seams still cut, no slab kept for it', async (step) => {
    /** A player whose socket takes everything at once; it records a copy of what it was sent. */
    class Taker implements PlayerSink {
      readonly parts: Buffer[] = [];
      constructor(readonly id: string) {}
      write(chunk: OutChunk): void {
        for (let c: OutChunk | null = chunk; c; c = c.next) this.parts.push(Buffer.from(c.data));
      }
      backlog = () => 0;
      flushed = () => 0;
      drop(): void {}
    }
    const run = async (withHls: boolean) => {
      const channel = new Channel({ id: 'c', bufferBytes: 16 * MiB });
      const segments: HlsSegment[] = [];
      const players = [new Taker('a'), new Taker('b'), new Taker('c')];
      channel.beginUpstream();
      for (const p of players) channel.attach(p);
      if (withHls) channel.attach(new HlsSegmenter({ id: 'hls', targetMs: 2000, keep: 100, now: () => 0, onSegment: (x) => segments.push(x) }));
      let most = 0;
      const watch = (data: Buffer) => {
        for (let off = 0; off < data.length; off += step) {
          channel.push(data.subarray(off, off + step));
          most = Math.max(most, channel.bufferedBytes);
        }
      };
      watch(await liveBytes(10_000, 6 * MiB));
      channel.flush();
      channel.beginUpstream();
      watch(await liveBytes(47_300, 6 * MiB));
      channel.flush();
      channel.close();
      return { segments, most, sent: Buffer.concat(players[0]!.parts) };
    };
    const { segments, most, sent } = await run(true);
    expect(segments.length).toBeGreaterThanOrEqual(8);
    expect(segments.filter((s) => s.discontinuity).length).toBe(1);
    expect(checkStream(Buffer.concat(segments.map((s) => s.data))).problems).toEqual([]);
    // After its PAT and PMT copies, a segment is the very bytes the players were sent.
    for (const s of segments.filter((x) => !x.discontinuity)) {
      expect(firstPackets(s, 3)).toEqual([PACKET_PAT, PACKET_PMT, PACKET_RAP]);
      expect(sent.indexOf(s.data.subarray(2 * PACKET_SIZE))).toBeGreaterThanOrEqual(0);
    }
    // The channel holds no more with the segmenter than without it.
    expect(most).toBe((await run(false)).most);
  });

  it('renders a playlist hls-parser accepts: sliding window, one discontinuity at the seam, its sequence counted once it slid out', async () => {
    const { channel, segmenter } = setup(4);
    const render = () =>
      HLS.parse(renderPlaylist({ window: segmenter.window, listed: 3, targetS: 2, longestS: segmenter.longestS, uri: (seq) => `hls/t/${seq}.ts?id=x` })) as HLS.types.MediaPlaylist;
    feed(channel, await liveBytes(10_000, 2 * MiB));
    const a = render();
    expect(a.isMasterPlaylist).toBe(false);
    expect(a.segments.length).toBe(3);
    expect(a.mediaSequenceBase).toBe(segmenter.window.at(-3)!.seq);
    expect(a.discontinuitySequenceBase).toBe(0);
    for (const s of a.segments) expect(Math.round(s.duration)).toBeLessThanOrEqual(a.targetDuration);
    channel.beginUpstream();
    const next = await liveBytes(47_300, 4 * MiB);
    feed(channel, next.subarray(0, 200_000));
    const b = render();
    expect(b.segments.filter((s) => s.discontinuity).length).toBe(1);
    feed(channel, next.subarray(200_000));
    const c = render();
    // The seam slid out of the listing: its mark is now counted in the sequence.
    expect(c.segments.some((s) => s.discontinuity)).toBe(false);
    expect(c.discontinuitySequenceBase).toBe(1);
    expect(c.segments[0]!.uri).toBe(`hls/t/${c.mediaSequenceBase}.ts?id=x`);
  });
});
