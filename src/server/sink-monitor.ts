/**
 * Watches every streaming player's backlog, across channels:
 *  - a socket that takes nothing for `stallMs` while data waits is half-open or frozen: dropped;
 *  - when all backlogs together pass `memoryMaxBytes`, the slowest players are dropped first.
 * The per-player bound (ACERELAY_BUFFER) is enforced by the channel on every write.
 */
import type { PlayerSink } from '../fanout/player-sink.ts';

interface Watch {
  last: number;
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
    if (!this.watched.has(sink)) this.watched.set(sink, { last: 0, progressAt: now });
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
      if (b === 0 || b < w.last) w.progressAt = now;
      w.last = b;
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
