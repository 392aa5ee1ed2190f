/**
 * Delivers stream_started / stream_ended to the orchestrator, at least once, in order per
 * stream, with backoff while the orchestrator is down, slow or answering 5xx:
 *  - an end waits until its start was acknowledged;
 *  - an end is never sent for a start that was refused for good (4xx): the orchestrator
 *    would end some *other* stream for an id it does not know;
 *  - a repeated start or end of a known id is harmless (the orchestrator replaces / answers
 *    updated:true), so retrying after a lost answer is safe.
 * The durable outbox (journal issue) keeps the same interface.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { StreamEndedEvent, StreamStartedEvent } from '../adapters/orchestrator/types.ts';
import { OrchestratorHttpError } from '../adapters/orchestrator/errors.ts';
import type { StreamEventSink } from './stream-event-sink.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';

export interface EventPort {
  streamStarted(ev: StreamStartedEvent): Promise<unknown>;
  streamEnded(ev: StreamEndedEvent): Promise<unknown>;
}

type Item = { type: 'stream_started'; ev: StreamStartedEvent } | { type: 'stream_ended'; ev: StreamEndedEvent };

interface StreamQueue {
  items: Item[];
  /** The start was acknowledged (200). */
  accepted: boolean;
  /** The start was refused for good: its end must never go out. */
  refused: boolean;
  /** The end was delivered: nothing more will come for this stream. */
  done: boolean;
  attempts: number;
  busy: boolean;
  timer: TimerHandle | undefined;
}

export interface OutboxOptions {
  port: EventPort;
  clock: Clock;
  logger?: Logger;
  onResult?: (type: Item['type'], result: 'ok' | 'retry' | 'dropped') => void;
  maxBackoffMs?: number;
}

export class MemoryOutbox implements StreamEventSink {
  private readonly streams = new Map<string, StreamQueue>();
  private readonly idle = new Set<() => void>();
  private readonly log: Logger;

  constructor(private readonly opts: OutboxOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  started(ev: StreamStartedEvent): void {
    this.enqueue(ev.streamId, { type: 'stream_started', ev });
  }

  ended(ev: StreamEndedEvent): void {
    this.enqueue(ev.streamId, { type: 'stream_ended', ev });
  }

  /** Items not yet delivered. */
  get pending(): number {
    let n = 0;
    for (const q of this.streams.values()) n += q.items.length;
    return n;
  }

  flush(ms: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        this.opts.clock.clearTimeout(timer);
        this.idle.delete(done);
        resolve(true);
      };
      const timer = this.opts.clock.setTimeout(() => {
        this.idle.delete(done);
        // Hurry what waits in backoff: this is the last chance before exit.
        resolve(this.pending === 0);
      }, ms);
      this.idle.add(done);
      for (const [id, q] of this.streams) {
        if (!q.busy && q.items.length > 0) {
          if (q.timer !== undefined) this.opts.clock.clearTimeout(q.timer);
          q.timer = undefined;
          void this.deliver(id);
        }
      }
    });
  }

  close(): void {
    for (const q of this.streams.values()) if (q.timer !== undefined) this.opts.clock.clearTimeout(q.timer);
    this.streams.clear();
  }

  private enqueue(streamId: string, item: Item): void {
    let q = this.streams.get(streamId);
    if (!q) {
      q = { items: [], accepted: false, refused: false, done: false, attempts: 0, busy: false, timer: undefined };
      this.streams.set(streamId, q);
    }
    if (item.type === 'stream_ended' && q.refused) {
      this.opts.onResult?.('stream_ended', 'dropped');
      this.log.warn({ stream: streamId }, 'stream_ended not sent: its stream_started was refused');
      this.settle(streamId, q);
      return;
    }
    q.items.push(item);
    if (!q.busy && q.timer === undefined) void this.deliver(streamId);
  }

  private async deliver(streamId: string): Promise<void> {
    const q = this.streams.get(streamId);
    if (!q || q.busy) return;
    const item = q.items[0];
    if (!item) return this.settle(streamId, q);
    q.busy = true;
    try {
      if (item.type === 'stream_started') await this.opts.port.streamStarted(item.ev);
      else await this.opts.port.streamEnded(item.ev);
      q.items.shift();
      q.attempts = 0;
      if (item.type === 'stream_started') q.accepted = true;
      else q.done = true;
      this.opts.onResult?.(item.type, 'ok');
    } catch (err) {
      if (err instanceof OrchestratorHttpError && err.status !== null && err.status >= 400 && err.status < 500) {
        // Refused for good: retrying cannot help.
        q.items.shift();
        if (item.type === 'stream_started') {
          q.refused = true;
          // Its end must never follow.
          q.items = q.items.filter((i) => i.type !== 'stream_ended');
        }
        this.opts.onResult?.(item.type, 'dropped');
        this.log.error({ stream: streamId, type: item.type, err: (err as Error).message }, 'orchestrator refused a stream event');
      } else {
        q.attempts++;
        this.opts.onResult?.(item.type, 'retry');
        const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(q.attempts, 10));
        this.log.warn({ stream: streamId, type: item.type, attempt: q.attempts, retryInMs: delay, err: (err as Error).message }, 'stream event not delivered yet');
        q.busy = false;
        q.timer = this.opts.clock.setTimeout(() => {
          q.timer = undefined;
          void this.deliver(streamId);
        }, delay);
        return;
      }
    }
    q.busy = false;
    if (q.items.length > 0) void this.deliver(streamId);
    else this.settle(streamId, q);
  }

  private settle(streamId: string, q: StreamQueue): void {
    if (q.items.length === 0 && (q.done || q.refused)) this.streams.delete(streamId);
    if (this.pending === 0) for (const done of [...this.idle]) done();
  }
}
