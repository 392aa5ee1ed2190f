/**
 * A channel's HLS side: a consumer of the channel's output (the same aligned, spliced,
 * held-back bytes every TS player gets, from its join point on) cut into segments.
 *
 *  - A segment is cut at the first video random-access point at or after the target duration
 *    (timestamps of the video PID, DTS when present), so each begins with a decodable frame;
 *    it starts with copies of the latest PAT and PMT (exact duplicates: on those PIDs a
 *    player reading segment after segment sees a valid duplicate packet, 13818-1 §2.4.3.3).
 *  - A seam (the channel splices a new upstream) ends the current segment; the next starts at
 *    the new upstream's sync point (its PAT, flagged discontinuous by the channel) and is
 *    marked `discontinuity` (#EXT-X-DISCONTINUITY).
 *  - A program without video is cut at a PAT, timed by its first audio PID.
 *
 * Segments hold one copy of their bytes, joined once when they complete. What arrives in one of
 * the channel's slabs is copied as it is taken (the channel reuses a slab once no socket holds
 * its bytes, and the segmenter must never hold one). It never blocks the channel (`backlog()`
 * is 0): its memory is its window, bounded by `keep` segments.
 */
import { PACKET_SIZE, hasPayload, hasPusi, pidOf } from '../ts/packet.ts';
import { PACKET_PAT, PACKET_PMT, PACKET_RAP, ProgramTracker, type ProgramInfo } from '../ts/program-tracker.ts';
import { diff33, readDts, readPts, wrap33 } from '../ts/timestamps.ts';
import { markDiscontinuity } from '../ts/discontinuity.ts';
import type { PlayerSink } from './player-sink.ts';
import type { OutChunk } from './out-chunk.ts';

export interface HlsSegment {
  /** Media sequence number: 0, 1, 2 … for this segmenter. */
  seq: number;
  /** Whether an #EXT-X-DISCONTINUITY precedes it (the first segment after a seam). */
  discontinuity: boolean;
  /** Its discontinuity sequence number (RFC 8216 §6.2.2): counts its own mark. */
  discontinuitySeq: number;
  durationS: number;
  /** Wall-clock ms of its first frame (#EXT-X-PROGRAM-DATE-TIME): see `finish`. */
  startedAt: number;
  data: Buffer;
}

export interface SegmenterOptions {
  id: string;
  /** Target segment duration (ACERELAY_HLS_SEGMENT). */
  targetMs: number;
  /** Complete segments kept (the playlist lists the newest of them). */
  keep: number;
  /** Wall clock (epoch ms). */
  now: () => number;
  /** A segment that grows past this without a random-access point is dropped (default 32 MiB). */
  maxSegmentBytes?: number;
  /** A segment completed. */
  onSegment?: (segment: HlsSegment) => void;
}

interface OpenSegment {
  parts: Buffer[];
  bytes: number;
  /** 90 kHz timestamp of its first frame on the clock PID; -1 until seen. */
  startTs: number;
  startedAt: number;
  discontinuity: boolean;
}

const DEFAULT_MAX_SEGMENT_BYTES = 32 * 1024 * 1024;
/** One frame at 25 fps, until two frames tell the real interval. */
const DEFAULT_FRAME_TICKS = 3600;
/** Frame intervals longer than this are gaps, not frame rates. */
const MAX_FRAME_TICKS = 90_000;
const TICKS_PER_S = 90_000;

export class HlsSegmenter implements PlayerSink {
  readonly id: string;
  /** The channel does not count its bytes as sent to players: they go out when fetched. */
  readonly internal = true;
  private readonly tracker = new ProgramTracker();
  private readonly targetTicks: number;
  private readonly maxSegmentBytes: number;
  private segments: HlsSegment[] = [];
  private current: OpenSegment | null = null;
  private nextSeq = 0;
  private lastDiscontinuitySeq = 0;
  /** The next segment follows a seam (or bytes that were lost): mark it. */
  private markNext = false;
  /** A seam was signalled: the next bytes start a segment where they are. */
  private seamStart = false;
  /** Packets into a seam segment, while its PSI is checked (PAT, then PMT). */
  private seamPacket = -1;
  private lastPat: Buffer | null = null;
  private lastPmt: Buffer | null = null;
  private lastTs = -1;
  private frameTicks = DEFAULT_FRAME_TICKS;
  private windowBytes = 0;
  private taken = 0;
  private longest = 0;
  private closed = false;
  /** The bytes being taken lie in a channel slab: what is kept of them is copied. */
  private copying = false;

