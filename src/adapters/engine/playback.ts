/**
 * Open the MPEG-TS body of a session. The playback URL may 302 to `/content/…`; redirect
 * bodies are dropped unread (an engine's may never end). `bodyTimeoutMs` is the longest
 * silence between chunks before the body errors with undici's UND_ERR_BODY_TIMEOUT (the
 * upstream reader maps body errors to its own codes).
 */
import { request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { classifyTransportError, deadline, discard, describeTransportError, isCallerAbort, undiciTimeout } from '../http-errors.ts';
import type { Clock } from '../../clock.ts';
import { EngineHttpError, EngineTimeoutError, EngineUnreachableError, EngineBadResponseError } from './errors.ts';
import { rebase } from './rebase.ts';

export interface PlaybackOptions {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  signal?: AbortSignal | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Whose time the headers deadline runs on (the system's by default). */
  clock?: Clock | undefined;
}

export interface Playback {
  body: Readable;
  contentType: string;
  /** The URL that finally answered 200 (after redirects). */
  url: string;
}

const MAX_REDIRECTS = 3;

export async function openPlayback(playbackUrl: string, options: PlaybackOptions): Promise<Playback> {
  let url = playbackUrl;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res: Dispatcher.ResponseData;
    // The headers must come in time; the body, once it flows, lives as long as the caller wants.
    const headers = deadline(options.headersTimeoutMs, undefined, options.clock);
    const signal = options.signal ? AbortSignal.any([options.signal, headers.signal]) : headers.signal;
    try {
      res = await request(url, {
        method: 'GET',
        signal,
        dispatcher: options.dispatcher,
        headersTimeout: undiciTimeout(options.headersTimeoutMs, options.clock),
        bodyTimeout: undiciTimeout(options.bodyTimeoutMs, options.clock),
      });
      headers.clear();
    } catch (err) {
      headers.clear();
      if (isCallerAbort(err, options.signal)) throw err;
      if (classifyTransportError(err) === 'timeout' || headers.expired()) {
        throw new EngineTimeoutError(`playback: no headers within ${options.headersTimeoutMs} ms`, { cause: err });
      }
      throw new EngineUnreachableError(`playback: ${describeTransportError(err)}`, { cause: err });
    }
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && location) {
      discard(res.body);
      // Keep the engine address we called: the Location may carry the engine's own idea of its host.
      url = rebase(Array.isArray(location) ? location[0]! : location, url);
      continue;
    }
    if (res.statusCode !== 200) {
      discard(res.body);
      throw new EngineHttpError(res.statusCode, `playback: HTTP ${res.statusCode}`);
    }
    return { body: res.body, contentType: String(res.headers['content-type'] ?? ''), url };
  }
  throw new EngineBadResponseError(`playback: more than ${MAX_REDIRECTS} redirects`);
}
