/**
 * Whether the orchestrator accepts our API key. Its GET endpoints are public, so a wrong or
 * missing key shows only on protected calls (provisioning: 403 `invalid token`; events: 401
 * `missing bearer token` without a key). That is a configuration error: said once, loudly,
 * naming the variable, and shown by /readyz, /metrics and the inspector until a protected call
 * is accepted again.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';

export interface AuthProblem {
  status: number;
  /** What the orchestrator answered (secrets already redacted by the adapter). */
  message: string;
  since: number;
}

export class OrchestratorAuth {
  private current: AuthProblem | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly keyConfigured: boolean,
  ) {}

  get problem(): AuthProblem | null {
    return this.current;
  }

  /** A protected call answered 401/403. */
  refused(err: { status: number | null; message: string }): void {
    if (this.current) return;
    this.current = { status: err.status ?? 0, message: err.message, since: this.clock.now() };
    this.log.error(
      { status: err.status, answer: err.message },
      this.keyConfigured
        ? 'the orchestrator refuses our API key: check ACERELAY_ORCH_APIKEY (stream events are dropped, provisioning fails until it is fixed)'
        : 'the orchestrator requires an API key and none is set: set ACERELAY_ORCH_APIKEY (stream events are dropped, provisioning fails until it is set)',
    );
  }

  /** A protected call was accepted. */
  accepted(): void {
    if (!this.current) return;
    this.current = null;
    this.log.info('the orchestrator accepts our API key again');
  }
}
