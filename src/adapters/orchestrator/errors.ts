/**
 * Errors of the orchestrator adapter. Each has a stable `code`; callers branch on the class
 * or the code, never on message text. No message ever carries the API key.
 */
export class OrchestratorError extends Error {
  override name = 'OrchestratorError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Connection refused/reset, DNS failure: the orchestrator is down or unreachable. */
export class OrchestratorUnreachableError extends OrchestratorError {
  override name = 'OrchestratorUnreachableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ORCH_UNREACHABLE', message, null, options);
  }
}

/** No (complete) answer within the timeout: a stalled orchestrator. */
export class OrchestratorTimeoutError extends OrchestratorError {
  override name = 'OrchestratorTimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ORCH_TIMEOUT', message, null, options);
  }
}

/** 401/403: the API key is missing or wrong. */
export class OrchestratorAuthError extends OrchestratorError {
  override name = 'OrchestratorAuthError';
  constructor(status: number, message: string) {
    super('ORCH_AUTH', message, status);
  }
}

/** An HTTP error answer that is not a provisioning verdict (5xx text, 422, …). */
export class OrchestratorHttpError extends OrchestratorError {
  override name = 'OrchestratorHttpError';
  constructor(status: number, message: string) {
    super('ORCH_HTTP', message, status);
  }
}

/** A 2xx answer whose body is not what the contract promises (garbage JSON, wrong shape). */
export class OrchestratorBadResponseError extends OrchestratorError {
  override name = 'OrchestratorBadResponseError';
  constructor(message: string, status: number | null = null) {
    super('ORCH_BAD_RESPONSE', message, status);
  }
}

export type ProvisionVerdict = 'blocked' | 'failed';

/**
 * A provisioning call that the orchestrator refused or failed. `reason` is the orchestrator's
 * code when it gave one (vpn_disconnected, circuit_breaker, vpn_error, general_error), else
 * `unavailable` (string detail) or `internal` (text 500).
 */
export class ProvisionError extends OrchestratorError {
  override name = 'ProvisionError';
  constructor(
    status: number,
    readonly verdict: ProvisionVerdict,
    readonly reason: string,
    message: string,
    readonly etaSeconds: number | null,
    readonly canRetry: boolean,
    readonly shouldWait: boolean,
  ) {
    super(verdict === 'blocked' ? 'ORCH_PROVISION_BLOCKED' : 'ORCH_PROVISION_FAILED', message, status);
  }
}
