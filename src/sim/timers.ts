import type { Clock, TimerHandle } from '../clock.ts';

/**
 * Clock timers owned by one component, so closing it cancels every pending delay. All
 * simulator waiting goes through here: with a ManualClock nothing moves until advanced.
 */
export class TimerSet {
  private readonly handles = new Set<TimerHandle>();

  constructor(readonly clock: Clock) {}

  set(fn: () => void, ms: number): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
    return handle;
  }

  clear(handle: TimerHandle | null | undefined): void {
    if (handle === null || handle === undefined) return;
    this.handles.delete(handle);
    this.clock.clearTimeout(handle);
  }

  /** Resolves after `ms` of clock time; never resolves once the set is cleared. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (ms <= 0) return resolve();
      this.set(resolve, ms);
    });
  }

  clearAll(): void {
    for (const h of this.handles) this.clock.clearTimeout(h);
    this.handles.clear();
  }
}
