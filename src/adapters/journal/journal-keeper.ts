/**
 * Opens the journal, and keeps trying while it cannot be opened (its directory cannot be made,
 * a read-only or full disk, another process holding the file): at once, then after 1 s,
 * doubling to 60 s. acerelay serves meanwhile; the journal keeps its writes in memory and
 * writes them when it opens. A late open is announced (`onLateOpen`) so that what depends on
 * the file's contents (the hub's numbering, the crash recovery of an earlier run) catches up.
 */
import type { Clock, TimerHandle } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import type { Journal } from './journal.ts';

export interface KeeperOptions {
  journal: Journal;
  clock: Clock;
  logger: Logger;
  /** Each failed attempt (counted with the journal's errors). */
  onFailure?: (err: Error) => void;
  /** Whether the journal is open, after every attempt (the gauge). */
  onAvailability?: (available: boolean) => void;
  firstRetryMs?: number;
  maxRetryMs?: number;
}

export interface JournalMissing {
  /** Why the last attempt failed (SQLite's or the file system's code and message). */
  error: string;
  /** When the next attempt is due, from now. */
  retryInMs: number;
}

export class JournalKeeper {
  private failures = 0;
  private timer: TimerHandle | undefined;
  private retryAt = 0;
  private lastError = '';
  private lateOpen: () => void = () => {};
  private closed = false;

  constructor(private readonly opts: KeeperOptions) {}

  /** The first attempt, synchronous; on failure the retries are scheduled. Returns whether it is open. */
  open(): boolean {
    this.attempt();
    return this.opts.journal.available;
  }

  /** What runs once the journal opens after acerelay started without it. */
  onLateOpen(fn: () => void): void {
    this.lateOpen = fn;
  }

  /** Null while the journal is open; else why it is missing and when it is tried again. */
  get missing(): JournalMissing | null {
    if (this.opts.journal.available) return null;
    return { error: this.lastError, retryInMs: Math.max(0, this.retryAt - this.opts.clock.now()) };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private attempt(): void {
    this.timer = undefined;
    if (this.closed) return;
    const { journal, logger, clock } = this.opts;
    try {
      const setAside = journal.tryOpen();
      if (setAside) {
        logger.error({ path: journal.path, problem: setAside.problem, movedTo: setAside.aside }, 'journal file could not be read: moved aside, a fresh journal started (its history is in the file moved aside)');
      }
    } catch (err) {
      const e = err as Error & { code?: string };
      this.failures++;
      this.lastError = e.code ? `${e.code}: ${e.message}` : e.message;
      const delay = Math.min(this.opts.maxRetryMs ?? 60_000, (this.opts.firstRetryMs ?? 1_000) * 2 ** Math.min(this.failures - 1, 16));
      this.retryAt = clock.now() + delay;
      this.timer = clock.setTimeout(() => this.attempt(), delay);
      this.opts.onFailure?.(e);
      this.opts.onAvailability?.(false);
      logger.error(
        { path: journal.path, err: this.lastError, attempt: this.failures, retryInMs: delay },
        'journal unavailable: streaming without history or crash recovery until it opens; entries wait in memory',
      );
      return;
    }
    this.opts.onAvailability?.(journal.available);
    if (journal.available && this.failures > 0) {
      logger.warn({ path: journal.path, attempts: this.failures + 1 }, 'journal opened: the entries that waited are written, history and crash recovery resume');
      this.lateOpen();
    }
  }
}
