/**
 * A real stack for wire tests: the simulator and acerelay in this process, on loopback ports
 * chosen by the OS, configuration scaled down so recoveries take seconds. Plus the clients a
 * player would be: raw HTTP readers with a real AbortController, and ffmpeg.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createAcerelay, type Acerelay } from '../../src/runtime.ts';
import { createLogger, silentLogger } from '../../src/log.ts';

export interface Stack {
  sim: Simulator;
  acerelay: Acerelay;
  url: string;
  config: Config;
  close(): Promise<void>;
}

export const SCALED_ENV: Record<string, string> = {
  ACERELAY_LISTEN: '127.0.0.1:0',
  ACERELAY_LINGER: '1s',
  ACERELAY_HOLD_MAX: '20s',
  ACERELAY_STATUS_INTERVAL: '2s',
  ACERELAY_STATUS_INTERVAL_DEGRADED: '1s',
  ACERELAY_STATUS_TIMEOUT: '1s',
  ACERELAY_NO_RESPONSE_TIMEOUT: '5s',
  ACERELAY_EMPTY_TIMEOUT: '4s',
  ACERELAY_PROBE_INTERVAL: '3s',
  ACERELAY_SHUTDOWN_GRACE: '5s',
  ACERELAY_LOG_LEVEL: 'silent',
};

/** A fresh data directory (journal) per stack: stacks must never recover each other's sessions. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'acerelay-data-'));
}

export async function startStack(
  opts: { sim?: SimOptions; env?: Record<string, string>; orchestrator?: boolean; /** Collects acerelay's log lines (parsed JSON), at info level. */ logs?: Array<Record<string, unknown>> } = {},
): Promise<Stack> {
  const sim = await startSimulator({ port: 0, provisionDelayMs: 200, engineReadyDelayMs: 300, startDelayMs: 100, ...opts.sim });
  const env: Record<string, string> = { ACERELAY_DATA_DIR: tempDataDir(), ...SCALED_ENV, ...opts.env };
  if (opts.orchestrator !== false) env.ACERELAY_ORCH_URL ??= sim.url;
  if (opts.sim?.apiKey) env.ACERELAY_ORCH_APIKEY ??= opts.sim.apiKey;
  const { config } = loadConfig([], env);
  const logs = opts.logs;
  const log = logs
    ? createLogger(opts.env?.ACERELAY_LOG_LEVEL ?? 'info', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) })
    : env.ACERELAY_LOG_LEVEL === 'silent'
      ? silentLogger
      : createLogger(env.ACERELAY_LOG_LEVEL!);
  const acerelay = await createAcerelay(config, { logger: log });
  const url = await acerelay.listen();
  return {
    sim,
    acerelay,
    url,
    config,
    async close() {
      await acerelay.close();
      await sim.close();
    },
  };
}

export const CONTENT = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => d.repeat(40));

export interface Capture {
  status: number;
  /** Body bytes so far (while streaming `bytes` is filled only at the end). */
  size: number;
  headers: http.IncomingHttpHeaders;
  bytes: Buffer;
  /** How the body ended: 'end' (clean), 'reset' (ECONNRESET), 'aborted' (by us), 'error'. */
  ending: 'end' | 'reset' | 'aborted' | 'error' | 'open';
  /** Client-side ms from request to the first body byte. */
  firstByteMs: number | null;
}

/**
 * A player: GETs `url` and collects the body until `until` says stop (then aborts, like a
 * player closing), or the server ends it.
 */
export function play(
  url: string,
  opts: { until?: (c: Capture) => boolean; maxMs?: number; method?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Capture> {
  return new Promise((resolve) => {
    const started = Date.now();
    const capture: Capture = { status: 0, size: 0, headers: {}, bytes: Buffer.alloc(0), ending: 'open', firstByteMs: null };
    const chunks: Buffer[] = [];
    let size = 0;
    const ac = new AbortController();
    opts.signal?.addEventListener('abort', () => ac.abort());
    const finish = (ending: Capture['ending']) => {
      if (capture.ending !== 'open') return;
      capture.ending = ending;
      capture.bytes = Buffer.concat(chunks, size);
      clearTimeout(timer);
      resolve(capture);
    };
    const timer = setTimeout(() => {
      ac.abort();
    }, opts.maxMs ?? 15_000);
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, signal: ac.signal }, (res) => {
      capture.status = res.statusCode ?? 0;
      capture.headers = res.headers;
      res.on('data', (chunk: Buffer) => {
        if (capture.firstByteMs === null) capture.firstByteMs = Date.now() - started;
        chunks.push(chunk);
        size += chunk.length;
        capture.size = size;
        if (opts.until?.(capture)) {
          capture.bytes = Buffer.concat(chunks, size);
          finish('aborted');
          ac.abort();
        }
      });
      res.on('end', () => finish('end'));
      res.on('error', (err: NodeJS.ErrnoException) => finish(ac.signal.aborted ? 'aborted' : err.code === 'ECONNRESET' ? 'reset' : 'error'));
      res.on('aborted', () => finish(ac.signal.aborted ? 'aborted' : 'reset'));
      res.on('close', () => finish(ac.signal.aborted ? 'aborted' : 'end'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(ac.signal.aborted ? 'aborted' : err.code === 'ECONNRESET' ? 'reset' : 'error'));
    req.end();
  });
}

/** `until` helper: stop after this many body bytes. */
export const bytes = (n: number) => (c: Capture) => c.size >= n;

export interface FfmpegResult {
  code: number | null;
  stderr: string;
}

/** `ffmpeg -v warning -i URL -t seconds -f null -`: the strictest cheap player there is. */
export function ffmpegRead(url: string, seconds: number, extra: string[] = []): Promise<FfmpegResult> {
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'warning', ...extra, '-i', url, '-t', String(seconds), '-f', 'null', '-'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

export async function getJson(url: string): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> {
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const headers: http.IncomingHttpHeaders = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, body, headers };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value (returned); throws when `ms` passes first. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 10_000, every = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  do {
    const last = await check();
    if (last) return last as NonNullable<T>;
    await sleep(every);
  } while (Date.now() < deadline);
  // A wait that runs out is a failure here, not a value the caller might forget to check.
  throw new Error(`not within ${ms} ms: ${check.toString().slice(0, 200)}`);
}

/** Every chunk boundary aside, is this whole 188-byte TS packets starting with 0x47? */
export function wholePackets(buf: Buffer): boolean {
  if (buf.length % 188 !== 0) return false;
  for (let i = 0; i < buf.length; i += 188) if (buf[i] !== 0x47) return false;
  return true;
}
