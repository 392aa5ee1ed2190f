import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.ts';
import { loadClip, parseClip } from '../../src/ts/clip.ts';
import type { Clip } from '../../src/ts/clip.ts';
import { createLiveStream } from '../../src/ts/live-stream.ts';
import type { LiveStream, LiveStreamOptions } from '../../src/ts/live-stream.ts';
import { NULL_PID, PACKET_SIZE, nullPacket, pidOf } from '../../src/ts/packet.ts';
import { PACKET_PAT, PACKET_PMT, PACKET_RAP, ProgramTracker } from '../../src/ts/program-tracker.ts';
import { diff33, readPcrBase, readPts, wrap33 } from '../../src/ts/timestamps.ts';
import { checkStream, collect } from './stream-check.ts';

const clip = loadClip();
const BITRATE = 2_500_000;
const T0 = 1_700_000_000_000;

const open: LiveStream[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

function stream(options: LiveStreamOptions): LiveStream {
  const s = createLiveStream(options);
  open.push(s);
  return s;
}

/** A live position whose burst starts exactly (to the ms) at sync point `point` of loop `loop`. */
function positionAt(loop: number, point: number, burstMs: number, c: Clip = clip): { positionMs: number; startTick: number } {
  const startTick = loop * c.loopTicks + c.syncPoints[point]!.due;
  return { positionMs: Math.ceil(startTick / 90) + burstMs, startTick };
}

/** Bytes the wire carries from `startTick` to the live position `positionMs` plus `ms`. */
function wireBytes(startTick: number, positionMs: number, ms: number): number {
  return ((positionMs * 90 + ms * 90 - startTick) * BITRATE) / (8 * 90_000);
}

function counting(s: LiveStream): { bytes: () => number; data: () => Buffer } {
  const parts: Buffer[] = [];
  let bytes = 0;
  s.on('data', (chunk: Buffer) => {
    parts.push(chunk);
    bytes += chunk.length;
  });
  return { bytes: () => bytes, data: () => Buffer.concat(parts) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function classifyStart(buf: Buffer, packets: number): number[] {
  const tracker = new ProgramTracker();
  return Array.from({ length: packets }, (_, i) => tracker.classify(buf, i * PACKET_SIZE));
}

describe('createLiveStream: content', () => {
  it('loops the clip endlessly with valid packets, counters and rising timestamps', async () => {
    const s = stream({ clock: systemClock, bitrate: 0, positionMs: T0 });
    const buf = await collect(s, Math.ceil(3.5 * clip.data.length));
    const report = checkStream(buf);
    expect(report.problems).toEqual([]);
    expect(report.nullPackets).toBe(0);
    expect(report.pcrSpan).toBeGreaterThan(3 * clip.loopTicks);
    expect(classifyStart(buf, 3)).toEqual([PACKET_PAT, PACKET_PMT, PACKET_RAP]);

    // No gap and no overlap at the seams: every video frame 40 ms after the last, audio on its frame grid.
    const steps = new Map<number, Set<number>>();
    const last = new Map<number, number>();
    for (let off = 0; off < buf.length; off += PACKET_SIZE) {
      const pts = readPts(buf, off);
      if (pts < 0) continue;
      const pid = pidOf(buf, off);
      const prev = last.get(pid);
      if (prev !== undefined) {
        if (!steps.has(pid)) steps.set(pid, new Set());
        steps.get(pid)!.add(diff33(prev, pts));
      }
      last.set(pid, pts);
    }
    expect([...steps.get(0x100)!]).toEqual([3600]);
    expect([...steps.get(0x101)!].every((d) => d > 0 && d % 1920 === 0)).toBe(true);
  });

  it('adds k·L to the timestamps of loop k', async () => {
    const loop = 12;
    const { positionMs } = positionAt(loop, 0, 0);
    const s = stream({ clock: systemClock, bitrate: 0, positionMs, burstMs: 0 });
    const buf = await collect(s, clip.data.length + 10 * PACKET_SIZE);
    const firstPcr = (b: Buffer) => {
      for (let off = 0; ; off += PACKET_SIZE) if (readPcrBase(b, off) >= 0) return readPcrBase(b, off);
    };
    expect(diff33(firstPcr(clip.data), firstPcr(buf))).toBe(loop * clip.loopTicks);
    const nextLoop = buf.subarray((clip.packetCount - clip.syncPoints[0]!.index) * PACKET_SIZE);
    expect(diff33(firstPcr(clip.data), firstPcr(nextLoop))).toBe((loop + 1) * clip.loopTicks);
  });

  it('crosses the 2^33 wrap cleanly', async () => {
    // 2^33 ticks ≈ 95 443 717 ms: start a few seconds before the wrap.
    const s = stream({ clock: systemClock, bitrate: 0, positionMs: 95_440_000 });
    const buf = await collect(s, 3 * clip.data.length);
    expect(checkStream(buf).problems).toEqual([]);
  });

  it('shows the same point to sessions started together, and another point later', async () => {
    const clock = new ManualClock(T0);
    const a = await collect(stream({ clock, bitrate: 0 }), 100_000);
    const b = await collect(stream({ clock, bitrate: 0, positionMs: T0 }), 100_000);
    expect(a.subarray(0, 100_000).equals(b.subarray(0, 100_000))).toBe(true);
    const later = await collect(stream({ clock, bitrate: 0, positionMs: T0 + 1500 }), 100_000);
    expect(later.subarray(0, 100_000).equals(a.subarray(0, 100_000))).toBe(false);
  });

  it('puts a PAT + PMT copy before a keyframe the clip does not prefix', async () => {
    const data = Buffer.from(clip.data);
    const second = clip.syncPoints[1]!;
    for (const i of [second.index, second.index + 1]) nullPacket().copy(data, i * PACKET_SIZE);
    const stripped = parseClip(data);
    const { positionMs } = positionAt(3, 1, 2000, stripped);
    const buf = await collect(stream({ clock: systemClock, bitrate: 0, positionMs, clip: stripped }), 300_000);
    expect(classifyStart(buf, 3)).toEqual([PACKET_PAT, PACKET_PMT, PACKET_RAP]);
    expect(checkStream(buf).problems).toEqual([]);
  });
});

describe('createLiveStream: pacing', () => {
  it('sends the burst at once, then the bitrate in real time, stuffed with null packets', async () => {
    const clock = new ManualClock(T0);
    const { positionMs, startTick } = positionAt(1000, 2, 2000);
    const s = stream({ clock, bitrate: BITRATE, positionMs, burstMs: 2000 });
    const out = counting(s);
    await tick();
    expect(s.bytesOut).toBe(out.bytes());
    expect(Math.abs(out.bytes() - wireBytes(startTick, positionMs, 0))).toBeLessThanOrEqual(2 * PACKET_SIZE);
    expect(out.bytes()).toBeGreaterThanOrEqual((BITRATE / 8) * 2);
    for (const ms of [20, 500, 1000, 5000]) {
      await clock.advanceAsync(ms - (clock.now() - T0));
      expect(Math.abs(out.bytes() - wireBytes(startTick, positionMs, ms))).toBeLessThanOrEqual(2 * PACKET_SIZE);
      expect(clock.pending).toBe(1);
    }
    const report = checkStream(out.data());
    expect(report.problems).toEqual([]);
    expect(report.nullPackets).toBeGreaterThan(report.packets / 2);
  });

  it('sends unpaced the same packets as paced, loop after loop (one copy per run of packets, or per packet)', async () => {
    // Paced below the clip's own rate: no stuffing, each packet when it is due.
    const clock = new ManualClock(T0);
    const paced = counting(stream({ clock, bitrate: 100_000, positionMs: T0, burstMs: 1000 }));
    await tick();
    await clock.advanceAsync(6400);
    const one = paced.data();
    expect(one.length).toBeGreaterThan(2 * clip.data.length);
    const all = await collect(stream({ clock: new ManualClock(T0), bitrate: 0, positionMs: T0, burstMs: 1000 }), one.length);
    expect(all.subarray(0, one.length).equals(one)).toBe(true);
  });

  it('keeps content in real time when the clip needs more than the bitrate', async () => {
    const clock = new ManualClock(T0);
    const s = stream({ clock, bitrate: 100_000, positionMs: T0, burstMs: 1000 });
    const out = counting(s);
    await tick();
    await clock.advanceAsync(6400);
    const buf = out.data();
    const report = checkStream(buf);
    expect(report.problems).toEqual([]);
    expect(report.nullPackets).toBe(0);
    // About two loops of content (6.4 s) plus the burst, far above 100 kbit/s.
    const loops = buf.length / clip.data.length;
    expect(loops).toBeGreaterThan(2);
    expect(loops).toBeLessThan(2 + 2.4 / 3.2);
    // The last PCR sent sits within one PCR interval (80 ms) before the live position.
    let lastPcr = -1;
    for (let off = 0; off < buf.length; off += PACKET_SIZE) lastPcr = readPcrBase(buf, off) >= 0 ? readPcrBase(buf, off) : lastPcr;
    const behind = diff33(lastPcr, wrap33(clip.pcrOrigin + (T0 + 6400) * 90));
    expect(behind).toBeGreaterThanOrEqual(0);
    expect(behind).toBeLessThanOrEqual(80 * 90);
  });

  it('hold() stops the bytes and stream time; release() resumes where it stopped', async () => {
    const clock = new ManualClock(T0);
    const { positionMs, startTick } = positionAt(50, 0, 2000);
    const s = stream({ clock, bitrate: BITRATE, positionMs, burstMs: 2000 });
    const out = counting(s);
    await tick();
    await clock.advanceAsync(1000);
    s.hold();
    const held = out.bytes();
    expect(clock.pending).toBe(0);
    await clock.advanceAsync(3000);
    expect(out.bytes()).toBe(held);
    s.release();
    await clock.advanceAsync(1000);
    // Two seconds of stream time since the start, whatever the wall clock says.
    expect(Math.abs(out.bytes() - wireBytes(startTick, positionMs, 2000))).toBeLessThanOrEqual(2 * PACKET_SIZE);
    expect(checkStream(out.data()).problems).toEqual([]);
  });

  it('waits for the reader when it is full, then catches up', async () => {
    const clock = new ManualClock(T0);
    const { positionMs, startTick } = positionAt(7, 1, 2000);
    const s = stream({ clock, bitrate: BITRATE, positionMs, burstMs: 2000 });
    s.read(0);
    await tick();
    const stuck = s.bytesOut;
    expect(stuck).toBeGreaterThan(0);
    expect(stuck).toBeLessThan(wireBytes(startTick, positionMs, 0));
    expect(clock.pending).toBe(0);
    await clock.advanceAsync(1000);
    expect(s.bytesOut).toBe(stuck);
    const out = counting(s);
    await tick();
    await clock.advanceAsync(20);
    expect(Math.abs(out.bytes() - wireBytes(startTick, positionMs, 1020))).toBeLessThanOrEqual(2 * PACKET_SIZE);
    expect(checkStream(out.data()).problems).toEqual([]);
  });

  it('clears every timer on destroy', async () => {
    const clock = new ManualClock(T0);
    const s = stream({ clock, bitrate: BITRATE });
    counting(s);
    await tick();
    await clock.advanceAsync(100);
    expect(clock.pending).toBe(1);
    s.destroy();
    await tick();
    expect(clock.pending).toBe(0);
    const before = s.bytesOut;
    await clock.advanceAsync(1000);
    expect(s.bytesOut).toBe(before);
  });

  it('stops an unpaced stream on destroy', async () => {
    const s = stream({ clock: systemClock, bitrate: 0 });
    const out = counting(s);
    while (out.bytes() < 500_000) await tick();
    s.destroy();
    const after = out.bytes();
    for (let i = 0; i < 5; i++) await tick();
    expect(out.bytes()).toBe(after);
  });

  it('sends nothing but null packets and content', async () => {
    const clock = new ManualClock(T0);
    const s = stream({ clock, bitrate: BITRATE });
    const out = counting(s);
    await tick();
    await clock.advanceAsync(500);
    const buf = out.data();
    const pids = new Set<number>();
    for (let off = 0; off < buf.length; off += PACKET_SIZE) pids.add(pidOf(buf, off));
    expect([...pids].sort((a, b) => a - b)).toEqual([0x0000, 0x0011, 0x0100, 0x0101, 0x1000, NULL_PID]);
  });
});

describe('createLiveStream: fixed write size (an engine that writes N bytes at a time)', () => {
  function pieces(s: LiveStream): { sizes: number[]; data: () => Buffer; bytes: () => number } {
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    s.on('data', (chunk: Buffer) => {
      sizes.push(chunk.length);
      parts.push(chunk);
    });
    return { sizes, data: () => Buffer.concat(parts), bytes: () => sizes.reduce((a, b) => a + b, 0) };
  }

  for (const chunkBytes of [1316, 16_384, 65_536]) {
    it(`unpaced: the same bytes as the default, cut into pieces of exactly ${chunkBytes} (mid-packet too)`, async () => {
      const whole = await collect(stream({ clock: systemClock, bitrate: 0, positionMs: T0 }), 400_000);
      const s = stream({ clock: systemClock, bitrate: 0, positionMs: T0, chunkBytes });
      const out = pieces(s);
      while (out.bytes() < 300_000) await tick();
      expect(new Set(out.sizes)).toEqual(new Set([chunkBytes]));
      expect(out.data().equals(whole.subarray(0, out.bytes()))).toBe(true);
      expect(s.bytesOut).toBe(out.bytes());
    });
  }

  for (const chunkBytes of [1316, 16_384, 65_536]) {
    it(`paced: a ${chunkBytes}-byte piece goes out once its last byte is due, never earlier, never a piece late`, async () => {
      const clock = new ManualClock(T0);
      const { positionMs, startTick } = positionAt(1000, 2, 2000);
      const s = stream({ clock, bitrate: BITRATE, positionMs, burstMs: 2000, chunkBytes });
      const out = pieces(s);
      await tick();
      let fired = 0;
      for (let ms = 1; ms <= 3000; ms++) {
        const before = out.sizes.length;
        await clock.advanceAsync(1);
        if (out.sizes.length > before) fired++;
        const due = wireBytes(startTick, positionMs, ms);
        // Whole pieces only; what is held back is less than one piece (plus the packet being due).
        expect(out.bytes() % chunkBytes).toBe(0);
        expect(out.bytes()).toBeLessThanOrEqual(due + PACKET_SIZE);
        expect(due - out.bytes()).toBeLessThan(chunkBytes + 2 * PACKET_SIZE);
        expect(clock.pending).toBe(1);
      }
      // Spread over time like the engine's writes, not bunched on a 20 ms tick.
      const expected = (3 * BITRATE) / 8 / chunkBytes;
      expect(fired).toBeGreaterThanOrEqual(Math.floor(expected * 0.9));
      const whole = out.data();
      const aligned = whole.subarray(0, whole.length - (whole.length % PACKET_SIZE));
      expect(checkStream(aligned).problems).toEqual([]);
    });
  }
});
