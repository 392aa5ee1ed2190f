/**
 * The byte path of one engine session: upstream chunks in, whole TS packets out to every
 * player on the channel. Lives outside the actor system: bytes are never events.
 *
 *  upstream chunk → align to 188 → (new upstream: hold back until PAT + RAP; after a
 *  failover, splice) → open-PES hold-back → one copy into the channel's slabs, framed (the
 *  upstream's memory is then free to be read into again) →
 *  replay window → every player's socket (one write of the same framed bytes each), and the
 *  HLS segmenter (told of each splice; it copies what it keeps out of the slabs)
 *
 * A player past its backlog bound is dropped alone; the others never wait for it. Only when
 * every player is behind (an upstream faster than all of them, e.g. one that is not paced)
 * is the upstream paused until the first one has caught up: nobody is waiting for a slower
 * player then, and dropping them all would only lose the stream.
 */
import { PacketAligner } from '../ts/aligner.ts';
import { ReplayWindow } from './replay-window.ts';
import { SyncFinder } from './sync-finder.ts';
import { SeamRewriter, findTail } from './seam.ts';
import { PesTail } from './pes-tail.ts';
import { OutChunk } from './out-chunk.ts';
import { OutSlabs } from './out-slabs.ts';
import type { PlayerSink } from './player-sink.ts';

export interface ChannelOptions {
  id: string;
  /** One player's backlog bound (ACERELAY_BUFFER). */
  bufferBytes: number;
  /** Longest replay window kept for joiners. */
  windowBytes?: number;
  /** Process-wide byte totals (plain additions: this runs per chunk per player). */
  totals?: ByteTotals;
  onDrop?: (sink: PlayerSink, reason: 'slow') => void;
  /**
   * Output is sent once this much is ready (whole frames, as the hold-back releases them), or
   * when the oldest of it has waited `maxWaitMs`: fewer, larger writes per player. 0: at once.
   * (A paced upstream's read has its bytes sent at once: `flush`, read-pacer.ts.)
   */
  sendMinBytes?: number;
  maxWaitMs?: number;
}

export interface ByteTotals {
  bytesIn: number;
  bytesOut: number;
}

/** The brakes of the upstream feeding a channel, set by whoever reads it. */
export interface UpstreamValve {
  pause(): void;
  resume(): void;
}

/**
 * Two frames of a 4 Mbit/s channel per write instead of one: each player's write costs about
 * the same whatever its size (a syscall, a wakeup of the reader, the TCP round), so half the
 * writes is close to half the fan-out's CPU. A frame waits at most MAX_WAIT_MS for the next.
 * A slow upstream whose reads are paced (read-pacer.ts) waits in the kernel instead, and what
 * each of its reads releases is sent at once (the upstream reader calls `flush`).
 */
export const SEND_MIN_BYTES = 32 * 1024;
export const MAX_WAIT_MS = 50;

/** Every player at least this far behind (capped by half the backlog bound): pause the upstream. */
const THROTTLE_AT = 1024 * 1024;
const MIN_THROTTLE_AT = 64 * 1024;

const DEFAULT_WINDOW = 8 * 1024 * 1024;
/** Most held back for open PES (≈ 2 s at 4 Mbit/s) before giving up on a quiet PID. */
const MAX_HELD = 1024 * 1024;

/**
 * A player on the channel, and where the bytes its socket has not sent yet lie: the slabs
 * (out-slabs.ts) it was written from while it had a backlog, in the order written (a replay
 * after a return may add older slabs after newer ones), each with the socket's byte count at
 * the end of the last write from it. A slab is free of this player once the socket has sent
 * that many bytes.
 */
interface Seat {
  /** Its sink: the per-send loops go over seats (a Map's entries would be an array each). */
  sink: PlayerSink;
  slabs: number[];
  ends: number[];
}

const seat = (sink: PlayerSink): Seat => ({ sink, slabs: [], ends: [] });

