export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerTransition {
  t: number;
  from: BreakerState;
  to: BreakerState;
  by: 'control' | 'tick' | 'restart';
}

export interface BreakerSnapshot {
  state: BreakerState;
  failure_count: number;
  failure_threshold: number;
  last_failure_time: number | null;
  last_success_time: number | null;
  recovery_timeout: number;
  /** Seconds left of the recovery timeout: counts down, sits at 0 until the next tick; null = no ETA. */
  eta: number | null;
  deadline: number | null;
}

/**
 * The orchestrator's provisioning circuit breaker as a proxy sees it. Only the autoscaler
 * tick moves it from open to half_open and back to closed (in one tick), so once the
 * recovery timeout has passed the ETA sits at 0 until the tick.
 */
export class Breaker {
  state: BreakerState = 'closed';
  /** When the recovery timeout ends; null while closed or when the ETA is unknown. */
  deadline: number | null = null;
  failureCount = 0;
  lastFailureTime: number | null = null;
  lastSuccessTime: number | null;
  readonly transitions: BreakerTransition[] = [];

  constructor(
    now: number,
    readonly failureThreshold = 5,
    readonly recoveryTimeoutS = 300,
  ) {
    this.lastSuccessTime = now;
  }

  private move(to: BreakerState, now: number, by: BreakerTransition['by']): void {
    if (to !== this.state) this.transitions.push({ t: now, from: this.state, to, by });
    this.state = to;
  }

  /** Control API: `eta` undefined = the default recovery timeout; null = no ETA, open until changed. */
  set(state: BreakerState, eta: number | null | undefined, now: number): void {
    this.move(state, now, 'control');
    if (state === 'closed') {
      this.deadline = null;
      this.failureCount = 0;
      this.lastSuccessTime = now;
      return;
    }
    const seconds = eta === undefined ? (state === 'open' ? this.recoveryTimeoutS : 0) : eta;
    this.deadline = seconds === null ? null : now + seconds * 1000;
    if (state === 'open') {
      this.failureCount = Math.max(this.failureCount, this.failureThreshold);
      this.lastFailureTime = now;
    }
  }

  etaSeconds(now: number): number | null {
    if (this.state === 'closed' || this.deadline === null) return null;
    return Math.max(0, Math.ceil((this.deadline - now) / 1000));
  }

  /** The autoscaler tick: an expired breaker goes open → half_open → closed. */
  tick(now: number): void {
    if (this.state === 'closed' || this.deadline === null || now < this.deadline) return;
    if (this.state === 'open') this.move('half_open', now, 'tick');
    this.move('closed', now, 'tick');
    this.deadline = null;
    this.failureCount = 0;
    this.lastSuccessTime = now;
  }

  /** An orchestrator restart forgets the breaker. */
  reset(now: number): void {
    this.move('closed', now, 'restart');
    this.deadline = null;
    this.failureCount = 0;
  }

  snapshot(now: number): BreakerSnapshot {
    return {
      state: this.state,
      failure_count: this.failureCount,
      failure_threshold: this.failureThreshold,
      last_failure_time: this.lastFailureTime,
      last_success_time: this.lastSuccessTime,
      recovery_timeout: this.recoveryTimeoutS,
      eta: this.etaSeconds(now),
      deadline: this.deadline,
    };
  }
}
