export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerTransition {
  t: number;
  from: BreakerState;
  to: BreakerState;
  by: 'control' | 'tick' | 'autoscaler' | 'restart';
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
 * The orchestrator's provisioning circuit breaker. Only the autoscaler's own creates count
 * (failures, and successes that close it); `/provision` never moves it. Only the autoscaler
 * tick ends the recovery timeout: open → half_open, then its create (the probe) closes it
 * or reopens it with a fresh timeout, in the same tick, so once the timeout has passed the
 * ETA sits at 0 until the tick.
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
    public failureThreshold = 5,
    public recoveryTimeoutS = 300,
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

  /** Whether the autoscaler may create engines now (closed, or probing in half_open). */
  get allowsAutoscaler(): boolean {
    return this.state !== 'open';
  }

  /**
   * Start of an autoscaler tick: an expired open breaker moves to half_open. True when this
   * tick is a probe (the breaker is half_open and due), whose outcome `endProbe` applies.
   * Expired means strictly past the timeout, as the real one compares: a breaker opened by a
   * tick with a timeout of whole ticks (300 s) sits at ETA 0 for one more tick.
   */
  beginTick(now: number): boolean {
    if (this.state === 'closed' || this.deadline === null || now <= this.deadline) return false;
    if (this.state === 'open') this.move('half_open', now, 'tick');
    return true;
  }

  /** End of a probing tick: still half_open (the probe did not fail) → closed. */
  endProbe(now: number): void {
    if (this.state !== 'half_open') return;
    this.move('closed', now, 'tick');
    this.deadline = null;
    this.failureCount = 0;
    this.lastSuccessTime = now;
  }

  /** An autoscaler create failed: enough of them open it; a failed probe reopens it with a fresh timeout. */
  recordFailure(now: number): void {
    this.failureCount += 1;
    this.lastFailureTime = now;
    if (this.state === 'half_open' || (this.state === 'closed' && this.failureCount >= this.failureThreshold)) {
      this.move('open', now, 'autoscaler');
      this.deadline = now + this.recoveryTimeoutS * 1000;
    }
  }

  /** An autoscaler create succeeded. */
  recordSuccess(now: number): void {
    this.failureCount = 0;
    this.lastSuccessTime = now;
    if (this.state !== 'closed') {
      this.move('closed', now, 'autoscaler');
      this.deadline = null;
    }
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