export class Channel {
  readonly id: string;
  private readonly sinks = new Map<PlayerSink, Seat>();
  /** Joined before the window had a start point: they get it as soon as one exists. */
  private readonly waiting = new Set<PlayerSink>();
  /** The attached sinks that are not players' sockets (the HLS segmenter). */
  private readonly internal = new Set<PlayerSink>();
  /** Left the channel with bytes of a slab still in their socket (they may live on, held). */
  private readonly departed = new Map<PlayerSink, Seat>();
  private readonly slabs = new OutSlabs(() => this.oldestInUse());
  /** Released output not sent yet (views of upstream buffers), and its size. */
  private pending: Buffer[] = [];
  /** The other list for `pending`, emptied after its send (one list each way, none per send). */
  private sent: Buffer[] | null = [];
  private pendingBytes = 0;
  /**
   * The wait for company (see sendMinBytes): one timer for the channel's life, re-armed by
   * `refresh` (a timer per send was garbage); `armed` says whether its firing sends.
   */
  private wait: NodeJS.Timeout | null = null;
  private armed = false;
  private readonly sendMinBytes: number;
  private readonly maxWaitMs: number;
  private readonly aligner = new PacketAligner();
  private readonly window: ReplayWindow;
  private readonly tail = new PesTail(MAX_HELD);
  private finder: SyncFinder | null = null;
  private seam: SeamRewriter | null = null;
  private upstreams = 0;
  private closed = false;
  private valve: UpstreamValve | null = null;
  private paused = false;
  private readonly throttleAt: number;
  bytesIn = 0;
  bytesOut = 0;

  constructor(private readonly opts: ChannelOptions) {
    this.id = opts.id;
    this.sendMinBytes = opts.sendMinBytes ?? SEND_MIN_BYTES;
    this.maxWaitMs = opts.maxWaitMs ?? MAX_WAIT_MS;
    // A joiner gets the whole window at once: it must fit well inside one player's bound.
    this.window = new ReplayWindow(Math.min(opts.windowBytes ?? DEFAULT_WINDOW, Math.floor(opts.bufferBytes / 2)), this.tail.marks);
    // Above the socket's own high-water mark, so a paused upstream is always released by a 'drain'.
    this.throttleAt = Math.max(MIN_THROTTLE_AT, Math.min(THROTTLE_AT, Math.floor(opts.bufferBytes / 2)));
  }

  /** Whether the upstream is paused because every player is behind (its silence is ours). */
  get throttled(): boolean {
    return this.paused;
  }

  /** The current upstream's brakes (null: it has none, or it is gone). */
  setValve(valve: UpstreamValve | null): void {
    if (valve === this.valve) return;
    this.valve = valve;
    // A paused old upstream is gone; a new one starts open.
    this.paused = false;
  }

  /** Clears `valve` if it is still the current one (a newer upstream may have set its own). */
  clearValve(valve: UpstreamValve): void {
    if (this.valve === valve) this.setValve(null);
  }

  get players(): number {
    return this.sinks.size + this.waiting.size;
  }

  /** Whether bytes from the current upstream reach players. */
  get flowing(): boolean {
    return this.upstreams > 0 && this.finder === null;
  }

  /** A new upstream (the first, or one after a failover) starts sending. */
  beginUpstream(): void {
    // The old upstream is gone: its complete frames go out, its cut-off ones never will.
    const rest = this.tail.closeSegment();
    if (rest.length > 0) this.emitPieces([rest]);
    this.aligner.reset();
    this.upstreams++;
    this.finder = new SyncFinder(this.opts.windowBytes ?? DEFAULT_WINDOW);
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesIn += chunk.length;
    if (this.opts.totals) this.opts.totals.bytesIn += chunk.length;
    const parts = this.aligner.pushParts(chunk);
    if (parts.length === 0) return;
    // Usually one part; two when the chunk completed a packet held from the last one. The
    // tail takes them as they are (a join would copy the whole chunk); the rarer paths join.
    if (!this.finder) {
      // After a failover every packet is rewritten, part by part (no join needed either).
      this.emitPieces(this.tail.push(this.seam ? parts.map((p) => this.seam!.process(p)) : parts));
      return;
    }
    const aligned = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const first = this.finder.push(aligned);
    if (!first) return;
    this.finder = null;
    let out = first;
    if (this.upstreams > 1) {
      // The old upstream's last output goes out first: the seam is told after its last byte.
      this.flush();
      this.seam = new SeamRewriter(findTail(this.window.newestFirst()), first);
      // Joiners after the seam start at the new upstream's first sync point.
      this.window.reset();
      for (const sink of this.sinks.keys()) sink.seam?.();
      out = this.seam.process(first);
    }
    this.emitPieces(this.tail.push(out));
  }