  constructor(private readonly opts: SegmenterOptions) {
    this.id = opts.id;
    this.targetTicks = Math.round((opts.targetMs / 1000) * TICKS_PER_S);
    this.maxSegmentBytes = opts.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  }

  /** Complete segments still fetchable, oldest first. */
  get window(): readonly HlsSegment[] {
    return this.segments;
  }

  /** Bytes held: the kept segments and the one being built. */
  get bytes(): number {
    return this.windowBytes + (this.current?.bytes ?? 0);
  }

  /** The longest segment so far, in seconds (the playlist's target duration must cover it). */
  get longestS(): number {
    return this.longest;
  }

  segment(seq: number): HlsSegment | undefined {
    const first = this.segments[0];
    return first ? this.segments[seq - first.seq] : undefined;
  }

  /** Forgets everything (the audience is gone). */
  close(): void {
    this.closed = true;
    this.segments = [];
    this.current = null;
    this.windowBytes = 0;
  }

  // ——— PlayerSink ———

  write(chunk: OutChunk): void {
    // Every part of a send split over slabs, in order.
    for (let part: OutChunk | null = chunk; part; part = part.next) this.take(part.data, part.seq >= 0);
  }

  private take(buf: Buffer, inSlab: boolean): void {
    if (this.closed) return;
    this.copying = inSlab;
    this.taken += buf.length;
    let from = 0;
    for (let off = 0; off + PACKET_SIZE <= buf.length; off += PACKET_SIZE) {
      if (this.seamStart) {
        this.seamStart = false;
        this.current = this.open([], true);
        this.seamPacket = 0;
        from = off;
      }
      const flags = this.tracker.classify(buf, off);
      if (flags & PACKET_PAT) this.lastPat = Buffer.from(buf.subarray(off, off + PACKET_SIZE));
      if (flags & PACKET_PMT) this.lastPmt = Buffer.from(buf.subarray(off, off + PACKET_SIZE));
      if (this.seamPacket >= 0 && this.current) {
        // A seam segment starts at the new upstream's PAT; make sure a PMT follows it.
        const missing = this.seamPsiMissing(buf, off, flags);
        if (missing.length > 0) {
          this.append(buf.subarray(from, off));
          from = off;
          for (const p of missing) this.append(p);
        }
      }
      const program = this.tracker.program;
      if (!program) continue;
      const clockPid = program.videoPid >= 0 ? program.videoPid : firstAudioPid(program);
      let ts = -1;
      if (pidOf(buf, off) === clockPid && hasPusi(buf, off)) {
        const dts = readDts(buf, off);
        ts = dts >= 0 ? dts : readPts(buf, off);
      }
      const candidate = program.videoPid >= 0 ? (flags & PACKET_RAP) !== 0 : (flags & PACKET_PAT) !== 0;
      if (candidate) {
        const cur = this.current;
        // A PAT (radio) carries no time: the PES it precedes starts one PES interval after the last.
        const at = ts >= 0 ? ts : this.lastTs >= 0 ? wrap33(this.lastTs + this.frameTicks) : -1;
        if (!cur) {
          this.current = this.open(this.prefix(program), this.markNext && this.nextSeq > 0);
          from = off;
        } else if (cur.startTs >= 0 && at >= 0 && diff33(cur.startTs, at) >= this.targetTicks) {
          this.append(buf.subarray(from, off));
          const end = program.videoPid >= 0 && ts >= 0 ? ts : wrap33(this.lastTs + this.frameTicks);
          this.finish(end);
          this.current = this.open(this.prefix(program), false);
          from = off;
        }
      }
      if (ts >= 0) this.clockTick(ts);
    }
    if (this.current && from < buf.length) {
      this.append(buf.subarray(from));
      if (this.current.bytes > this.maxSegmentBytes) {
        // No random-access point in sight: drop it and start again at the next one.
        this.current = null;
        this.markNext = true;
      }
    }
  }

  backlog(): number {
    return 0;
  }

  flushed(): number {
    return this.taken;
  }

  drop(): void {
    // The channel never drops it (no backlog); the memory cap ends its audience instead.
  }

