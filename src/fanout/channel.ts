/**
 * The byte path of one engine session: upstream chunks in, whole TS packets out to every
 * player on the channel. Lives outside the actor system: bytes are never events.
 *
 *  upstream chunk → align to 188 → (new upstream: hold back until PAT + RAP; after a
 *  failover, splice) → replay window → every player's socket (and the HLS segmenter, told
 *  of each splice)
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

/** Every player at least this far behind (capped by half the backlog bound): pause the upstream. */
const THROTTLE_AT = 1024 * 1024;
const MIN_THROTTLE_AT = 64 * 1024;

const DEFAULT_WINDOW = 8 * 1024 * 1024;
/** Most held back for open PES (≈ 2 s at 4 Mbit/s) before giving up on a quiet PID. */
const MAX_HELD = 1024 * 1024;

export class Channel {
  readonly id: string;
  private readonly sinks = new Set<PlayerSink>();
  /** Joined before the window had a start point: they get it as soon as one exists. */
  private readonly waiting = new Set<PlayerSink>();
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
    // A joiner gets the whole window at once: it must fit well inside one player's bound.
    this.window = new ReplayWindow(Math.min(opts.windowBytes ?? DEFAULT_WINDOW, Math.floor(opts.bufferBytes / 2)));
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
    if (rest.length > 0) this.emit(rest);
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
      this.seam = new SeamRewriter(findTail(this.window.newestFirst()), first);
      // Joiners after the seam start at the new upstream's first sync point.
      this.window.reset();
      for (const sink of this.sinks) sink.seam?.();
      out = this.seam.process(first);
    }
    this.emitPieces(this.tail.push(out));
  }

  attach(sink: PlayerSink): void {
    if (this.closed || this.sinks.has(sink) || this.waiting.has(sink)) return;
    if (!this.window.ready) {
      this.waiting.add(sink);
      return;
    }
    for (const part of this.window.replay()) if (this.send(sink, part) < 0) return;
    this.sinks.add(sink);
    // A newcomer is not behind yet: read on (the next chunk pauses again if it is).
    this.release();
  }

  detach(sink: PlayerSink): void {
    this.sinks.delete(sink);
    this.waiting.delete(sink);
    this.release();
  }

  close(): void {
    this.closed = true;
    this.sinks.clear();
    this.waiting.clear();
    this.window.reset();
    this.release();
  }

  /**
   * Output that spans several upstream buffers: joined once when it goes to several players
   * (one copy instead of a write per piece per player), sent piece by piece otherwise (one
   * player's writes in one tick leave as one syscall; a copy would cost more).
   */
  private emitPieces(pieces: Buffer[]): void {
    if (pieces.length === 0) return;
    if (pieces.length === 1 || this.sinks.size + this.waiting.size > 1) this.emit(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
    else for (const piece of pieces) this.emit(piece);
  }

  private emit(out: Buffer): void {
    const startedNow = this.window.append(out);
    let least = Infinity;
    for (const sink of this.sinks) {
      const backlog = this.send(sink, out);
      // The HLS segmenter takes everything at once: only sockets say whether to pause.
      if (backlog >= 0 && backlog < least && !sink.internal) least = backlog;
    }
    if (startedNow && this.waiting.size > 0) {
      const replay = this.window.replay();
      for (const sink of this.waiting) {
        this.waiting.delete(sink);
        let backlog = 0;
        for (const part of replay) if ((backlog = this.send(sink, part)) < 0) break;
        if (backlog < 0) continue;
        this.sinks.add(sink);
        if (backlog < least && !sink.internal) least = backlog;
      }
    }
    if (least >= this.throttleAt && least !== Infinity) this.throttle();
  }

  /** Writes to one player; returns its backlog, or -1 when that put it past its bound (dropped). */
  private send(sink: PlayerSink, buf: Buffer): number {
    sink.write(buf);
    if (!sink.internal) {
      this.bytesOut += buf.length;
      if (this.opts.totals) this.opts.totals.bytesOut += buf.length;
    }
    const backlog = sink.backlog();
    if (backlog > this.opts.bufferBytes) {
      this.sinks.delete(sink);
      this.waiting.delete(sink);
      sink.drop('slow');
      this.opts.onDrop?.(sink, 'slow');
      return -1;
    }
    return backlog;
  }

  /** Every player is behind: stop reading until the first of them has taken its backlog. */
  private throttle(): void {
    if (this.paused || !this.valve) return;
    for (const sink of this.sinks) if (!sink.internal && !sink.whenDrained) return;
    this.paused = true;
    this.valve.pause();
    for (const sink of this.sinks) if (!sink.internal) sink.whenDrained!(this.release);
  }

  private readonly release = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.valve?.resume();
  };
}
