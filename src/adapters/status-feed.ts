/**
 * The only poller of `GET /orchestrator/status` (and `GET /engines`, read in the same beat).
 * Every consumer shares one RxJS stream of FeedState:
 *   - every `intervalMs` (30 s) while healthy,
 *   - every `degradedIntervalMs` (10 s) while degraded,
 *   - every `heldIntervalMs` (2 s) while any player is held: they resume as soon as a poll
 *     says so (one poller all the same),
 *   - after a failure: 1, 2, 4, 8 s … capped at the degraded interval.
 * A 5xx, timeout, stall or garbage answer makes the state "unknown"; the last good status and
 * its time are kept so consumers can judge its age. `kick()` asks for a poll now (at most one
 * in flight, never closer than `minGapMs` to the previous one).
 */
import { BehaviorSubject, Observable, Subject, defer, exhaustMap, expand, from, map, catchError, of, race, shareReplay, take, timer, type Subscription } from 'rxjs';
import type { Clock } from '../clock.ts';
import { clockScheduler } from '../clock-scheduler.ts';
import type { EngineInfo, OrchestratorStatus } from './orchestrator/types.ts';

export type FeedKind = 'fresh' | 'unknown' | 'disabled';

export interface FeedState {
  kind: FeedKind;
  /** Last good status (kept while unknown). */
  status: OrchestratorStatus | null;
  /** Last good engine list (kept while unknown). */
  engines: EngineInfo[] | null;
  /** Clock time the last good status arrived. */
  observedAt: number | null;
  /** Clock time of the latest poll's end, good or bad. */
  polledAt: number | null;
  /** Why the latest poll failed (null when it succeeded). */
  error: string | null;
  /** Consecutive failed polls. */
  failures: number;
}

export interface StatusSource {
  status(options?: { timeoutMs?: number }): Promise<OrchestratorStatus>;
  engines(): Promise<EngineInfo[]>;
}

export interface StatusFeedOptions {
  source: StatusSource;
  clock: Clock;
  intervalMs: number;
  degradedIntervalMs: number;
  /** While players are held (defaults to the degraded interval). */
  heldIntervalMs?: number;
  timeoutMs: number;
  minGapMs?: number;
  /** How many players are held right now (drives the faster cadence). */
  held?: () => number;
}

export interface StatusFeed {
  readonly state$: Observable<FeedState>;
  current(): FeedState;
  kick(): void;
  close(): void;
}

export const INITIAL_FEED: FeedState = {
  kind: 'unknown',
  status: null,
  engines: null,
  observedAt: null,
  polledAt: null,
  error: 'not polled yet',
  failures: 0,
};

export const DISABLED_FEED: FeedState = { ...INITIAL_FEED, kind: 'disabled', error: null };

/** Degraded when the orchestrator says so or names a block; healthy otherwise. */
export function isDegraded(status: OrchestratorStatus): boolean {
  return status.status !== 'healthy' || status.provisioning.blocked !== null || !status.provisioning.canProvision;
}

export function nextPollDelay(state: FeedState, held: number, opts: Pick<StatusFeedOptions, 'intervalMs' | 'degradedIntervalMs' | 'heldIntervalMs'>): number {
  const heldMs = held > 0 ? (opts.heldIntervalMs ?? opts.degradedIntervalMs) : Infinity;
  if (state.kind !== 'fresh' || !state.status) {
    return Math.min(opts.degradedIntervalMs, heldMs, 1000 * 2 ** Math.max(0, state.failures - 1));
  }
  if (isDegraded(state.status)) return Math.min(opts.degradedIntervalMs, heldMs);
  return Math.min(opts.intervalMs, heldMs);
}

export function createStatusFeed(opts: StatusFeedOptions): StatusFeed {
  const scheduler = clockScheduler(opts.clock);
  const minGap = opts.minGapMs ?? 1000;
  const kicks = new Subject<void>();
  const latest = new BehaviorSubject<FeedState>(INITIAL_FEED);
  let lastPollStart = -Infinity;

  const pollOnce = (prev: FeedState): Observable<FeedState> =>
    defer(() => {
      lastPollStart = opts.clock.now();
      return from(Promise.all([opts.source.status({ timeoutMs: opts.timeoutMs }), opts.source.engines()]));
    }).pipe(
      map(([status, engines]): FeedState => {
        const now = opts.clock.now();
        return { kind: 'fresh', status, engines, observedAt: now, polledAt: now, error: null, failures: 0 };
      }),
      catchError((err: unknown) =>
        of<FeedState>({
          ...prev,
          kind: 'unknown',
          polledAt: opts.clock.now(),
          error: err instanceof Error ? err.message : String(err),
          failures: prev.failures + 1,
        }),
      ),
    );

  const wait = (state: FeedState): Observable<unknown> => {
    const delay = nextPollDelay(state, opts.held?.() ?? 0, opts);
    const kicked = kicks.pipe(
      take(1),
      // A kick right after a poll waits out the minimum gap instead of hammering.
      exhaustMap(() => timer(Math.max(0, lastPollStart + minGap - opts.clock.now()), scheduler)),
    );
    return race(timer(delay, scheduler), kicked).pipe(take(1));
  };

  const state$ = pollOnce(INITIAL_FEED).pipe(
    expand((state) => wait(state).pipe(exhaustMap(() => pollOnce(state)))),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
  const keep: Subscription = state$.subscribe(latest);

  return {
    state$: latest.asObservable(),
    current: () => latest.getValue(),
    kick: () => kicks.next(),
    close: () => keep.unsubscribe(),
  };
}

/** A feed for single-engine mode: no orchestrator, nothing to poll. */
export function disabledFeed(): StatusFeed {
  const latest = new BehaviorSubject<FeedState>(DISABLED_FEED);
  return { state$: latest.asObservable(), current: () => latest.getValue(), kick: () => {}, close: () => {} };
}
