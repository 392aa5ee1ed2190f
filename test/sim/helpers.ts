import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { onTestFinished } from 'vitest';
import { startFakeEngine, startSimulator, type FakeEngine, type SimOptions, type Simulator } from '../../src/sim/index.ts';
import type { FakeEngineOptions } from '../../src/sim/engine.ts';

/** No keep-alive: every request opens its own connection, so refused/reset faults show at once. */
export const dispatcher = new Agent({ pipelining: 0, connect: { timeout: 5_000 } });

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function http(
  method: 'GET' | 'POST',
  url: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await request(url, {
    method,
    headers,
    body,
    dispatcher,
    headersTimeout: options.timeoutMs ?? 20_000,
    bodyTimeout: options.timeoutMs ?? 20_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: parseMaybe(text) };
}

export const get = (url: string, options?: Parameters<typeof http>[2]) => http('GET', url, options);
export const post = (url: string, body?: unknown, options?: Parameters<typeof http>[2]) => http('POST', url, { ...options, body });

/** The error code a request fails with (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET…), or 'ok'. */
export async function failureOf(url: string): Promise<string> {
  try {
    const res = await request(url, { dispatcher, headersTimeout: 5_000, bodyTimeout: 5_000 });
    await res.body.dump();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Simulator with fast defaults, closed when the test ends. */
export async function sim(options: SimOptions = {}): Promise<Simulator> {
  const s = await startSimulator({
    port: 0,
    provisionDelayMs: 20,
    engineReadyDelayMs: 0,
    startDelayMs: 10,
    failDelayMs: 50,
    bitrate: 2_000_000,
    ...options,
  });
  onTestFinished(() => s.close());
  return s;
}

export async function engine(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const e = await startFakeEngine({ startDelayMs: 10, failDelayMs: 50, bitrate: 2_000_000, ...options });
  onTestFinished(() => e.close());
  return e;
}

export interface StartAnswer {
  playback_url: string;
  stat_url: string;
  command_url: string;
  infohash: string;
  playback_session_id: string;
  is_live: number;
  is_encrypted: number;
  client_session_id: number;
}

/** A json-mode start; fails the test unless the engine answered a session. */
export async function startSession(engineUrl: string, params: Record<string, string>): Promise<StartAnswer> {
  const q = new URLSearchParams({ format: 'json', ...params });
  const res = await get(`${engineUrl}/ace/getstream?${q}`);
  const body = res.json as { response: StartAnswer | null; error: string | null };
  if (res.status !== 200 || !body?.response) throw new Error(`start failed: ${res.status} ${res.text}`);
  return body.response;
}

export interface Playback {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  close(): void;
}

/** Follows the engine's 302 from the playback URL to /content and opens the TS body. */
export async function openPlayback(playbackUrl: string): Promise<Playback> {
  const controller = new AbortController();
  let url = playbackUrl;
  for (let hop = 0; hop < 3; hop++) {
    const res = await request(url, { dispatcher, signal: controller.signal, headersTimeout: 20_000, bodyTimeout: 60_000 });
    if (res.statusCode === 302) {
      await res.body.dump();
      url = new URL(String(res.headers.location), url).toString();
      continue;
    }
    res.body.on('error', () => {});
    return { status: res.statusCode, headers: res.headers, body: res.body, close: () => controller.abort() };
  }
  throw new Error('too many redirects');
}

export type ReadEnd = 'enough' | 'eof' | 'error' | 'timeout';

/** Reads up to `bytes` from a body within `ms`; says how the read ended. */
export function readSome(body: Readable, bytes: number, ms: number): Promise<{ data: Buffer; end: ReadEnd }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (end: ReadEnd) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.pause();
      resolve({ data: Buffer.concat(chunks), end });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= bytes) finish('enough');
    };
    const onEnd = () => finish('eof');
    const onError = () => finish('error');
    const timer = setTimeout(() => finish('timeout'), ms);
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.resume();
  });
}

/** Polls until `fn` returns a truthy value (or throws after `ms`). */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const IH = '0a4848271c91ce2d8965ce416267c25047dc8141';
export const IH2 = '1b5959382d02df3e9a76df527378d36158ed9252';

/** A stream_started body (valid URLs); `containerId` null leaves the field out. */
export function startedEvent(
  containerId: string | null,
  opts: { host?: string; port?: number; key?: string; psid?: string; streamId?: string; labels?: Record<string, string>; statUrl?: string; commandUrl?: string } = {},
): Record<string, unknown> {
  const labels = { ...opts.labels, ...(opts.streamId ? { stream_id: opts.streamId } : {}) };
  return {
    ...(containerId !== null ? { container_id: containerId } : {}),
    engine: { host: opts.host ?? '127.0.0.1', port: opts.port ?? 1 },
    stream: { key_type: 'infohash', key: opts.key ?? IH },
    session: {
      playback_session_id: opts.psid ?? 'e0d10c40465de696c0222ffa815edace0635b86a',
      stat_url: opts.statUrl ?? 'http://127.0.0.1:1/ace/stat/x/y',
      command_url: opts.commandUrl ?? 'http://127.0.0.1:1/ace/cmd/x/y',
      is_live: 1,
    },
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
}
