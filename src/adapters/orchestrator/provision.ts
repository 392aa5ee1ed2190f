/** `POST /provision/acestream`, with every error form a deployed orchestrator sends. */
import { ProvisionError, OrchestratorBadResponseError, OrchestratorHttpError } from './errors.ts';
import { call, detailText, type OrchestratorHttpOptions, type RawAnswer } from './http.ts';
import { isObject, numOrNull, parseProvision } from './parse.ts';
import type { ProvisionResult } from './types.ts';

export interface ProvisionRequest {
  labels?: Record<string, string>;
  env?: Record<string, string>;
  image?: string | null;
  hostPort?: number | null;
}

/** How the orchestrator names a full replica pool in a 500 general_error. */
const REPLICA_LIMIT = /maximum active replicas/i;

export async function provision(
  opts: OrchestratorHttpOptions,
  req: ProvisionRequest,
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<ProvisionResult> {
  const body = { labels: req.labels ?? {}, env: req.env ?? {}, image: req.image ?? null, host_port: req.hostPort ?? null };
  const answer = await call(opts, 'POST', '/provision/acestream', { body, ...options });
  if (answer.status >= 200 && answer.status < 300) {
    if (answer.json === undefined) throw new OrchestratorBadResponseError('provision answer is not JSON', answer.status);
    return parseProvision(answer.json);
  }
  throw provisionError(answer, opts.apiKey);
}

/** Turns a non-2xx provisioning answer into a ProvisionError (or an HTTP error for 4xx). */
export function provisionError(answer: RawAnswer, apiKey?: string): Error {
  const { status, json, text } = answer;
  const detail = (json as { detail?: unknown } | undefined)?.detail;
  const message = detailText(json, text, apiKey) || `HTTP ${status}`;
  if (isObject(detail)) {
    if (detail.code === 'general_error' && REPLICA_LIMIT.test(message)) {
      // The real orchestrator's full house (its replica port pool is used up): never a 503
      // max_capacity from here. It means "no room now", not "failed": wait for room.
      return new ProvisionError(status, 'blocked', 'max_capacity', message, null, true, true);
    }
    const verdict = detail.error === 'provisioning_blocked' ? 'blocked' : 'failed';
    const reason = typeof detail.code === 'string' && detail.code ? detail.code : verdict === 'blocked' ? 'unavailable' : 'general_error';
    return new ProvisionError(
      status,
      verdict,
      reason,
      message,
      numOrNull(detail.recovery_eta_seconds),
      detail.can_retry === true,
      detail.should_wait === true,
    );
  }
  if (status === 503) {
    // Older builds: a string detail on a 503 means "temporarily unavailable": wait, no ETA.
    return new ProvisionError(status, 'blocked', 'unavailable', message, null, true, true);
  }
  if (status >= 500) {
    // Text/plain 500 (Docker unreachable) or a string detail: a failure with nothing to wait for.
    return new ProvisionError(status, 'failed', 'internal', message, null, false, false);
  }
  return new OrchestratorHttpError(status, `provision: ${status} ${message}`);
}
