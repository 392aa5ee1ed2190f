import { describe, expect, it } from 'vitest';
import { SimInputError } from '../../src/sim/index.ts';
import { IH, IH2, engine, failureOf, get, openPlayback, readSome, sleep, startSession, waitFor } from './helpers.ts';

const STAT_UNKNOWN = { response: null, error: 'unknown playback session id' };
const version = (url: string) => `${url}/webui/api/service?method=get_version`;

describe('fake engine faults', () => {
  it('stall: existing readers stop getting bytes, new playbacks get headers and nothing, until it ends', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    await readSome(play.body, 60_000, 5_000); // past the burst
    await e.setMode({ mode: 'stall', ms: 3_000 });
    await readSome(play.body, 1 << 30, 300); // drain what was in flight
    expect((await readSome(play.body, 1, 700)).end).toBe('timeout');

    const s2 = await startSession(e.url, { infohash: IH2, pid: '2' });
    const fresh = await openPlayback(s2.playback_url);
    expect(fresh.status).toBe(200);
    expect((await readSome(fresh.body, 1, 300)).end).toBe('timeout');

    // After ms the fault clears by itself and bytes flow again.
    await waitFor(() => e.mode === 'ok', 10_000);
    expect((await readSome(play.body, 188, 5_000)).end).toBe('enough');
    expect((await readSome(fresh.body, 188, 5_000)).end).toBe('enough');
    play.close();
    fresh.close();
  });

  it('gap: silence for the duration, then the stream continues on the same connection', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    await readSome(play.body, 60_000, 5_000);
    await e.setMode({ mode: 'gap', ms: 2_000 });
    await readSome(play.body, 1 << 30, 200);
    expect((await readSome(play.body, 1, 400)).end).toBe('timeout');
    const after = await readSome(play.body, 188 * 20, 5_000);
    expect(after.end).toBe('enough');
    expect(e.state().sessions[0]!.stopped_at).toBeNull();
    play.close();
  });

  it('cut: live readers are cut at once; new readers after `bytes`; the session itself stays', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    await readSome(play.body, 188, 5_000);
    await e.setMode({ mode: 'cut', bytes: 188 * 50 });
    const rest = await readSome(play.body, 1 << 30, 5_000);
    expect(rest.end).toBe('error');

    const again = await openPlayback(s.playback_url);
    expect(again.status).toBe(200);
    const got = await readSome(again.body, 1 << 30, 5_000);
    expect(got.end).toBe('error');
    expect(got.data.length).toBe(188 * 50);

    await e.setMode({ mode: 'cut' }); // bytes 0: cut at once
    const none = await openPlayback(s.playback_url).then(
      async (p) => (await readSome(p.body, 1 << 30, 5_000)).data.length,
      () => 0,
    );
    expect(none).toBe(0);

    await e.setMode({ mode: 'cut', after_ms: 300 }); // cut after a while instead
    const timed = await openPlayback(s.playback_url);
    const part = await readSome(timed.body, 1 << 30, 5_000);
    expect(part.end).toBe('error');
    expect(part.data.length).toBeGreaterThan(0);

    await e.setMode({ mode: 'ok' });
    expect(((await get(s.stat_url)).json as { error: null }).error).toBeNull();
    const ok = await openPlayback(s.playback_url);
    expect((await readSome(ok.body, 188 * 100, 5_000)).end).toBe('enough');
    ok.close();
  });

  it('slow_start: start answers take delay_ms', async () => {
    const e = await engine();
    await e.setMode({ mode: 'slow_start', delay_ms: 1_500 });
    const t0 = Date.now();
    await startSession(e.url, { infohash: IH, pid: '1' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_450);
    await e.setMode({ mode: 'ok' });
    const t1 = Date.now();
    await startSession(e.url, { infohash: IH2, pid: '2' });
    expect(Date.now() - t1).toBeLessThan(1_000);
  });

  it('no_peers: starts succeed, stat stays prebuf with 0 peers, playback sends headers and no bytes', async () => {
    const e = await engine();
    await e.setMode({ mode: 'no_peers' });
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    expect(play.status).toBe(200);
    expect((await readSome(play.body, 1, 700)).end).toBe('timeout');
    const stat = (await get(s.stat_url)).json as { response: { status: string; peers: number } };
    expect(stat.response).toMatchObject({ status: 'prebuf', peers: 0 });
    play.close();
  });

  it('restart: sessions lost, connections dropped, port refuses for ms, then the same port answers with no sessions', async () => {
    const e = await engine();
    const port = e.port;
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    await readSome(play.body, 188, 5_000);
    const settings = await e.setMode({ mode: 'restart', ms: 2_000 });
    expect(settings).toMatchObject({ mode: 'restart', ms: 2_000 });
    expect((await readSome(play.body, 1 << 30, 5_000)).end).not.toBe('enough');
    expect(await failureOf(version(e.url))).toBe('ECONNREFUSED');
    await waitFor(async () => (await failureOf(version(e.url))) === 'ok', 10_000, 'engine back');
    expect(e.port).toBe(port);
    expect(e.mode).toBe('ok');
    expect((await get(s.stat_url)).json).toEqual(STAT_UNKNOWN);
    expect(e.state().sessions[0]).toMatchObject({ end_reason: 'restart' });
    expect(e.state().restarts).toBe(1);
    // Default refusal time is 3 s; a fresh start works after coming back.
    await startSession(e.url, { infohash: IH, pid: '1' });
  });

  it('refuse: the port refuses until changed, sessions stay', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    await e.setMode({ mode: 'refuse' });
    expect(await failureOf(version(e.url))).toBe('ECONNREFUSED');
    await sleep(200);
    expect(await failureOf(version(e.url))).toBe('ECONNREFUSED');
    await e.setMode({ mode: 'ok' });
    expect(await failureOf(version(e.url))).toBe('ok');
    expect(((await get(s.stat_url)).json as { error: null }).error).toBeNull();

    await e.setMode({ mode: 'refuse', ms: 1_500 });
    expect(await failureOf(version(e.url))).toBe('ECONNREFUSED');
    await waitFor(async () => (await failureOf(version(e.url))) === 'ok', 5_000);
  });

  it('reset: connections are accepted and immediately reset', async () => {
    const e = await engine();
    await e.setMode({ mode: 'reset' });
    const failure = await failureOf(version(e.url));
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(failure);
    await e.setMode({ mode: 'ok' });
    expect(await failureOf(version(e.url))).toBe('ok');
  });

  it('error500: every request answers 500 text/plain', async () => {
    const e = await engine();
    await e.setMode({ mode: 'error500', ms: 1_500 });
    for (const path of ['/webui/api/service?method=get_version', `/ace/getstream?format=json&infohash=${IH}`]) {
      const res = await get(`${e.url}${path}`);
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toContain('text/plain');
    }
    await waitFor(async () => (await get(version(e.url))).status === 200, 5_000);
  });

  it('an external hold (the VPN) stops bytes until released; network status says disconnected', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    await readSome(play.body, 60_000, 5_000);
    e.setExternalHold(true);
    expect((await get(`${e.url}/server/api?api_version=3&method=get_network_connection_status`)).json).toEqual({
      result: { connected: false },
    });
    await readSome(play.body, 1 << 30, 200);
    expect((await readSome(play.body, 1, 500)).end).toBe('timeout');
    e.setExternalHold(false);
    expect((await readSome(play.body, 188, 5_000)).end).toBe('enough');
    play.close();
  });

  it('rejects unknown modes and wrong types', async () => {
    const e = await engine();
    await expect(e.setMode({ mode: 'explode' })).rejects.toBeInstanceOf(SimInputError);
    await expect(e.setMode({ mode: 'stall', ms: 'soon' })).rejects.toBeInstanceOf(SimInputError);
    await expect(e.setMode({})).rejects.toBeInstanceOf(SimInputError);
    expect(e.mode).toBe('ok');
  });
});
