/**
 * Engine sessions get `method=stop` until the engine confirms (or says it never heard of
 * them). A stop that fails because the engine is briefly unreachable is retried in the
 * background with backoff, so a session outlives neither its players nor an engine hiccup.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';

export interface Stopper {
  stop(commandUrl: string): Promise<boolean>;
}

const RETRY_MS = [2_000, 4_000, 8_000, 16_000, 30_000];
/** After this long the engine has surely expired the session itself (engines drop unread sessions in ~60 s). */
const GIVE_UP_AFTER_MS = 10 * 60_000;

export class StopJanitor implements Stopper {
  private readonly pending = new Map<string, { since: number; tries: number; timer: TimerHandle }>();
  private closed = false;

  constructor(
    private readonly engine: Stopper,
    private readonly clock: Clock,
    private readonly log: Logger = silentLogger,
  ) {}

  /** Stops now; when the engine cannot be reached, keeps trying in the background. Resolves after the first try. */
  async stop(commandUrl: string): Promise<boolean> {
    try {
      return await this.engine.stop(commandUrl);
    } catch (err) {
      this.retryLater(commandUrl, err as Error);
      throw err;
    }
  }

  get retrying(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer);
    this.pending.clear();
  }

  private retryLater(commandUrl: string, err: Error): void {
    if (this.closed) return;
    const prev = this.pending.get(commandUrl);
    const since = prev?.since ?? this.clock.now();
    const tries = (prev?.tries ?? 0) + 1;
    if (this.clock.now() - since > GIVE_UP_AFTER_MS) {
      this.pending.delete(commandUrl);
      this.log.warn({ err: err.message, tries }, 'giving up stopping an engine session (the engine expires it by itself)');
      return;
    }
    const timer = this.clock.setTimeout(() => {
      this.engine.stop(commandUrl).then(
        () => this.pending.delete(commandUrl),
        (e: Error) => this.retryLater(commandUrl, e),
      );
    }, RETRY_MS[Math.min(tries - 1, RETRY_MS.length - 1)]!);
    this.pending.set(commandUrl, { since, tries, timer });
  }
}
