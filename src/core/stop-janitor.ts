/**
 * Engine sessions get `method=stop` until the engine confirms (or says it never heard of
 * them). A stop that fails because the engine is briefly unreachable is retried in the
 * background with backoff, so a session outlives neither its players nor an engine hiccup.
 *
 * Every cleanup is written to the journal before its first try and removed when it lands:
 * a crash while one is outstanding leaves it to the next run (`resume`), which would
 * otherwise find the session journaled as stopped and never stop it.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { StartRequest } from '../adapters/engine/start.ts';
import type { StartedPlayback } from '../domain/stream.ts';
import type { CleanupStore } from '../domain/journal.ts';
import { isTransient } from '../adapters/engine/errors.ts';

/** What a cleanup does: plain data, so it can wait in the journal across a crash. */
export type Cleanup =
  | { kind: 'stop'; commandUrl: string }
  /**
   * A start was in flight at a crash: the engine may hold a session we never heard of.
   * Starting the same content with the same pid replaces it, and the replacement is stopped.
   */
  | { kind: 'replace_and_stop'; engineBase: string; request: StartRequest };

export interface CleanupEngine {
  start(engineBase: string, req: StartRequest): Promise<StartedPlayback>;
  stop(commandUrl: string): Promise<boolean>;
}

export interface JanitorOptions {
  log?: Logger;
  /** Where outstanding cleanups are kept (the journal); absent, they live in memory only. */
  store?: CleanupStore | null;
  /** A retried cleanup landed (or was given up): its engine has room again. */
  onSettled?: () => void;
}

const RETRY_MS = [2_000, 4_000, 8_000, 16_000, 30_000];
/** After this long the engine has surely expired the session itself (engines drop unread sessions in ~60 s). */
const GIVE_UP_AFTER_MS = 10 * 60_000;

export class StopJanitor {
  /** Cleanups waiting for a retry, by key. */
  private readonly pending = new Map<string, { since: number; tries: number; timer: TimerHandle; origin: string }>();
  /** First tries on their way, by key: asking again for the same cleanup joins them. */
  private readonly trying = new Map<string, Promise<unknown>>();
  private closed = false;
  private readonly log: Logger;
  private readonly store: CleanupStore | null;
  private readonly onSettled: () => void;

  constructor(
    private readonly engine: CleanupEngine,
    private readonly clock: Clock,
    opts: JanitorOptions = {},
  ) {
    this.log = opts.log ?? silentLogger;
    this.store = opts.store ?? null;
    this.onSettled = opts.onSettled ?? (() => {});
  }

  /** Stops now; when the engine cannot be reached, keeps trying in the background. Resolves after the first try. */
  stop(commandUrl: string): Promise<boolean> {
    return this.run({ kind: 'stop', commandUrl }).then((r) => r === true);
  }

  /**
   * Runs `task` now; when it fails because the engine cannot be reached (refused, timed out,
   * 5xx), runs it again in the background with backoff. Other failures are final. Settles
   * with the first try.
   */
  run(task: Cleanup, since = this.clock.now()): Promise<unknown> {
    const key = keyOf(task);
    // After a crash a stop can be both left in the store and due to a session recovery replays.
    const joined = this.trying.get(key);
    if (joined) return joined;
    this.store?.saveCleanup(key, task, since);
    const first = this.attempt(task).then(
      (result) => {
        this.settle(key);
        return result;
      },
      (err: unknown) => {
        if (isTransient(err)) this.retryLater(key, task, since, err as Error);
        else this.settle(key);
        throw err;
      },
    );
    this.trying.set(key, first);
    const forget = () => this.trying.delete(key);
    first.then(forget, forget);
    return first;
  }

  /** Takes over the cleanups an earlier run left outstanding: each is tried again now, in the background. */
  resume(): number {
    const rows = this.store?.pendingCleanups() ?? [];
    for (const row of rows) {
      const task = asCleanup(row.task);
      if (!task) {
        this.store?.dropCleanup(row.key);
        continue;
      }
      this.run(task, row.since).catch((err: Error) => this.log.debug({ err: err.message }, 'cleanup of an earlier run failed'));
    }
    return rows.length;
  }

  /**
   * Engine sessions on the engine at `origin` that may still run because their cleanup has
   * not landed yet: they still take room on that engine.
   */
  pendingOn(origin: string): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.origin === origin) n++;
    return n;
  }

  get retrying(): number {
    return this.pending.size;
  }

  /** Stops retrying in this process; what is outstanding stays in the store for the next run. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer);
    this.pending.clear();
  }

  private attempt(task: Cleanup): Promise<unknown> {
    if (task.kind === 'stop') return this.engine.stop(task.commandUrl);
    return this.engine.start(task.engineBase, task.request).then((s) => (s.commandUrl ? this.engine.stop(s.commandUrl) : undefined));
  }

  /** The cleanup landed, failed for good, or was given up: nothing more to do for it. */
  private settle(key: string): void {
    this.store?.dropCleanup(key);
    const p = this.pending.get(key);
    if (!p) return;
    this.clock.clearTimeout(p.timer);
    this.pending.delete(key);
    this.onSettled();
  }

  private retryLater(key: string, task: Cleanup, since: number, err: Error): void {
    if (this.closed) return;
    const prev = this.pending.get(key);
    if (prev) this.clock.clearTimeout(prev.timer);
    const tries = (prev?.tries ?? 0) + 1;
    if (this.clock.now() - since > GIVE_UP_AFTER_MS) {
      this.settle(key);
      this.log.warn({ err: err.message, tries }, 'giving up stopping an engine session (the engine expires it by itself)');
      return;
    }
    const timer = this.clock.setTimeout(() => {
      this.attempt(task).then(
        () => this.settle(key),
        (e: Error) => (isTransient(e) ? this.retryLater(key, task, since, e) : this.settle(key)),
      );
    }, RETRY_MS[Math.min(tries - 1, RETRY_MS.length - 1)]!);
    this.pending.set(key, { since, tries, timer, origin: originOf(task) });
  }
}

function keyOf(task: Cleanup): string {
  return task.kind === 'stop' ? task.commandUrl : `${task.engineBase}|${task.request.pid}`;
}

function originOf(task: Cleanup): string {
  try {
    return new URL(task.kind === 'stop' ? task.commandUrl : task.engineBase).origin;
  } catch {
    return '';
  }
}

/** A stored task as this version understands it; anything else is dropped. */
function asCleanup(v: unknown): Cleanup | null {
  const t = v as Partial<Record<string, unknown>> | null;
  if (t?.kind === 'stop' && typeof t.commandUrl === 'string') return { kind: 'stop', commandUrl: t.commandUrl };
  if (t?.kind === 'replace_and_stop' && typeof t.engineBase === 'string' && typeof (t.request as { pid?: unknown } | undefined)?.pid === 'string') {
    return { kind: 'replace_and_stop', engineBase: t.engineBase, request: t.request as StartRequest };
  }
  return null;
}
