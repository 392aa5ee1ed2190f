/**
 * The endless live stream of the simulated engine: the clip looped forever, loop k shifted
 * by k·L, continuity counters running on, stuffed with null packets up to the bitrate and
 * paced by stream time against an injected clock, after an initial burst.
 */
import { Readable } from 'node:stream';
import { ManualClock, type Clock, type TimerHandle } from '../clock.ts';
import { loadClip } from './clip.ts';
import type { Clip, SyncPoint } from './clip.ts';
import { ContinuityRewriter } from './continuity.ts';
import { PACKET_SIZE, writeNullPackets } from './packet.ts';
import { TICKS_PER_MS, TIMESTAMP_WRAP, shiftTimestamps } from './timestamps.ts';

export interface LiveStreamOptions {
  /** All pacing timers and "now" come from here (tests pass a ManualClock). */
  clock: Clock;
  /** Bits/s on the wire; null packets stuff the clip up to it. 0 = unpaced: content only, as fast as the reader takes it. */
  bitrate: number;
  /**
   * Stream time sent at once at the start, like an engine's cache (default 2000). It begins
   * at the keyframe at or before live − burstMs, so it holds up to one GOP more.
   */
  burstMs?: number;
  /** Live position (default clock.now()): picks the loop and keyframe, so sessions started together match. */
  positionMs?: number;
  /** Default: loadClip(). */
  clip?: Clip;
  /** Pacing granularity (default 20). */
  tickMs?: number;
  /**
   * Bytes per write, like an engine that sends fixed-size pieces (e.g. 1316, 16384, 65536;
   * need not be whole packets). Paced, a piece goes out once all of its bytes are due. 0 or
   * unset: whatever is due every tick (up to ~64 KiB), in whole packets.
   */
  chunkBytes?: number;
}

export interface LiveStream extends Readable {
  /** Stop emitting (silent gap / stall / VPN down); nothing is lost, stream time pauses. */
  hold(): void;
  /** Resume; timestamps continue where they stopped (the stream just runs late). */
  release(): void;
  readonly bytesOut: number;
}

export function createLiveStream(options: LiveStreamOptions): LiveStream {
  return new LoopedLiveStream(options);
}

/**
 * `seconds` of the live stream as the simulated engine sends it (null packets and all), made
 * on virtual time at once: the input of offline runs of the byte path (bench, tests).
 */
export async function recordLiveStream(seconds: number, opts: { bitrate?: number; positionMs?: number } = {}): Promise<Buffer> {
  const positionMs = opts.positionMs ?? 1_700_000_000_000;
  const clock = new ManualClock(positionMs);
  const live = createLiveStream({ clock, bitrate: opts.bitrate ?? 4_000_000, positionMs, burstMs: 0 });
  const parts: Buffer[] = [];
  live.on('data', (c: Buffer) => parts.push(c));
  await new Promise((resolve) => setImmediate(resolve));
  await clock.advanceAsync(seconds * 1000);
  live.destroy();
  return Buffer.concat(parts);
}

/** Packets per pushed chunk: just under 64 KiB. */
const CHUNK_PACKETS = 348;
const PSI_PACKETS = 2;

class LoopedLiveStream extends Readable implements LiveStream {
  bytesOut = 0;

  private readonly clip: Clip;
  private readonly clock: Clock;
  private readonly bitrate: number;
  private readonly tickMs: number;
  private readonly continuity = new ContinuityRewriter();
  private readonly scratch = Buffer.allocUnsafe(CHUNK_PACKETS * PACKET_SIZE);

  // Cursor: next packet is clip packet `index` of loop `loop` (or PSI copy `psiLeft` before it).
  private loop: number;
  private loopShift: number;
  private index: number;
  private psiLeft: number;

  /** Stream time (absolute ticks) of the first packet: where wire bytes count from. */
  private readonly startTick: number;
  /** Stream time due at wall time `wallAnchor`; a hold moves the anchor on. */
  private readonly liveTick: number;
  private wallAnchor: number;
  private wireBytes = 0;

