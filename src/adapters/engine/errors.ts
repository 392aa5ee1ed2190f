/**
 * Errors of the engine adapter, with stable codes. The session machine decides from the
 * code whether to retry the same engine, try another, or give up on the content.
 */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: string,
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