  attach(sink: PlayerSink): void {
    if (this.closed || this.sinks.has(sink) || this.waiting.has(sink)) return;
    if (sink.internal) this.internal.add(sink);
    if (!this.window.ready) {
      this.waiting.add(sink);
      return;
    }
    const place = this.departed.get(sink) ?? seat(sink);
    this.departed.delete(sink);
    for (const part of this.window.replay()) if (this.send(sink, place, part) < 0) return;
    this.sinks.set(sink, place);
    // A newcomer is not behind yet: read on (the next chunk pauses again if it is).
    this.release();
  }

  detach(sink: PlayerSink): void {
    const seat = this.sinks.get(sink);
    this.sinks.delete(sink);
    this.waiting.delete(sink);
    this.internal.delete(sink);
    this.depart(sink, seat);
    this.release();
  }

  close(): void {
    this.closed = true;
    if (this.wait) clearTimeout(this.wait);
    this.wait = null;
    this.armed = false;
    this.pending = [];
    this.pendingBytes = 0;
    this.sinks.clear();
    this.waiting.clear();
    this.internal.clear();
    this.departed.clear();
    this.window.reset();
    this.release();
  }

  /** Bytes this channel keeps in memory for its players: its slabs (replay window included), what waits to be sent, the held-back tail. */
  get bufferedBytes(): number {
    return this.slabs.bytes + this.pendingBytes + this.tail.heldBytes + this.aligner.pending;
  }

  /** Bytes released for the players and not sent yet: waiting for company (see sendMinBytes). */
  get unsentBytes(): number {
    return this.pendingBytes;
  }

  /** Bytes in the replay window (what a joiner is sent first). */
  get windowBytes(): number {
    return this.window.bytes;
  }

  /**
   * The output in `pieces` (views of upstream buffers, in order): one copy into a slab, framed
   * once, then one write of the same bytes to each player.
   */
  private emitPieces(pieces: Buffer[]): void {
    if (pieces.length === 0) return;
    for (const p of pieces) {
      this.pending.push(p);
      this.pendingBytes += p.length;
    }
    if (this.pendingBytes >= this.sendMinBytes) this.flush();
    else if (!this.armed) {
      this.armed = true;
      if (this.wait) this.wait.refresh();
      else this.wait = setTimeout(this.waited, this.maxWaitMs).unref();
    }
  }

  private readonly waited = (): void => {
    if (this.armed) this.flush();
  };

  /** Sends the output that waited for company (see sendMinBytes), now. */
  readonly flush = (): void => {
    // The timer stays (it fires for nothing once, or is re-armed first).
    this.armed = false;
    if (this.pending.length === 0) return;
    const pieces = this.pending;
    // (A flush from inside this send, if ever, finds no list to reuse and makes one.)
    this.pending = this.sent ?? [];
    this.sent = null;
    this.pendingBytes = 0;
    this.emitNow(pieces);
    pieces.length = 0;
    this.sent = pieces;
  };

  private emitNow(pieces: Buffer[]): void {
    // Copied into a slab even for one player: the upstream's memory is then free to be read
    // into again (see holdsUpstream), and the send goes out framed, in one write.
    this.emit(this.slabs.put(pieces));
  }

  /**
   * Whether the channel still holds a view of `memory`, upstream bytes not copied into its
   * slabs yet: waiting for a sync point, held back behind an open PES, or waiting to be sent.
   * Everything past those is a copy, so the upstream may read into memory this says no to.
   */
  holdsUpstream(memory: ArrayBufferLike): boolean {
    for (const p of this.pending) if (p.buffer === memory) return true;
    return this.tail.holds(memory) || (this.finder?.holds(memory) ?? false);
  }