  private reading = false;
  private held = false;
  private heldAt = 0;
  private timer: TimerHandle | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** Fixed write size (0: as due); the piece being filled and how far. */
  private readonly chunkBytes: number;
  private piece: Buffer | null = null;
  private pieceFill = 0;

  constructor(options: LiveStreamOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.clip = options.clip ?? loadClip();
    this.clock = options.clock;
    this.bitrate = Math.max(0, options.bitrate);
    this.tickMs = Math.max(1, options.tickMs ?? 20);
    this.chunkBytes = Math.max(0, Math.floor(options.chunkBytes ?? 0));
    const burstMs = Math.max(0, options.burstMs ?? 2000);
    this.liveTick = (options.positionMs ?? this.clock.now()) * TICKS_PER_MS;
    this.wallAnchor = this.clock.now();

    const { loop, point } = startPoint(this.clip, this.liveTick - burstMs * TICKS_PER_MS);
    this.loop = loop;
    this.loopShift = loopShiftFor(loop, this.clip.loopTicks);
    this.index = point.index;
    this.psiLeft = point.needsPsi ? PSI_PACKETS : 0;
    this.startTick = loop * this.clip.loopTicks + point.due;
  }

  hold(): void {
    if (this.held) return;
    this.held = true;
    this.heldAt = this.clock.now();
    this.stopTimers();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.wallAnchor += this.clock.now() - this.heldAt;
    if (this.reading) this.kick();
  }

  override _read(): void {
    this.reading = true;
    if (!this.held) this.kick();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopTimers();
    callback(error);
  }

  private kick(): void {
    if (this.bitrate > 0) this.pump();
    // Unpaced data comes out one chunk per turn of the event loop, so a reader that never
    // says no cannot lock the process in a synchronous loop.
    else this.immediate ??= setImmediate(() => this.fillUnpaced());
  }

  private stopTimers(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private fillUnpaced(): void {
    this.immediate = null;
    if (this.destroyed || this.held) return;
    if (this.emitDue(Infinity)) this.kick();
  }

  /** Sends everything due by now, then waits a tick; backpressure waits for `_read`. */
  private pump(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.destroyed || this.held) return;
    const now = this.liveTick + (this.clock.now() - this.wallAnchor) * TICKS_PER_MS;
    for (;;) {
      const before = this.wireBytes;
      const more = this.emitDue(now);
      if (!more) return; // the reader is full: `_read` resumes
      if (this.wireBytes - before < CHUNK_PACKETS * PACKET_SIZE) break;
    }
    this.timer = this.clock.setTimeout(() => this.pump(), this.nextPumpMs());
  }

  /** A fixed-size piece goes out when its last byte is due: wake up then, not every tick. */
  private nextPumpMs(): number {
    if (this.chunkBytes === 0) return this.tickMs;
    const missing = this.chunkBytes - this.pieceFill;
    return Math.max(1, Math.ceil((missing * 8 * 1000) / this.bitrate));
  }

  /**
   * Builds and pushes one chunk of packets due by stream time `until`. Returns what push()
   * said (true also when nothing was due).
   */
  private emitDue(until: number): boolean {
    const { clip, scratch } = this;
    const L = clip.loopTicks;
    let n = 0;
    while (n < CHUNK_PACKETS) {
      const contentTick = this.loop * L + clip.due[this.index]!;
      const contentDue = contentTick <= until;
      if (this.bitrate > 0) {
        const stuffTo = contentDue ? contentTick : until;
        const nulls = Math.floor((this.bytesAt(stuffTo) - this.wireBytes) / PACKET_SIZE);
        if (nulls > 0) {
          const count = Math.min(nulls, CHUNK_PACKETS - n);
          writeNullPackets(scratch, n * PACKET_SIZE, count);
          n += count;
          this.wireBytes += count * PACKET_SIZE;
          continue;
        }
      }
      if (!contentDue) break;
      // Paced, each packet has its own due time; unpaced, all of them are due.
      const k = this.writeContent(n * PACKET_SIZE, this.bitrate === 0 ? CHUNK_PACKETS - n : 1);
      n += k;
      this.wireBytes += k * PACKET_SIZE;
    }
    if (n === 0) return true;
    if (this.chunkBytes > 0) return this.pushPieces(scratch.subarray(0, n * PACKET_SIZE));
    const chunk = Buffer.from(scratch.subarray(0, n * PACKET_SIZE));
    this.bytesOut += chunk.length;
    return this.push(chunk);
  }

