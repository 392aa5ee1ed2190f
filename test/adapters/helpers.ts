/**
 * Shared plumbing for the adapter tests: a fast simulator, the control API over HTTP,
 * adapter clients that close when the test ends, tiny local HTTP servers for bodies the
 * simulator cannot produce, and small assertions (error capture, secret absence).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventEmitter } from 'node:events';

/** What readSome needs of a body: a Node Readable, or the engine adapter's own EngineBody. */
export type BodyLike = Pick<EventEmitter, 'on' | 'off' | 'once'> & { pause(): unknown; resume(): unknown; errored?: unknown };
import { inspect } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { expect, onTestFinished } from 'vitest';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.ts';
import { OrchestratorClient, type OrchestratorClientOptions } from '../../src/adapters/orchestrator/index.ts';
import { EngineClient, type EngineClientOptions } from '../../src/adapters/engine/index.ts';

export const IH = '0a4848271c91ce2d8965ce416267c25047dc8141';
export const IH2 = '1b5959382d02df3e9a76df527378d36158ed9252';
export const IH3 = '2c6a6a493e13e04fab87e0638489e47269fea363';

/** A simulator on OS-chosen ports with fast defaults; closed when the test ends. */
export async function startSim(options: SimOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({
    port: 0,
    provisionDelayMs: 20,
    engineReadyDelayMs: 0,
    startDelayMs: 10,
    failDelayMs: 50,
    bitrate: 2_000_000,
    ...options,
  });
  onTestFinished(() => sim.close());
  return sim;
}

const controlAgent = new Agent({ pipelining: 0 });

/** `POST /__sim/<path>` on the simulator's control port; fails the test unless it answers 200. */
export async function control(sim: Simulator, path: string, body: unknown): Promise<unknown> {
  const res = await request(`${sim.controlUrl}/__sim/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: controlAgent,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`control ${path} answered ${res.statusCode}: ${text}`);
  return JSON.parse(text) as unknown;
}

/** An orchestrator client on the simulator (or any base URL), closed when the test ends. */
export function orchestrator(base: Simulator | string, options: Partial<OrchestratorClientOptions> = {}): OrchestratorClient {
  const client = new OrchestratorClient({ baseUrl: typeof base === 'string' ? base : base.url, readTimeoutMs: 3_000, ...options });
  onTestFinished(() => client.close());
  return client;
}

/** An engine client with scaled-down timeouts, closed when the test ends. */
export function engineClient(options: Partial<EngineClientOptions> = {}): EngineClient {
  const client = new EngineClient({ noResponseTimeoutMs: 3_000, emptyTimeoutMs: 3_000, controlTimeoutMs: 3_000, ...options });
  onTestFinished(() => client.close());
  return client;
}

/** The first running engine of the simulator: its base URL and container id. */
export function firstEngine(sim: Simulator): { url: string; containerId: string; port: number } {
  const e = sim.state().engines.find((x) => x.removed_at === null);
  if (!e) throw new Error('the simulator runs no engine');
  return { url: e.url, containerId: e.container_id, port: e.port };
}

/** The rejection of `p`; fails the test when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    const value = await p;
    throw new Error(`expected a rejection, got ${inspect(value, { depth: 2 })}`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('expected a rejection')) throw err;
    return err;
  }
}

/** Times a rejection: the error and how long it took. */
export async function timedRejection(p: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const t0 = Date.now();
  const err = await rejection(p);
  return { err, ms: Date.now() - t0 };
}

/** Asserts that no rendering of an error carries `secret` (nor a recognisable part of it). */
export function expectNoSecret(err: unknown, secret: string): void {
  expect(err).toBeInstanceOf(Error);
  const e = err as Error;
  const renderings = [e.message, String(e), JSON.stringify(e), inspect(e, { depth: 5 }), e.stack ?? ''];
  for (const text of renderings) {
    expect(text).not.toContain(secret);
    // A truncated copy of the key is as bad as the whole of it.
    expect(text).not.toContain(secret.slice(0, 12));
  }
}

export interface Stub {
  url: string;
  /** Every request the stub received: method, path+query and headers. */
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
}

/** A local HTTP server on a port chosen by the OS, answering with `handler`; closed when the test ends. */
export async function stub(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Stub> {
  const requests: Stub['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests };
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/**
 * A dispatcher that sends every request with `Host: <host>`, as when an engine inside Docker
 * is reached through a published port but believes it is `gluetun:19000`.
 */
export function hostRewriter(host: string): Dispatcher {
  const agent = new Agent({ pipelining: 0 });
  onTestFinished(() => agent.close());
  return agent.compose(
    (dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] =>
      (opts, handler) =>
        dispatch({ ...opts, headers: { ...(opts.headers as Record<string, string> | undefined), host } }, handler),
  );
}

export type ReadEnd = 'enough' | 'eof' | 'error' | 'timeout';

/** Reads up to `bytes` from a body within `ms`; says how the read ended (and the error, if any). */
export function readSome(body: BodyLike, bytes: number, ms: number): Promise<{ data: Buffer; end: ReadEnd; error: unknown }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (end: ReadEnd, error: unknown = null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.pause();
      resolve({ data: Buffer.concat(chunks), end, error });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= bytes) finish('enough');
    };
    const onEnd = () => finish('eof');
    const onError = (err: unknown) => finish('error', err);
    const timer = setTimeout(() => finish('timeout'), ms);
    if (body.errored) return finish('error', body.errored);
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.resume();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value (a throw counts as "not yet"); throws after `ms`. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    let v: T | undefined;
    try {
      v = await fn();
    } catch {
      v = undefined;
    }
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