  /** The channel splices a new upstream: the current segment ends here. */
  seam(): void {
    if (this.closed) return;
    if (this.current) this.finish(wrap33(this.lastTs + this.frameTicks));
    this.current = null;
    this.markNext = true;
    this.seamStart = true;
    this.seamPacket = -1;
  }

  // ——— segments ———

  private open(prefix: Buffer[], discontinuity: boolean): OpenSegment {
    const seg: OpenSegment = { parts: [], bytes: 0, startTs: -1, startedAt: this.opts.now(), discontinuity };
    this.current = seg;
    for (const p of prefix) this.append(p);
    return seg;
  }

  private append(part: Buffer): void {
    if (!this.current || part.length === 0) return;
    this.current.parts.push(this.copying ? Buffer.from(part) : part);
    this.current.bytes += part.length;
  }

  /** PAT and PMT copies in front of a segment cut at a random-access point. */
  private prefix(program: ProgramInfo): Buffer[] {
    // A radio channel is cut at its PAT: the segment already starts with it.
    if (program.videoPid < 0) return [];
    return this.lastPat && this.lastPmt ? [this.lastPat, this.lastPmt] : [];
  }

  /**
   * At a seam segment's first packets: packets to insert before this one so it starts with a
   * PAT and a PMT (copies of the latest, flagged discontinuous: their counters start afresh).
   */
  private seamPsiMissing(buf: Buffer, off: number, flags: number): Buffer[] {
    // The channel's adaptation-only packets that flag a PID discontinuous come first: skip them.
    if (!hasPayload(buf, off)) return [];
    if (this.seamPacket++ === 0) {
      if (flags & PACKET_PAT) return [];
      this.seamPacket = -1;
      return [...marked(this.lastPat), ...marked(this.lastPmt)];
    }
    this.seamPacket = -1;
    return flags & PACKET_PMT ? [] : marked(this.lastPmt);
  }

  private clockTick(ts: number): void {
    if (this.lastTs >= 0) {
      const d = diff33(this.lastTs, ts);
      if (d > 0 && d <= MAX_FRAME_TICKS) this.frameTicks = d;
    }
    this.lastTs = ts;
    if (this.current && this.current.startTs < 0) this.current.startTs = ts;
  }

  private finish(endTs: number): void {
    const cur = this.current;
    this.current = null;
    if (!cur || cur.bytes === 0) return;
    const ticks = cur.startTs >= 0 && endTs >= 0 ? diff33(cur.startTs, endTs) : -1;
    const durationS = ticks > 0 ? ticks / TICKS_PER_S : Math.max(0.001, (this.opts.now() - cur.startedAt) / 1000);
    const discontinuity = cur.discontinuity && this.nextSeq > 0;
    if (discontinuity) this.lastDiscontinuitySeq++;
    this.markNext = false;
    // Dates follow the media: the previous segment's date plus its duration, anchored to
    // the wall clock at the first segment and at every discontinuity (a burst that arrives
    // faster than real time must not squeeze the dates).
    const prev = this.segments.at(-1);
    const chained = prev ? prev.startedAt + prev.durationS * 1000 : cur.startedAt;
    const segment: HlsSegment = {
      seq: this.nextSeq++,
      discontinuity,
      discontinuitySeq: this.lastDiscontinuitySeq,
      durationS,
      startedAt: Math.round(prev && !discontinuity ? chained : Math.max(chained, cur.startedAt)),
      data: cur.parts.length === 1 ? cur.parts[0]! : Buffer.concat(cur.parts, cur.bytes),
    };
    if (durationS > this.longest) this.longest = durationS;
    this.segments.push(segment);
    this.windowBytes += segment.data.length;
    while (this.segments.length > this.opts.keep) this.windowBytes -= this.segments.shift()!.data.length;
    this.opts.onSegment?.(segment);
  }
}

function firstAudioPid(program: ProgramInfo): number {
  return program.streams.find((s) => s.kind === 'audio')?.pid ?? -1;
}

/** A copy of a PSI packet flagged discontinuous (with the stuffing packet it may need in front). */
function marked(packet: Buffer | null): Buffer[] {
  if (!packet) return [];
  const copy = Buffer.from(packet);
  const extra = markDiscontinuity(copy, 0);
  return extra ? [extra, copy] : [copy];
}
