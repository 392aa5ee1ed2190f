/** The one place that makes a JSON call to an engine and maps failures to engine errors. */
import { request, type Dispatcher } from 'undici';
import { classifyTransportError, discard, deadline, describeTransportError, isCallerAbort, undiciTimeout, readLimited } from '../http-errors.ts';
import type { Clock } from '../../clock.ts';
import { EngineBadResponseError, EngineHttpError, EngineTimeoutError, EngineUnreachableError } from './errors.ts';

export interface EngineCallOptions {
  timeoutMs: number;
  /** Whose time the deadline runs on (the system's by default). */
  clock?: Clock | undefined;
  signal?: AbortSignal | undefined;
  dispatcher?: Dispatcher | undefined;
}

const MAX_BODY = 1024 * 1024;

/** GETs `url` and returns its JSON body; non-2xx and non-JSON answers throw. */
export async function getJson(url: URL, options: EngineCallOptions): Promise<unknown> {
  const limit = deadline(options.timeoutMs, options.signal, options.clock);
  const signal = limit.signal;
  const where = `GET ${url.pathname}`;
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'GET',
      signal,
      dispatcher: options.dispatcher,
      headersTimeout: undiciTimeout(options.timeoutMs, options.clock),
      bodyTimeout: undiciTimeout(options.timeoutMs, options.clock),
    });
    status = res.statusCode;
    if (status >= 300 && status < 400) {
      // Redirect bodies of an engine may never end: drop them unread.
      discard(res.body);
      throw new EngineBadResponseError(`${where}: unexpected redirect ${status}`);
    }
    text = await readLimited(res.body, MAX_BODY, () => new EngineBadResponseError(`answer larger than ${MAX_BODY} bytes`));
  } catch (err) {
    if (err instanceof EngineBadResponseError) throw err;
    if (isCallerAbort(err, options.signal)) throw err;
    if (classifyTransportError(err) === 'timeout' || limit.expired()) {
      throw new EngineTimeoutError(`${where}: no answer within ${options.timeoutMs} ms`, { cause: err });
    }
    throw new EngineUnreachableError(`${where}: ${describeTransportError(err)}`, { cause: err });
  } finally {
    limit.clear();
  }
  if (status < 200 || status >= 300) throw new EngineHttpError(status, `${where}: HTTP ${status} ${text.slice(0, 120)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new EngineBadResponseError(`${where}: answer is not JSON`);
  }
}


/** The `{"response": …, "error": …}` envelope every middleware call answers with. */
export function envelope(body: unknown, where: string): { response: unknown; error: string | null } {
  if (typeof body !== 'object' || body === null) throw new EngineBadResponseError(`${where}: answer is not an object`);
  const b = body as { response?: unknown; error?: unknown; result?: unknown };
  const error = b.error === null || b.error === undefined || b.error === '' ? null : String(b.error);
  return { response: b.response ?? b.result ?? null, error };
}