  /** Cuts packets into fixed-size pieces; the last, partial one waits for the next bytes. */
  private pushPieces(bytes: Buffer): boolean {
    let ok = true;
    for (let at = 0; at < bytes.length; ) {
      this.piece ??= Buffer.allocUnsafe(this.chunkBytes);
      const n = bytes.copy(this.piece, this.pieceFill, at);
      at += n;
      this.pieceFill += n;
      if (this.pieceFill < this.chunkBytes) break;
      const piece = this.piece;
      this.piece = null;
      this.pieceFill = 0;
      this.bytesOut += piece.length;
      ok = this.push(piece) && ok;
    }
    return ok;
  }

  /**
   * Writes up to `max` content packets from the cursor at `off` and returns how many: a PSI
   * copy alone, or the clip's next packets (not past the loop's end) in one copy. Unpaced,
   * every packet is due and runs are long: a copy per packet was most of the simulator's CPU,
   * and the unpaced bench's source saturated a core.
   */
  private writeContent(off: number, max: number): number {
    const { clip, scratch } = this;
    if (this.psiLeft > 0) {
      const which = PSI_PACKETS - this.psiLeft;
      clip.psi.copy(scratch, off, which * PACKET_SIZE, (which + 1) * PACKET_SIZE);
      this.psiLeft--;
      this.continuity.rewrite(scratch, off);
      return 1;
    }
    const k = Math.min(max, clip.packetCount - this.index);
    clip.data.copy(scratch, off, this.index * PACKET_SIZE, (this.index + k) * PACKET_SIZE);
    for (let i = 0; i < k; i++) {
      const at = off + i * PACKET_SIZE;
      if (this.loopShift !== 0 && clip.timed[this.index + i] !== 0) shiftTimestamps(scratch, at, this.loopShift);
      this.continuity.rewrite(scratch, at);
    }
    this.index += k;
    if (this.index === clip.packetCount) {
      this.index = 0;
      this.loop++;
      this.loopShift = (this.loopShift + clip.loopTicks) % TIMESTAMP_WRAP;
    }
    return k;
  }

  /** Wire bytes the bitrate allows from the start up to stream time `tick`. */
  private bytesAt(tick: number): number {
    return ((tick - this.startTick) * this.bitrate) / (8 * 90_000);
  }
}

/** The last sync point at or before stream time `tick`, and its loop. */
function startPoint(clip: Clip, tick: number): { loop: number; point: SyncPoint } {
  const L = clip.loopTicks;
  const base = Math.floor(tick / L);
  // Sync points before the clip's first PCR have negative due times, so the next loop's
  // first one may already have started.
  for (let loop = base + 1; loop >= base - 1; loop--) {
    let point: SyncPoint | undefined;
    for (const p of clip.syncPoints) if (loop * L + p.due <= tick) point = p;
    if (point) return { loop, point };
  }
  throw new Error('clip sync points span more than a loop');
}

/** k·L mod 2^33, exact even when k·L passes 2^53. */
function loopShiftFor(loop: number, loopTicks: number): number {
  const wrap = BigInt(TIMESTAMP_WRAP);
  const shift = (BigInt(loop) * BigInt(loopTicks)) % wrap;
  return Number(shift < 0n ? shift + wrap : shift);
}
