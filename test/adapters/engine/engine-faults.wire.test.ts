/**
 * Every fault of the simulated engine, switched at run time through the control API, as
 * EngineClient sees it: slow_start, refuse, reset, restart, error500, stall, gap, cut,
 * no_peers, and the VPN holding bytes.
 */
import type { Simulator } from '../../../src/sim/index.ts';
import { describe, expect, it } from 'vitest';
import {
  EngineError,
  EngineHttpError,
  EngineSessionGoneError,
  EngineTimeoutError,
  EngineUnreachableError,
  type EngineClient,
  type StartedPlayback,
} from '../../../src/adapters/engine/index.ts';
import { classifyTransportError } from '../../../src/adapters/http-errors.ts';
import { IH, IH2, control, engineClient, firstEngine, readSome, rejection, startSim, timedRejection, waitFor } from '../helpers.ts';

const infohash = (value: string) => ({ kind: 'infohash' as const, value });

async function setup(options: Parameters<typeof engineClient>[0] = {}): Promise<{ sim: Simulator; url: string; client: EngineClient; mode: (body: unknown) => Promise<unknown> }> {
  const sim = await startSim();
  const { url, containerId } = firstEngine(sim);
  const client = engineClient(options);
  return { sim, url, client, mode: (body) => control(sim, `engines/${containerId}`, body) };
}

/** Every control call against a live session, each as a thunk. */
function everyCall(client: EngineClient, url: string, s: StartedPlayback): Array<[string, () => Promise<unknown>]> {
  return [
    ['start', () => client.start(url, { source: infohash(IH2), pid: 'other' })],
    ['version', () => client.version(url)],
    ['stat', () => client.stat(s.statUrl!)],
    ['stop', () => client.stop(s.commandUrl!)],
    ['playback', () => client.playback(s.playbackUrl)],
  ];
}

