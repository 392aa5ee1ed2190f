/**
 * The viewers of `/api/events` (Server-Sent Events), bounded so that viewers that never read
 * cannot take the process's memory:
 *  - at most SSE_CLIENTS_MAX at once (the next one gets 503 `too_many_clients`);
 *  - at most SSE_BACKLOG_MAX bytes waiting in each one's socket: a message that would pass it
 *    closes that viewer instead (EventSource reconnects, and the page refetches what it missed);
 *  - every viewer is watched by the SinkMonitor like a player: one that takes nothing for the
 *    write-stall timeout is closed, and their backlogs count toward ACERELAY_MEMORY_MAX.
 * Each message is serialized once and the same buffer written to every viewer.
 */
import type { ServerResponse } from 'node:http';
import type { SinkMonitor, WatchedSink } from './sink-monitor.ts';

export const SSE_CLIENTS_MAX = 32;
export const SSE_BACKLOG_MAX = 256 * 1024;
export const SSE_HEARTBEAT_MS = 15_000;

const HEARTBEAT = Buffer.from(': keep-alive\n\n');

export function sseMessage(event: string, data: unknown): Buffer {
  return Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

class SseViewer implements WatchedSink {
  private written = 0;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly onClosed: (viewer: SseViewer) => void,
  ) {
    res.on('close', () => this.closedNow());
  }

  write(message: Buffer): void {
    if (this.closed) return;
    if (this.res.writableLength + message.length > SSE_BACKLOG_MAX) {
      this.drop();
      return;
    }
    this.written += message.length;
    this.res.write(message);
  }

  backlog(): number {
    return this.res.writableLength;
  }

  flushed(): number {
    return this.written - this.res.writableLength;
  }

  drop(): void {
    this.closedNow();
    this.res.destroy();
  }

  private closedNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(this);
  }
}

export interface SseViewersOptions {
  /** Watches the viewers' backlogs (write stall, ACERELAY_MEMORY_MAX); none: bounded per viewer only. */
  monitor?: SinkMonitor;
  now: () => number;
  /** Starts the feeds (while anyone watches); returns their stop. */
  subscribe: (broadcast: (event: string, data: unknown) => void) => () => void;
}

export class SseViewers {
  private readonly viewers = new Set<SseViewer>();
  private unsubscribe: (() => void) | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly opts: SseViewersOptions) {}

  get size(): number {
    return this.viewers.size;
  }

  get full(): boolean {
    return this.viewers.size >= SSE_CLIENTS_MAX;
  }

  /** Takes over a response whose event-stream headers were sent; `hello` is its first message. */
  open(res: ServerResponse, hello: Buffer): void {
    const viewer = new SseViewer(res, (v) => this.closed(v));
    this.viewers.add(viewer);
    this.opts.monitor?.add(viewer, this.opts.now(), 'viewer');
    viewer.write(hello);
    if (!this.unsubscribe && this.viewers.size > 0) {
      this.heartbeat = setInterval(() => this.send(HEARTBEAT), SSE_HEARTBEAT_MS);
      this.heartbeat.unref();
      this.unsubscribe = this.opts.subscribe((event, data) => this.send(sseMessage(event, data)));
    }
  }

  /** Closes every viewer (server shutdown). */
  close(): void {
    for (const v of [...this.viewers]) v.drop();
  }

  private send(message: Buffer): void {
    for (const v of [...this.viewers]) v.write(message);
  }

  private closed(viewer: SseViewer): void {
    this.viewers.delete(viewer);
    this.opts.monitor?.delete(viewer);
    if (this.viewers.size > 0 || !this.unsubscribe) return;
    this.unsubscribe();
    this.unsubscribe = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
