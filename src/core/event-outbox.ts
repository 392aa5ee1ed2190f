/**
 * Delivers stream_started / stream_ended to the orchestrator: at least once, in order per
 * stream, with backoff while the orchestrator is down, slow or answering 5xx.
 *  - An end waits behind its stream's start (one queue per stream).
 *  - An end goes out only when the orchestrator lists that id as started, asked just before,
 *    by id: after a restart of either side (ours: kill -9; theirs: every id forgotten) an end
 *    for an id it does not know would end *another* stream. A late start may have been filed
 *    under another container (the real orchestrator files an unknown container's stream under
 *    the engine with the same host:port), so the end names the container the listing shows.
 *  - A start refused for good (4xx) is dropped, and so is its end, whenever it comes.
 *  - 401/403 is a configuration error (the API key), not a transient one: the event is dropped
 *    at once (never retried, never holding up a shutdown) and reported.
 *  - An end whose start was in flight when an earlier run died is asked about again for a
 *    while before it is given up: the orchestrator may register that start late.
 * Items come through the journal (with the entry that caused them): written before they get
 * here, unless its write failed or it is not open yet — then they are delivered all the same
 * and written later, with their outcome. Outcomes are written back; undelivered items are
 * resumed after a restart.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { StreamEndedEvent, StreamStartedEvent } from '../adapters/orchestrator/types.ts';
import { isAuthRefusal, isTransient, type OrchestratorError } from '../adapters/orchestrator/errors.ts';
import type { OutboxItem, OutboxStore, OutboxType } from '../domain/journal.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';

export interface EventPort {
  streamStarted(ev: StreamStartedEvent): Promise<unknown>;
  streamEnded(ev: StreamEndedEvent): Promise<unknown>;
  /** The orchestrator's started streams, a fresh read: stream id → the container it files it under. */
  startedStreams(): Promise<Map<string, string>>;
}

/** Where delivery outcomes are written (the journal). */
export type OutboxPersistence = Pick<OutboxStore, 'settle' | 'noteAttempt'>;

export type DeliveryResult = 'ok' | 'retry' | 'dropped' | 'unlisted';

export interface OutboxOptions {
  port: EventPort;
  clock: Clock;
  logger?: Logger;
  persistence?: OutboxPersistence;
  onResult?: (type: OutboxType, result: DeliveryResult) => void;
  /** A protected call was refused (401/403): the API key is wrong or missing. */
  onAuthFailure?: (err: OrchestratorError) => void;
  /** A protected call was accepted: the API key works. */
  onAuthOk?: () => void;
  maxBackoffMs?: number;
}

interface StreamQueue {
  items: OutboxItem[];
  attempts: number;
  busy: boolean;
  timer: TimerHandle | undefined;
  /** Listings already read that did not (yet) show an unconfirmed start. */
  lateChecks: number;
}

/**
 * When an end whose start is unconfirmed is asked about again. A start sent by a process that
 * died is processed whenever the orchestrator gets to it (a slow one takes seconds); after
 * about two minutes it is not coming.
 */
const LATE_START_CHECKS_MS = [5_000, 15_000, 30_000, 60_000];
/** Streams whose start was refused for good, remembered so their end is never sent. */
const REFUSED_KEPT = 10_000;

export class Outbox {
  private readonly streams = new Map<string, StreamQueue>();
  private readonly idle = new Set<() => void>();
  /** The started-streams read in flight: concurrent ends share it. */
  private listing: Promise<Map<string, string>> | null = null;
  /** Starts refused for good; kept beyond their queue so a later end is dropped too. */
  private readonly refused = new Set<string>();
  /** Starts delivered whose end has not been handed over yet: what a re-announce sends again. */
  private readonly announced = new Map<string, StreamStartedEvent>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: OutboxOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  /** Items not yet delivered or dropped. */
  get pending(): number {
    let n = 0;
    for (const q of this.streams.values()) n += q.items.length;
    return n;
  }

