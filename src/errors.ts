/**
 * The one table of error codes acerelay answers with before any byte of a stream. Each code
 * has a stable name (tests and players key on it, never on message text), an HTTP status and
 * a default message. 503s always carry a Retry-After (see `retryAfterSeconds`).
 */
export const ERROR_CODES = {
  missing_source: { status: 400, message: 'exactly one of id or infohash is required' },
  conflicting_source: { status: 400, message: 'give either id or infohash, not both' },
  invalid_infohash: { status: 400, message: 'infohash must be 40 hexadecimal characters' },
  invalid_id: { status: 400, message: 'id must be a non-empty content id without spaces' },
  unsupported_source: { status: 400, message: 'url, magnet and content_id sources are not supported; use id or infohash' },
  invalid_parameter: { status: 400, message: 'a query parameter is malformed' },
  unauthorized: { status: 401, message: 'a valid admin token is required' },
  not_found: { status: 404, message: 'no such stream' },
  segment_gone: { status: 410, message: 'this HLS segment left the window; reload the playlist' },
  method_not_allowed: { status: 405, message: 'this route does not answer that method' },
  internal: { status: 500, message: 'acerelay hit an internal error' },
  content_unavailable: { status: 502, message: 'the engine could not load this content' },
  engine_failed: { status: 502, message: 'no engine could start this stream' },
  provisioning_failed: { status: 502, message: 'the orchestrator failed to provision an engine' },
  orchestrator_auth: { status: 502, message: "the orchestrator refuses acerelay's API key (ACERELAY_ORCH_APIKEY)" },
  vpn_disconnected: { status: 503, message: 'the VPN is down; retry after the given time' },
  circuit_open: { status: 503, message: "the orchestrator's provisioning circuit breaker is open" },
  capacity_exhausted: { status: 503, message: 'every engine is busy and no more can be provisioned' },
  orchestrator_unavailable: { status: 503, message: 'the orchestrator cannot be reached' },
  queue_full: { status: 503, message: 'too many players are already waiting' },
  stream_not_ready: { status: 503, message: 'the channel has no complete HLS segment yet; retry after the given time (its place in the queue is kept)' },
  too_many_clients: { status: 503, message: 'too many viewers are connected to /api/events' },
  shutting_down: { status: 503, message: 'acerelay is shutting down' },
  not_ready: { status: 503, message: 'no new channel could start now' },
  journal_unavailable: { status: 503, message: 'the journal cannot be opened: streams are served, but a crash would leave them to nobody' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Retry-After used when the orchestrator gives no usable ETA (null or 0). */
export const DEFAULT_RETRY_AFTER_S = 30;

export function retryAfterSeconds(etaSeconds: number | null | undefined): number {
  if (etaSeconds == null || !Number.isFinite(etaSeconds) || etaSeconds <= 0) return DEFAULT_RETRY_AFTER_S;
  return Math.max(1, Math.ceil(etaSeconds));
}

/** An error that maps to one row of the table; carried through machines and into replies. */
export class AcerelayError extends Error {
  override name = 'AcerelayError';
  readonly status: number;
  readonly retryAfter: number | null;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    etaSeconds?: number | null,
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.status = ERROR_CODES[code].status;
    this.retryAfter = this.status === 503 ? retryAfterSeconds(etaSeconds) : null;
  }

  toJSON(): { error: { code: ErrorCode; message: string; retry_after: number | null } } {
    return { error: { code: this.code, message: this.message, retry_after: this.retryAfter } };
  }
}
