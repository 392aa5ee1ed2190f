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
  private readonly pending = new Map<string, { since: number; tries: number; timer: TimerHandle; origin: string }>();
  private closed = false;

  constructor(
    private readonly engine: Stopper,
    private readonly clock: Clock,
    private readonly log: Logger = silentLogger,
    /** A retried stop landed (or was given up): its engine has room again. */
    private readonly onSettled: () => void = () => {},
  ) {}

  /** Stops now; when the engine cannot be reached, keeps trying in the background. Resolves after the first try. */
  stop(commandUrl: string): Promise<boolean> {
    return this.ensure(commandUrl, new URL(commandUrl).origin, () => this.engine.stop(commandUrl));
  }

  /**
   * Engine sessions on the engine at `origin` that may still run because their stop has not
   * landed yet: they still take room on that engine.
   */
  pendingOn(origin: string): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.origin === origin) n++;
    return n;
  }

  /**
   * Runs `attempt` now; when it fails because the engine cannot be reached (refused, timed
   * out, 5xx), runs it again in the background with backoff. Other failures are final.
   */
  async ensure<T>(key: string, origin: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      if (transient(err)) this.retryLater(key, origin, attempt as () => Promise<unknown>, err as Error);
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

  private retryLater(commandUrl: string, origin: string, attempt: () => Promise<unknown>, err: Error): void {
    if (this.closed) return;
    const prev = this.pending.get(commandUrl);
    const since = prev?.since ?? this.clock.now();
    const tries = (prev?.tries ?? 0) + 1;
    if (this.clock.now() - since > GIVE_UP_AFTER_MS) {
      this.pending.delete(commandUrl);
      this.onSettled();
      this.log.warn({ err: err.message, tries }, 'giving up stopping an engine session (the engine expires it by itself)');
      return;
    }
    const timer = this.clock.setTimeout(() => {
      const settled = () => {
        this.pending.delete(commandUrl);
        this.onSettled();
      };
      attempt().then(settled, (e: Error) => (transient(e) ? this.retryLater(commandUrl, origin, attempt, e) : settled()));
    }, RETRY_MS[Math.min(tries - 1, RETRY_MS.length - 1)]!);
    this.pending.set(commandUrl, { since, tries, timer, origin });
  }
}

const TRANSIENT = new Set(['ENGINE_UNREACHABLE', 'ENGINE_TIMEOUT', 'ENGINE_HTTP']);

function transient(err: unknown): boolean {
  return TRANSIENT.has((err as { code?: string } | null)?.code ?? '');
}