  /** Whether anything about this stream is still waiting to go out. */
  has(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  /** Streams whose start was delivered and whose end was not handed over: live, as far as the orchestrator should know. */
  liveStreams(): ReadonlyMap<string, StreamStartedEvent> {
    return this.announced;
  }

  enqueue(item: OutboxItem): void {
    if (this.closed) return;
    if (item.type === 'stream_ended') this.announced.delete(item.streamId);
    if (item.type === 'stream_ended' && this.refused.has(item.streamId)) {
      this.finishItem(item, 'dropped', 'its stream_started was refused');
      return;
    }
    let q = this.streams.get(item.streamId);
    if (!q) {
      q = { items: [], attempts: 0, busy: false, timer: undefined, lateChecks: 0 };
      this.streams.set(item.streamId, q);
    }
    q.items.push(item);
    if (!q.busy && q.timer === undefined) void this.deliver(item.streamId);
  }

  /** Resolves true when everything queued was delivered or dropped within `ms`. */
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
        resolve(this.pending === 0);
      }, ms);
      this.idle.add(done);
      // Last chance before exit: what waits in backoff tries now.
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
    this.closed = true;
    for (const q of this.streams.values()) if (q.timer !== undefined) this.opts.clock.clearTimeout(q.timer);
    this.streams.clear();
  }

  /**
   * A fresh read of the orchestrator's started streams (id → container). Concurrent callers
   * share one call; pass `fresh` to wait for a read that begins after this call.
   */
  startedStreams(fresh = false): Promise<Map<string, string>> {
    if (this.listing && !fresh) return this.listing;
    const read = this.opts.port.startedStreams().finally(() => {
      if (this.listing === read) this.listing = null;
    });
    this.listing = read;
    return read;
  }

  private async deliver(streamId: string): Promise<void> {
    const q = this.streams.get(streamId);
    if (!q || q.busy || this.closed) return;
    const item = q.items[0];
    if (!item) return this.settle(streamId, q);
    q.busy = true;
    try {
      if (item.type === 'stream_started') {
        const ev = item.payload as StreamStartedEvent;
        await this.opts.port.streamStarted(ev);
        // Its end may already be queued behind it: then it is not live any more.
        if (!q.items.some((i) => i.type === 'stream_ended')) this.announced.set(streamId, ev);
        this.finishItem(item, 'delivered');
      } else {
        const containerId = await this.listedUnder(streamId);
        if (containerId !== null) {
          await this.opts.port.streamEnded({ ...(item.payload as StreamEndedEvent), containerId });
          this.finishItem(item, 'delivered');
        } else if (item.startUnconfirmed && q.lateChecks < LATE_START_CHECKS_MS.length) {
          return this.tryAgainIn(streamId, q, LATE_START_CHECKS_MS[q.lateChecks++]!);
        } else {
          this.finishItem(item, 'unlisted', 'the orchestrator does not list this stream as started');
        }
      }
      q.items.shift();
      q.attempts = 0;
    } catch (err) {
      if (this.closed) return;
      if (!isTransient(err)) {
        q.items.shift();
        this.finishItem(item, 'dropped', (err as Error).message);
        if (isAuthRefusal(err)) this.opts.onAuthFailure?.(err as OrchestratorError);
        if (item.type === 'stream_started') {
          this.rememberRefused(streamId);
          for (const end of q.items.filter((i) => i.type === 'stream_ended')) this.finishItem(end, 'dropped', 'its stream_started was refused');
          q.items = q.items.filter((i) => i.type !== 'stream_ended');
        }
      } else {
        q.attempts++;
        const message = (err as Error).message;
        this.opts.persistence?.noteAttempt(streamId, item.type, message);
        this.opts.onResult?.(item.type, 'retry');
        const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(q.attempts - 1, 10));
        if (q.attempts === 1 || q.attempts % 10 === 0) {
          this.log.warn({ stream: streamId, type: item.type, attempt: q.attempts, retryInMs: delay, err: message }, 'stream event not delivered yet');
        }
        return this.tryAgainIn(streamId, q, delay);
      }
    }
    q.busy = false;
    if (q.items.length > 0) void this.deliver(streamId);
    else this.settle(streamId, q);
  }

  /** The stream's head item is tried again after `ms`; nothing behind it goes first. */
  private tryAgainIn(streamId: string, q: StreamQueue, ms: number): void {
    q.busy = false;
    q.timer = this.opts.clock.setTimeout(() => {
      q.timer = undefined;
      void this.deliver(streamId);
    }, ms);
  }

  /**
   * The container the orchestrator files this started stream under, or null when it does not
   * list it. A shared read may predate this stream's start, so "not listed" is asked once more
   * on a read of its own before it counts.
   */
  private async listedUnder(streamId: string): Promise<string | null> {
    const shared = await this.startedStreams();
    const container = shared.get(streamId) ?? (await this.startedStreams(true)).get(streamId);
    return container ?? null;
  }

  private finishItem(item: OutboxItem, result: 'delivered' | 'dropped' | 'unlisted', why?: string): void {
    this.opts.persistence?.settle(item.streamId, item.type, result === 'delivered' ? 'delivered' : 'dropped', why ?? null);
    this.opts.onResult?.(item.type, result === 'delivered' ? 'ok' : result);
    if (result === 'delivered') this.opts.onAuthOk?.();
    else this.log.warn({ stream: item.streamId, type: item.type, why }, 'stream event not sent');
  }

  private rememberRefused(streamId: string): void {
    this.refused.add(streamId);
    if (this.refused.size > REFUSED_KEPT) {
      const oldest = this.refused.values().next().value;
      if (oldest !== undefined) this.refused.delete(oldest);
    }
  }

  private settle(streamId: string, q: StreamQueue): void {
    if (q.items.length === 0 && !q.busy) this.streams.delete(streamId);
    if (this.pending === 0) for (const done of [...this.idle]) done();
  }
}
