/**
 * Shared mapping from undici/network failures to the two failure kinds the adapters care
 * about: the peer could not be reached, or it did not answer in time.
 */
import { systemClock, type Clock } from '../clock.ts';

export type TransportFailure = 'unreachable' | 'timeout';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'ENGINE_BODY_TIMEOUT']);

export function classifyTransportError(err: unknown): TransportFailure {
  const e = err as { code?: string; name?: string; cause?: unknown } | null;
  if (e?.name === 'TimeoutError' || (e?.code && TIMEOUT_CODES.has(e.code))) return 'timeout';
  const cause = e?.cause as { code?: string; name?: string } | undefined;
  if (cause?.name === 'TimeoutError' || (cause?.code && TIMEOUT_CODES.has(cause.code))) return 'timeout';
  return 'unreachable';
}

export function describeTransportError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  const code = e?.code ?? e?.cause?.code;
  const msg = e?.message ?? String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** Whether `err` came from the caller's own signal (not a timeout of ours). */
export function isCallerAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (err === signal.reason || (err as { name?: string })?.name === 'AbortError');
}

export interface Deadline {
  signal: AbortSignal;
  /** Whether the deadline (not the caller) ended the call. */
  expired(): boolean;
  /** Cancels the timer once the call is over. */
  clear(): void;
}

/**
 * Joins an optional caller signal with a deadline on `clock` (the system clock by default,
 * the virtual one in the chaos harness, so "slow" means slow in the harness's time too).
 */
export function deadline(ms: number, signal: AbortSignal | undefined, clock: Clock = systemClock): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = clock.setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  return { signal: combined, expired: () => expired, clear: () => clock.clearTimeout(timer) };
}

/** undici's own timers are real time: with a virtual clock they must not fire before ours. */
export function undiciTimeout(ms: number, clock: Clock | undefined): number {
  return clock && clock !== systemClock ? Math.max(ms, 600_000) : ms;
}

/** Removes every occurrence of a secret from text that may reach a log line or an error. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('***');
}

/** Drops a response body unread. The listener keeps the abort this causes from being an unhandled error. */
export function discard(body: { on(event: 'error', fn: () => void): unknown; destroy(): void }): void {
  body.on('error', () => {});
  body.destroy();
}

/** Reads a whole (small) body as text, giving up past `limit` bytes with `tooLarge()`'s error. */
export async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number, tooLarge: () => Error): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
