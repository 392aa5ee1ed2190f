/**
 * Open the MPEG-TS body of a session. The playback URL may 302 to `/content/…`; redirect
 * bodies are dropped unread (an engine's may never end). The body is read off its own
 * socket (engine-body.ts says why not undici); it starts paused: the caller puts its
 * listeners on, then resume(). `bodyTimeoutMs` is the longest silence of the body (real
 * time) before it errors with ENGINE_BODY_TIMEOUT (the upstream reader maps body errors to
 * its own codes).
 */
import net from 'node:net';
import { deadline, describeTransportError, undiciTimeout } from '../http-errors.ts';
import type { Clock } from '../../clock.ts';
import { EngineHttpError, EngineTimeoutError, EngineUnreachableError, EngineBadResponseError } from './errors.ts';
import { rebase } from './rebase.ts';
import { EngineBody, ReadArena } from './engine-body.ts';
import type { ReadPacer } from './read-pacer.ts';
import { MAX_HEAD_BYTES, ResponseHeadError, framingOf, headEnd, parseHead, type ResponseHead } from './response-head.ts';

export interface PlaybackOptions {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Whose time the headers deadline runs on (the system's by default). */
  clock?: Clock | undefined;
  /** Told of every body opened (the client destroys the open ones when it is destroyed). */
  onBody?: ((body: EngineBody) => void) | undefined;
  /** Paces the body's reads while its stream is slow (none: every read as the bytes come). */
  pacer?: ReadPacer | undefined;
}

export interface Playback {
  body: EngineBody;
  contentType: string;
  /** The URL that finally answered 200 (after redirects). */
  url: string;
}

const MAX_REDIRECTS = 3;

export async function openPlayback(playbackUrl: string, options: PlaybackOptions): Promise<Playback> {
  let url = playbackUrl;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const { head, body } = await exchange(url, options);
    const location = head.headers.location;
    if (head.status >= 300 && head.status < 400 && location) {
      body.destroy();
      // Keep the engine address we called: the Location may carry the engine's own idea of its host.
      url = rebase(location, url);
      continue;
    }
    if (head.status !== 200) {
      body.destroy();
      throw new EngineHttpError(head.status, `playback: HTTP ${head.status}`);
    }
    options.onBody?.(body);
    return { body, contentType: head.headers['content-type'] ?? '', url };
  }
  throw new EngineBadResponseError(`playback: more than ${MAX_REDIRECTS} redirects`);
}

/** One GET on a connection of its own, up to the end of the response head. */
function exchange(url: string, options: PlaybackOptions): Promise<{ head: ResponseHead; body: EngineBody }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:') {
      reject(new EngineBadResponseError(`playback: ${target.protocol} URLs are not supported (engines serve plain HTTP)`));
      return;
    }
    const limit = deadline(options.headersTimeoutMs, options.signal, options.clock);
    const arena = new ReadArena();
    const head: Buffer[] = [];
    let headBytes = 0;
    let body: EngineBody | null = null;
    let settled = false;

    const socket = net.connect({
      host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(target.port || 80),
      onread: {
        buffer: arena.next,
        callback: (n: number, region: Uint8Array) => {
          const bytes = arena.took(region as Buffer, n);
          if (body) {
            body.take(bytes);
            return body.readOn(n, region.length);
          }
          return onHead(bytes);
        },
      },
    });
    socket.setNoDelay(true);

    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      limit.clear();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => {
      if (limit.expired()) fail(new EngineTimeoutError(`playback: no headers within ${options.headersTimeoutMs} ms`));
      else fail(options.signal?.reason instanceof Error ? options.signal.reason : new DOMException('aborted', 'AbortError'));
    };
    if (limit.signal.aborted) return onAbort();
    limit.signal.addEventListener('abort', onAbort, { once: true });
    const onError = (err: Error) => fail(new EngineUnreachableError(`playback: ${describeTransportError(err)}`, { cause: err }));
    const onClosed = () => fail(new EngineUnreachableError('playback: the engine closed the connection before answering'));
    socket.on('error', onError);
    socket.on('end', onClosed);
    socket.on('close', onClosed);

    function onHead(bytes: Buffer): boolean {
      if (settled) return false;
      // The head is small: its bytes are copied out of the arena.
      head.push(Buffer.from(bytes));
      headBytes += bytes.length;
      const all = head.length === 1 ? head[0]! : Buffer.concat(head, headBytes);
      const end = headEnd(all);
      if (end < 0) {
        if (headBytes > MAX_HEAD_BYTES) fail(new EngineBadResponseError(`playback: response head larger than ${MAX_HEAD_BYTES} bytes`));
        return !settled;
      }
      let parsed: ResponseHead;
      let framing;
      try {
        parsed = parseHead(all.toString('latin1', 0, end));
        framing = framingOf(parsed);
      } catch (err) {
        fail(new EngineBadResponseError(`playback: ${err instanceof ResponseHeadError ? err.message : String(err)}`));
        return false;
      }
      settled = true;
      limit.clear();
      limit.signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      body = new EngineBody(socket, framing, undiciTimeout(options.bodyTimeoutMs, options.clock), arena, options.pacer ?? null);
      body.take(all.subarray(end));
      // The caller's signal still ends the body once it flows.
      const caller = options.signal;
      if (caller) {
        const stop = () => body!.destroy(caller.reason instanceof Error ? caller.reason : new DOMException('aborted', 'AbortError'));
        caller.addEventListener('abort', stop, { once: true });
        body.once('close', () => caller.removeEventListener('abort', stop));
      }
      resolve({ head: parsed, body });
      return false;
    }

    const path = `${target.pathname}${target.search}`;
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: */*\r\nUser-Agent: acerelay\r\nConnection: close\r\n\r\n`, 'latin1');
  });
}
