/**
 * The byte path of one engine session: upstream chunks in, whole TS packets out to every
 * player on the channel. Lives outside the actor system: bytes are never events.
 *
 *  upstream chunk → align to 188 → (new upstream: hold back until PAT + RAP; after a
 *  failover, splice) → replay window → every player's socket
 *
 * A player past its backlog bound is dropped alone; the others never wait for it.
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
  bytesIn = 0;
  bytesOut = 0;

  constructor(private readonly opts: ChannelOptions) {
    this.id = opts.id;
    this.window = new ReplayWindow(opts.windowBytes ?? DEFAULT_WINDOW);
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
    const aligned = this.aligner.push(chunk);
    if (aligned.length === 0) return;
    let out = aligned;
    if (this.finder) {
      const first = this.finder.push(aligned);
      if (!first) return;
      this.finder = null;
      if (this.upstreams > 1) {
        this.seam = new SeamRewriter(findTail(this.window.newestFirst()), first);
        // Joiners after the seam start at the new upstream's first sync point.
        this.window.reset();
        out = this.seam.process(first);
      } else {
        out = first;
      }
    } else if (this.seam) {
      out = this.seam.process(aligned);
    }
    const ready = this.tail.push(out);
    if (ready.length > 0) this.emit(ready);
  }

  attach(sink: PlayerSink): void {
    if (this.closed || this.sinks.has(sink) || this.waiting.has(sink)) return;
    if (!this.window.ready) {
      this.waiting.add(sink);
      return;
    }
    for (const part of this.window.replay()) this.send(sink, part);
    this.sinks.add(sink);
  }

  detach(sink: PlayerSink): void {
    this.sinks.delete(sink);
    this.waiting.delete(sink);
  }

  close(): void {
    this.closed = true;
    this.sinks.clear();
    this.waiting.clear();
    this.window.reset();
  }

  private emit(out: Buffer): void {
    const startedNow = this.window.append(out);
    for (const sink of this.sinks) this.send(sink, out);
    if (startedNow && this.waiting.size > 0) {
      const replay = this.window.replay();
      for (const sink of this.waiting) {
        this.waiting.delete(sink);
        for (const part of replay) this.send(sink, part);
        this.sinks.add(sink);
      }
    }
  }

  private send(sink: PlayerSink, buf: Buffer): void {
    sink.write(buf);
    this.bytesOut += buf.length;
    if (this.opts.totals) this.opts.totals.bytesOut += buf.length;
    if (sink.backlog() > this.opts.bufferBytes) {
      this.sinks.delete(sink);
      this.waiting.delete(sink);
      sink.drop('slow');
      this.opts.onDrop?.(sink, 'slow');
    }
  }
}
