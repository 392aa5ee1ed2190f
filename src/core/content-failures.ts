/**
 * Content the engine could not load, remembered for a while so repeated requests fail fast
 * instead of costing an engine start (~4 s) each.
 */
import type { Clock } from '../clock.ts';

export const CONTENT_FAILURE_MEMORY_MS = 30_000;

export class ContentFailures {
  private readonly until = new Map<string, { at: number; message: string }>();

  constructor(
    private readonly clock: Clock,
    private readonly memoryMs = CONTENT_FAILURE_MEMORY_MS,
  ) {}

  remember(keys: Array<string | null | undefined>, message: string): void {
    const at = this.clock.now() + this.memoryMs;
    for (const k of keys) if (k) this.until.set(k, { at, message });
  }

  /** The failure message while remembered, else null. */
  check(key: string): string | null {
    const hit = this.until.get(key);
    if (!hit) return null;
    if (hit.at <= this.clock.now()) {
      this.until.delete(key);
      return null;
    }
    return hit.message;
  }

  /** Drops expired entries (called now and then so the map stays small). */
  sweep(): void {
    const now = this.clock.now();
    for (const [k, v] of this.until) if (v.at <= now) this.until.delete(k);
  }
}
