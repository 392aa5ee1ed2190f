/**
 * Time as a dependency. Every component that waits or timestamps takes a Clock, so the
 * simulator, the pool and the machines can run on virtual time in tests and on the system
 * clock in production. The shape matches XState's `Clock` (setTimeout/clearTimeout), plus
 * `now()` in epoch milliseconds.
 */
export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due order; `advanceAsync` lets
 * promise continuations run between timers so code that awaits and then schedules again
 * behaves as it would in real time.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Number of timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.current = Math.max(this.current, next.at);
      this.timers = this.timers.filter((t) => t !== next);
      next.fn();
    }
    this.current = target;
  }

  /** Like `advance`, but yields to the microtask and I/O queues between timers. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await flush();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.current = Math.max(this.current, next.at);
      this.timers = this.timers.filter((t) => t !== next);
      next.fn();
      await flush();
    }
    this.current = target;
    await flush();
  }

  private nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t;
    }
    return best;
  }
}

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