describe('engine faults through EngineClient', () => {
  it('slow_start beyond the no-response timeout → EngineTimeoutError, well before the engine would answer', async () => {
    const { url, client, mode } = await setup({ noResponseTimeoutMs: 400 });
    await mode({ mode: 'slow_start', delay_ms: 8_000 });
    const { err, ms } = await timedRejection(client.start(url, { source: infohash(IH), pid: 'p' }));
    expect(err).toBeInstanceOf(EngineTimeoutError);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'ENGINE_TIMEOUT', status: null });
    expect(ms).toBeLessThan(4_000);
  });

  it('a caller abort during a slow start is the caller’s own error (not an EngineError), at once', async () => {
    const { url, client, mode } = await setup({ noResponseTimeoutMs: 10_000 });
    await mode({ mode: 'slow_start', delay_ms: 8_000 });
    const ac = new AbortController();
    const reason = new Error('player left');
    setTimeout(() => ac.abort(reason), 100);
    const { err, ms } = await timedRejection(client.start(url, { source: infohash(IH), pid: 'p' }, ac.signal));
    expect(err).not.toBeInstanceOf(EngineError);
    expect(err).toBe(reason);
    expect(ms).toBeLessThan(4_000);
  });

  it('slow_start within the timeout → the start succeeds', async () => {
    const { url, client, mode } = await setup({ noResponseTimeoutMs: 10_000 });
    await mode({ mode: 'slow_start', delay_ms: 300 });
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    expect(s.infohash).toBe(IH);
  });

  it('refuse → EngineUnreachableError on every call; back on ok with the session intact', async () => {
    const { url, client, mode } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await mode({ mode: 'refuse' });
    for (const [name, call] of everyCall(client, url, s)) {
      const err = await rejection(call());
      expect(err, name).toBeInstanceOf(EngineUnreachableError);
      expect(err, name).toMatchObject({ code: 'ENGINE_UNREACHABLE' });
    }
    await mode({ mode: 'ok' });
    await waitFor(() => client.version(url), 10_000, 'engine back');
    expect((await client.stat(s.statUrl!)).status).toBeDefined();
  });

  it('reset → EngineUnreachableError on every call (accepted, then RST)', async () => {
    const { url, client, mode } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await mode({ mode: 'reset' });
    for (const [name, call] of everyCall(client, url, s)) {
      const err = await rejection(call());
      expect(err, name).toBeInstanceOf(EngineUnreachableError);
    }
    await mode({ mode: 'ok' });
    expect((await client.version(url)).code).toBe(3017400);
  });

  it('restart → the body dies, the port refuses, then every old session is gone', async () => {
    const { url, client, mode } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const play = await client.playback(s.playbackUrl);
    expect((await readSome(play.body, 188 * 10, 5_000)).end).toBe('enough');
    await mode({ mode: 'restart', ms: 700 });
    const rest = await readSome(play.body, Number.MAX_SAFE_INTEGER, 5_000);
    expect(['error', 'eof']).toContain(rest.end);
    await expect(client.start(url, { source: infohash(IH), pid: 'p2' })).rejects.toBeInstanceOf(EngineUnreachableError);

    await waitFor(() => client.version(url), 10_000, 'engine back');
    await expect(client.stat(s.statUrl!)).rejects.toBeInstanceOf(EngineSessionGoneError);
    expect(await client.stop(s.commandUrl!)).toBe(false);
    await expect(client.playback(s.playbackUrl)).rejects.toMatchObject({ code: 'ENGINE_HTTP', status: 404 });
    const fresh = await client.start(url, { source: infohash(IH), pid: 'p3' });
    expect(fresh.playbackSessionId).not.toBe(s.playbackSessionId);
  });

  it('error500 → EngineHttpError 500 on every call', async () => {
    const { url, client, mode } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await mode({ mode: 'error500' });
    for (const [name, call] of everyCall(client, url, s)) {
      const err = await rejection(call());
      expect(err, name).toBeInstanceOf(EngineHttpError);
      expect(err, name).toMatchObject({ code: 'ENGINE_HTTP', status: 500 });
    }
  });

  it('stall on a new playback: headers arrive, then no bytes → the body fails with a body timeout', async () => {
    const { url, client, mode } = await setup({ emptyTimeoutMs: 500 });
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await mode({ mode: 'stall' });
    const play = await client.playback(s.playbackUrl);
    expect(play.contentType).toContain('video/mp2t');
    const t0 = Date.now();
    const got = await readSome(play.body, 1, 10_000);
    expect(got.end).toBe('error');
    expect(got.data.length).toBe(0);
    expect(got.error).toMatchObject({ code: 'ENGINE_BODY_TIMEOUT' });
    expect(classifyTransportError(got.error)).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('stall mid-stream: bytes, then silence → body timeout', async () => {
    const { url, client, mode } = await setup({ emptyTimeoutMs: 600 });
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const play = await client.playback(s.playbackUrl);
    expect((await readSome(play.body, 188 * 10, 5_000)).end).toBe('enough');
    await mode({ mode: 'stall' });
    const rest = await readSome(play.body, Number.MAX_SAFE_INTEGER, 10_000);
    expect(rest.end).toBe('error');
    expect(rest.error).toMatchObject({ code: 'ENGINE_BODY_TIMEOUT' });
  });

  it('a gap shorter than the empty timeout is survived: the same body continues', async () => {
    const { url, client, mode } = await setup({ emptyTimeoutMs: 4_000 });
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const play = await client.playback(s.playbackUrl);
    expect((await readSome(play.body, 188 * 10, 5_000)).end).toBe('enough');
    await mode({ mode: 'gap', ms: 600 });
    await readSome(play.body, Number.MAX_SAFE_INTEGER, 300); // what was in flight
    const after = await readSome(play.body, 188 * 50, 8_000);
    expect(after.end).toBe('enough');
    play.body.destroy();
  });

  it('cut after N bytes: exactly N bytes, then the body errors (not a clean end)', async () => {
    const { url, client, mode } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await mode({ mode: 'cut', bytes: 188 * 100 });
    const play = await client.playback(s.playbackUrl);
    const got = await readSome(play.body, Number.MAX_SAFE_INTEGER, 10_000);
    expect(got.end).toBe('error');
    expect(got.data.length).toBe(188 * 100);
    expect(got.data[0]).toBe(0x47);
    expect(classifyTransportError(got.error)).toBe('unreachable');
  });

  it('cut after ms, and a live reader cut at once when the mode is switched on', async () => {
    const { url, client, mode } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const live = await client.playback(s.playbackUrl);
    expect((await readSome(live.body, 188, 5_000)).end).toBe('enough');
    await mode({ mode: 'cut', after_ms: 300 });
    expect((await readSome(live.body, Number.MAX_SAFE_INTEGER, 5_000)).end).toBe('error');

    const timed = await client.playback(s.playbackUrl);
    const got = await readSome(timed.body, Number.MAX_SAFE_INTEGER, 10_000);
    expect(got.end).toBe('error');
    expect(got.data.length).toBeGreaterThan(0);
  });

  it('no_peers: stat sits in prebuf with 0 peers; the body gives nothing and times out', async () => {
    const { url, client, mode } = await setup({ emptyTimeoutMs: 500 });
    await mode({ mode: 'no_peers' });
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const st = await client.stat(s.statUrl!);
    expect(st).toMatchObject({ status: 'prebuf', peers: 0, speedDownKBps: 0, downloaded: 0 });
    const play = await client.playback(s.playbackUrl);
    const got = await readSome(play.body, 1, 10_000);
    expect(got.end).toBe('error');
    expect(got.error).toMatchObject({ code: 'ENGINE_BODY_TIMEOUT' });
  });

  it('VPN down at the orchestrator: engine bytes are held → body timeout; stat shows no speed', async () => {
    const { sim, url, client } = await setup({ emptyTimeoutMs: 600 });
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const play = await client.playback(s.playbackUrl);
    expect((await readSome(play.body, 188, 5_000)).end).toBe('enough');
    await control(sim, 'vpn', { connected: false });
    const rest = await readSome(play.body, Number.MAX_SAFE_INTEGER, 10_000);
    expect(rest.end).toBe('error');
    expect(rest.error).toMatchObject({ code: 'ENGINE_BODY_TIMEOUT' });
    expect((await client.stat(s.statUrl!)).speedDownKBps).toBe(0);
  });

  it('the engine removed (container gone) → EngineUnreachableError', async () => {
    const { sim, url, client } = await setup();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await sim.close();
    await expect(client.stat(s.statUrl!)).rejects.toBeInstanceOf(EngineUnreachableError);
    await expect(client.start(url, { source: infohash(IH), pid: 'p' })).rejects.toBeInstanceOf(EngineUnreachableError);
  });
});
