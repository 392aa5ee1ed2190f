/**
 * Errors of the orchestrator adapter, and the decisions taken from them. Each error has a
 * stable `code`; every caller decides through the functions at the end of this file (wait?
 * try again? a refusal of the API key? what block it leaves?), never from message text. No
 * message ever carries the API key.
 */
import type { BlockedDetails } from './types.ts';

export type OrchestratorErrorCode =
  | 'ORCH_UNREACHABLE'
  | 'ORCH_TIMEOUT'
  | 'ORCH_AUTH'
  | 'ORCH_HTTP'
  | 'ORCH_BAD_RESPONSE'
  | 'ORCH_PROVISION_BLOCKED'
  | 'ORCH_PROVISION_FAILED';

export class OrchestratorError extends Error {
  override name = 'OrchestratorError';
  constructor(
    readonly code: OrchestratorErrorCode,
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

/**
 * The fields the decisions read. An error read back from the journal (a replay) is a plain
 * object with the same fields, so it is decided alike.
 */
interface ErrorFields {
  code?: unknown;
  status?: unknown;
  shouldWait?: unknown;
}

function fieldsOf(err: unknown): ErrorFields {
  return typeof err === 'object' && err !== null ? (err as ErrorFields) : {};
}

/** The orchestrator did not answer, or not with anything usable. */
const NO_ANSWER: ReadonlySet<unknown> = new Set<OrchestratorErrorCode>(['ORCH_UNREACHABLE', 'ORCH_TIMEOUT', 'ORCH_BAD_RESPONSE']);

/**
 * Whether a failed provisioning call means "wait" (its players are held, the call is tried
 * again when the gate allows) rather than "failed": the orchestrator said so (should_wait),
 * it did not answer (well), or it answered 5xx without a verdict.
 */
export function shouldWait(err: unknown): boolean {
  const f = fieldsOf(err);
  if (f.shouldWait === true) return true;
  if (NO_ANSWER.has(f.code)) return true;
  return f.code === 'ORCH_HTTP' && typeof f.status === 'number' && f.status >= 500;
}

/**
 * Whether a provisioning call failed by the orchestrator's own trouble: a 5xx "failed" answer
 * (text 500, general_error) — not a refusal of ours, not a "wait" verdict. Before any 200 it
 * is a clean failure (a fast 502); players already held wait it out (`heldOver`).
 */
export function isOrchestratorFault(err: unknown): boolean {
  const f = fieldsOf(err);
  return f.code === 'ORCH_PROVISION_FAILED' && typeof f.status === 'number' && f.status >= 500;
}

/**
 * The orchestrator's fault seen by a session whose players already have their 200: the same
 * as an orchestrator answering 5xx without a verdict (wait, held in waiting_orchestrator; the
 * next call after the probe interval), so a held player is not reset by it before HOLD_MAX.
 */
export function heldOver(err: OrchestratorError): OrchestratorHttpError {
  return new OrchestratorHttpError(err.status ?? 500, err.message);
}

/** 401/403: the API key is missing or wrong (a configuration error, never retried). */
export function isAuthRefusal(err: unknown): boolean {
  return fieldsOf(err).code === 'ORCH_AUTH';
}

/**
 * Whether the same call may succeed when tried again: anything but a refusal for good (the
 * API key, a 4xx such as a validation error).
 */
export function isTransient(err: unknown): boolean {
  const f = fieldsOf(err);
  if (isAuthRefusal(err)) return false;
  return !(f.code === 'ORCH_HTTP' && typeof f.status === 'number' && f.status >= 400 && f.status < 500);
}

/**
 * The block a failed provisioning call leaves in force until a status says otherwise: the
 * orchestrator's own verdict ("blocked", or one that says wait), or, when it did not answer,
 * a block with no ETA (probed again after the probe interval). Null: nothing to wait for.
 */
export function blockAfterProvisioning(err: unknown): BlockedDetails | null {
  if (err instanceof ProvisionError && (err.shouldWait || err.verdict === 'blocked')) {
    return { code: err.reason, message: err.message, etaSeconds: err.etaSeconds, canRetry: err.canRetry, shouldWait: true };
  }
  if (shouldWait(err)) {
    return { code: 'orchestrator_unreachable', message: (err as Error).message, etaSeconds: null, canRetry: false, shouldWait: true };
  }
  return null;
}
