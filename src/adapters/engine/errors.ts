/**
 * Errors of the engine adapter, with stable codes, and the decisions taken from them (try
 * again? give up on the content? is the engine's session gone?). Callers decide through the
 * functions at the end of this file, never from message text.
 */
export type EngineErrorCode =
  | 'ENGINE_UNREACHABLE'
  | 'ENGINE_TIMEOUT'
  | 'ENGINE_HTTP'
  | 'ENGINE_BAD_RESPONSE'
  | 'ENGINE_CONTENT_FAILED'
  | 'ENGINE_SESSION_GONE';

/**
 * Why a playing upstream was lost (the session machine's UPSTREAM_FAILED): what the upstream
 * reader found, or the error of the playback call itself.
 */
export type UpstreamFailureCode =
  /** No PAT + random-access point within the no-response timeout. */
  | 'ENGINE_NO_SYNC'
  /** No byte for EMPTY_TIMEOUT (or the body's own timeout). */
  | 'ENGINE_STALLED'
  /** The engine ended or closed the body. */
  | 'ENGINE_EOF'
  /** The body failed mid-stream (a reset). */
  | 'ENGINE_BODY_ERROR'
  /** The playback call failed with no code of ours. */
  | 'ENGINE_PLAYBACK_FAILED'
  | EngineErrorCode;

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Refused, reset, DNS: the engine is down, restarting, or not ready yet. */
export class EngineUnreachableError extends EngineError {
  override name = 'EngineUnreachableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENGINE_UNREACHABLE', message, null, options);
  }
}

/** No answer (or no bytes) in time. */
export class EngineTimeoutError extends EngineError {
  override name = 'EngineTimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENGINE_TIMEOUT', message, null, options);
  }
}

/** A non-2xx answer (500 when no source is given, 5xx from a sick engine). */
export class EngineHttpError extends EngineError {
  override name = 'EngineHttpError';
  constructor(status: number, message: string) {
    super('ENGINE_HTTP', message, status);
  }
}

/** A 2xx answer that is not the documented shape. */
export class EngineBadResponseError extends EngineError {
  override name = 'EngineBadResponseError';
  constructor(message: string) {
    super('ENGINE_BAD_RESPONSE', message);
  }
}

/** HTTP 200 with `"error":"failed to load content"` (or another 200-with-error for a start). */
export class EngineContentError extends EngineError {
  override name = 'EngineContentError';
  constructor(message: string) {
    super('ENGINE_CONTENT_FAILED', message);
  }
}

/** `unknown playback session id`: the session is dead, stopped or expired. */
export class EngineSessionGoneError extends EngineError {
  override name = 'EngineSessionGoneError';
  constructor(message: string) {
    super('ENGINE_SESSION_GONE', message);
  }
}

const ENGINE_CODES: ReadonlySet<unknown> = new Set<EngineErrorCode>([
  'ENGINE_UNREACHABLE',
  'ENGINE_TIMEOUT',
  'ENGINE_HTTP',
  'ENGINE_BAD_RESPONSE',
  'ENGINE_CONTENT_FAILED',
  'ENGINE_SESSION_GONE',
]);

/** The engine could not be reached or answered 5xx-ish: trying again later may work. */
const TRANSIENT: ReadonlySet<unknown> = new Set<EngineErrorCode>(['ENGINE_UNREACHABLE', 'ENGINE_TIMEOUT', 'ENGINE_HTTP']);

/** Reads `code` of an error, or of one read back from the journal (a plain object). */
function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** Whether the same call may succeed when tried again (the engine restarting, busy, not up yet). */
export function isTransient(err: unknown): boolean {
  return TRANSIENT.has(codeOf(err));
}

/** The engine cannot load this content: no engine will, for a while (not an engine fault). */
export function isContentFailure(err: unknown): boolean {
  return codeOf(err) === 'ENGINE_CONTENT_FAILED';
}

/** The engine no longer knows the session (stopped, expired, the engine restarted). */
export function isSessionGone(err: unknown): boolean {
  return codeOf(err) === 'ENGINE_SESSION_GONE';
}

/** The code of a playback body that failed mid-stream: undici's body timeout is a stall. */
export function bodyFailureOf(err: unknown): UpstreamFailureCode {
  return codeOf(err) === 'ENGINE_BODY_TIMEOUT' ? 'ENGINE_STALLED' : 'ENGINE_BODY_ERROR';
}

/** The code an upstream failure is reported with, for a failed playback call. */
export function upstreamFailureOf(err: unknown): UpstreamFailureCode {
  const code = codeOf(err);
  return ENGINE_CODES.has(code) ? (code as EngineErrorCode) : 'ENGINE_PLAYBACK_FAILED';
}
