/**
 * The one place that performs an HTTP call to the orchestrator: auth header, deadline,
 * body size limit, JSON decoding and the mapping of transport failures to our errors.
 */
import { request, type Dispatcher } from 'undici';
import { classifyTransportError, deadline, describeTransportError, isCallerAbort, redact, undiciTimeout, readLimited } from '../http-errors.ts';
import type { Clock } from '../../clock.ts';
import {
  OrchestratorAuthError,
  OrchestratorBadResponseError,
  OrchestratorTimeoutError,
  OrchestratorUnreachableError,
} from './errors.ts';

export interface OrchestratorHttpOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Deadline for calls that name none. */
  timeoutMs: number;
  /** Whose time the deadlines run on (the system's by default). */
  clock?: Clock | undefined;
}

export interface CallOptions {
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  query?: Record<string, string | undefined>;
}

export interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
  /** The decoded body, or `undefined` when it is not JSON. */
  json: unknown;
}

const MAX_BODY = 8 * 1024 * 1024;

export async function call(opts: OrchestratorHttpOptions, method: 'GET' | 'POST', path: string, options: CallOptions = {}): Promise<RawAnswer> {
  const url = new URL(opts.baseUrl.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const headers: Record<string, string> = { accept: 'application/json' };
  // Sent on every call, public endpoints included: harmless there, and a deployment may protect them.
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(options.body);
  }
  const timeoutMs = options.timeoutMs ?? opts.timeoutMs;
  const limit = deadline(timeoutMs, options.signal, opts.clock);
  const signal = limit.signal;
  const where = `${method} ${url.pathname}`;
  try {
    const res = await request(url, {
      method,
      headers,
      body: payload,
      signal,
      dispatcher: opts.dispatcher,
      headersTimeout: undiciTimeout(timeoutMs, opts.clock),
      bodyTimeout: undiciTimeout(timeoutMs, opts.clock),
    });
    const text = await readLimited(res.body, MAX_BODY, () => new OrchestratorBadResponseError(`answer larger than ${MAX_BODY} bytes`));
    const contentType = String(res.headers['content-type'] ?? '');
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new OrchestratorAuthError(res.statusCode, `${where}: ${res.statusCode} ${detailText(json, text, opts.apiKey)}`);
    }
    return { status: res.statusCode, contentType, text, json };
  } catch (err) {
    if (err instanceof OrchestratorAuthError || err instanceof OrchestratorBadResponseError) throw err;
    if (isCallerAbort(err, options.signal)) throw err;
    const why = redact(describeTransportError(err), opts.apiKey);
    if (classifyTransportError(err) === 'timeout' || limit.expired()) {
      throw new OrchestratorTimeoutError(`${where}: no answer within ${timeoutMs} ms`, { cause: err });
    }
    throw new OrchestratorUnreachableError(`${where}: ${why}`, { cause: err });
  } finally {
    limit.clear();
  }
}


/**
 * A short, printable account of an error body: the `detail` when there is one, else the
 * text. The secret is removed before anything is shortened, so no part of it survives a cut.
 */
export function detailText(json: unknown, text: string, secret?: string): string {
  const detail = (json as { detail?: unknown } | undefined)?.detail;
  let out = text;
  if (typeof detail === 'string') out = detail;
  else if (detail && typeof detail === 'object') {
    const d = detail as { message?: unknown; code?: unknown };
    if (typeof d.message === 'string') out = d.message;
    else if (typeof d.code === 'string') out = d.code;
  }
  return redact(out, secret).slice(0, 200).replace(/\s+/g, ' ').trim();
}
