/**
 * Watches every streaming player's backlog, across channels:
 *  - a socket that takes nothing for `stallMs` while data waits is half-open or frozen: dropped
 *    (TCP keep-alive finds the half-open ones that have nothing to send);
 *  - when all backlogs together pass `memoryMaxBytes`, the slowest players are dropped first.
 * The per-player bound (ACERELAY_BUFFER) is enforced by the channel on every write.
 */
import type { PlayerSink } from '../fanout/player-sink.ts';

interface Watch {
  flushed: number;
  progressAt: number;
}

export class SinkMonitor {
  private readonly watched = new Map<PlayerSink, Watch>();

  constructor(
    private readonly stallMs: number,
    private readonly memoryMaxBytes: number,
    private readonly onDrop: (reason: 'stalled' | 'memory') => void = () => {},
  ) {}

  add(sink: PlayerSink, now: number): void {
    if (!this.watched.has(sink)) this.watched.set(sink, { flushed: sink.flushed(), progressAt: now });
  }

  delete(sink: PlayerSink): void {
    this.watched.delete(sink);
  }

  get size(): number {
    return this.watched.size;
  }

  /** Total bytes waiting in player sockets. */
  total(): number {
    let sum = 0;
    for (const sink of this.watched.keys()) sum += sink.backlog();
    return sum;
  }

  check(now: number): void {
    let total = 0;
    const backlogs: Array<[PlayerSink, number]> = [];
    for (const [sink, w] of this.watched) {
      const b = sink.backlog();
      // Progress is bytes taken by the socket, not a shrinking backlog: a slow but living
      // player takes something every second even while its backlog grows.
      const flushed = sink.flushed();
      if (b === 0 || flushed > w.flushed) w.progressAt = now;
      w.flushed = flushed;
      if (b > 0 && now - w.progressAt >= this.stallMs) {
        this.watched.delete(sink);
        sink.drop('stalled');
        this.onDrop('stalled');
        continue;
      }
      total += b;
      backlogs.push([sink, b]);
    }
    if (total <= this.memoryMaxBytes) return;
    backlogs.sort((a, b) => b[1] - a[1]);
    for (const [sink, b] of backlogs) {
      if (total <= this.memoryMaxBytes) break;
      this.watched.delete(sink);
      sink.drop('memory');
      this.onDrop('memory');
      total -= b;
    }
  }
}