  private emit(out: OutChunk): void {
    // A send split over slabs is one chunk to the window per part, each framed on its own (its
    // replay sends a part with the rest of its send; see ReplayWindow.replay).
    let startedNow = false;
    for (let part: OutChunk | null = out; part; part = part.next) if (this.window.append(part)) startedNow = true;
    let least = Infinity;
    for (const place of this.sinks.values()) {
      const backlog = this.send(place.sink, place, out);
      // The HLS segmenter takes everything at once: only sockets say whether to pause.
      if (backlog >= 0 && backlog < least && !place.sink.internal) least = backlog;
    }
    if (startedNow && this.waiting.size > 0) {
      const replay = this.window.replay();
      for (const sink of this.waiting) {
        this.waiting.delete(sink);
        // A player that left and came back keeps the pins of what its socket still holds.
        const place = this.departed.get(sink) ?? seat(sink);
        this.departed.delete(sink);
        let backlog = 0;
        for (const part of replay) if ((backlog = this.send(sink, place, part)) < 0) break;
        if (backlog < 0) continue;
        this.sinks.set(sink, place);
        if (backlog < least && !sink.internal) least = backlog;
      }
    }
    if (least >= this.throttleAt && least !== Infinity) this.throttle();
  }

  /**
   * Writes to one player (the whole send: every part of a chain); returns its backlog, or -1
   * when that put it past its bound (dropped). A chain's first slab is pinned until the socket
   * has sent all of it: slabs are freed oldest first, so that keeps the later ones too.
   */
  private send(sink: PlayerSink, place: Seat, chunk: OutChunk): number {
    sink.write(chunk);
    if (!sink.internal) {
      this.bytesOut += chunk.length;
      if (this.opts.totals) this.opts.totals.bytesOut += chunk.length;
    }
    const backlog = sink.backlog();
    if (backlog === 0) {
      // The socket took it all at once (the usual case): nothing of any slab waits in it.
      if (place.slabs.length > 0) place.slabs.length = place.ends.length = 0;
    } else if (chunk.seq >= 0) {
      const end = sink.flushed() + backlog;
      const last = place.slabs.length - 1;
      if (last >= 0 && place.slabs[last] === chunk.seq) place.ends[last] = end;
      else {
        place.slabs.push(chunk.seq);
        place.ends.push(end);
      }
    }
    if (backlog > this.opts.bufferBytes) {
      this.sinks.delete(sink);
      this.waiting.delete(sink);
      this.internal.delete(sink);
      this.depart(sink, place);
      sink.drop('slow');
      this.opts.onDrop?.(sink, 'slow');
      return -1;
    }
    return backlog;
  }

  /** A player leaving with unsent bytes keeps their slabs from reuse until its socket took them. */
  private depart(sink: PlayerSink, place: Seat | undefined): void {
    if (place && pinned(place) >= 0) this.departed.set(sink, place);
  }

  /** The oldest slab still read by the replay window or by a player's socket (Infinity: none). */
  private oldestInUse(): number {
    let oldest = this.window.oldestSeq;
    for (const place of this.sinks.values()) {
      const pin = pinned(place);
      if (pin >= 0 && pin < oldest) oldest = pin;
    }
    for (const place of this.departed.values()) {
      const pin = pinned(place);
      if (pin < 0) this.departed.delete(place.sink);
      else if (pin < oldest) oldest = pin;
    }
    return oldest;
  }

  /** Every player is behind: stop reading until the first of them has taken its backlog. */
  private throttle(): void {
    if (this.paused || !this.valve) return;
    for (const sink of this.sinks.keys()) if (!sink.internal && !sink.whenDrained) return;
    this.paused = true;
    this.valve.pause();
    for (const sink of this.sinks.keys()) if (!sink.internal) sink.whenDrained!(this.release);
  }

  private readonly release = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.valve?.resume();
  };
}

/** The lowest slab the player's socket still has bytes of (-1: none), forgetting those it sent. */
function pinned(place: Seat): number {
  const { slabs, ends } = place;
  if (slabs.length === 0) return -1;
  if (place.sink.backlog() === 0) {
    slabs.length = ends.length = 0;
    return -1;
  }
  const flushed = place.sink.flushed();
  let n = 0;
  while (n < ends.length && ends[n]! <= flushed) n++;
  if (n > 0) {
    // In place (splice would return the removed ones as a new array).
    const keep = ends.length - n;
    for (let i = 0; i < keep; i++) {
      slabs[i] = slabs[i + n]!;
      ends[i] = ends[i + n]!;
    }
    slabs.length = ends.length = keep;
  }
  // Not always the first: a player back on the channel is sent the replay window, older slabs
  // than those its socket may still hold from before.
  let oldest = -1;
  for (let i = 0; i < slabs.length; i++) if (oldest < 0 || slabs[i]! < oldest) oldest = slabs[i]!;
  return oldest;
}

