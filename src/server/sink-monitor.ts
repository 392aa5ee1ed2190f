/**
 * Watches every streaming player's backlog, across channels, every /api/events viewer's, and
 * every channel's HLS window (its segments in memory):
 *  - a socket that takes nothing for `stallMs` while data waits is half-open or frozen: dropped
 *    (TCP keep-alive finds the half-open ones that have nothing to send);
 *  - when all backlogs together pass `memoryMaxBytes`, viewers go first, then the slowest
 *    players and the HLS windows, largest first (a viewer is a convenience, a player is the
 *    service; a window is a channel's HLS audience, ended as one player would be).
 * A window is never stalled: it has no socket, and it holds its bytes on purpose.
 * The per-player bound (ACERELAY_BUFFER) is enforced by the channel on every write, the
 * per-viewer bound (SSE_BACKLOG_MAX) by the viewer on every write.
 */

/** A socket whose backlog counts: a player (PlayerSink) or an SSE viewer. */
export interface WatchedSink {
  /** Bytes written but not yet taken by the socket. */
  backlog(): number;
  /** Bytes the socket has taken so far: grows while the peer reads. */
  flushed(): number;
  /** Ends it, saying why. Idempotent. */
  drop(reason: 'memory' | 'stalled'): void;
}

export type SinkKind = 'player' | 'viewer' | 'window';

interface Watch {
  kind: SinkKind;
  flushed: number;
  progressAt: number;
}

export class SinkMonitor {
  private readonly watched = new Map<WatchedSink, Watch>();

  constructor(
    private readonly stallMs: number,
    private readonly memoryMaxBytes: number,
    private readonly onDrop: (reason: 'stalled' | 'memory') => void = () => {},
  ) {}

  add(sink: WatchedSink, now: number, kind: SinkKind = 'player'): void {
    if (!this.watched.has(sink)) this.watched.set(sink, { kind, flushed: sink.flushed(), progressAt: now });
  }

  delete(sink: WatchedSink): void {
    this.watched.delete(sink);
  }

  /** How many are watched (of one kind, or all). */
  count(kind?: SinkKind): number {
    if (!kind) return this.watched.size;
    let n = 0;
    for (const w of this.watched.values()) if (w.kind === kind) n++;
    return n;
  }

  get size(): number {
    return this.watched.size;
  }

  /** Total bytes waiting in watched sockets (of one kind, or all). */
  total(kind?: SinkKind): number {
    let sum = 0;
    for (const [sink, w] of this.watched) if (!kind || w.kind === kind) sum += sink.backlog();
    return sum;
  }

  check(now: number): void {
    let total = 0;
    const backlogs: Array<[WatchedSink, number, SinkKind]> = [];
    for (const [sink, w] of this.watched) {
      const b = sink.backlog();
      // Progress is bytes taken by the socket, not a shrinking backlog: a slow but living
      // player takes something every second even while its backlog grows.
      const flushed = sink.flushed();
      if (b === 0 || flushed > w.flushed) w.progressAt = now;
      w.flushed = flushed;
      if (b > 0 && w.kind !== 'window' && now - w.progressAt >= this.stallMs) {
        this.watched.delete(sink);
        sink.drop('stalled');
        this.onDrop('stalled');
        continue;
      }
      total += b;
      backlogs.push([sink, b, w.kind]);
    }
    if (total <= this.memoryMaxBytes) return;
    const rank = (kind: SinkKind) => (kind === 'viewer' ? 0 : 1);
    backlogs.sort((a, b) => rank(a[2]) - rank(b[2]) || b[1] - a[1]);
    for (const [sink, b] of backlogs) {
      if (total <= this.memoryMaxBytes) break;
      // Dropping it would free nothing.
      if (b === 0) continue;
      this.watched.delete(sink);
      sink.drop('memory');
      this.onDrop('memory');
      total -= b;
    }
  }
}
