/**
 * EngineClient against a simulated engine over real sockets: start (URLs rebased onto the
 * address actually called), content failures, playback through the 302, the stat
 * lifecycle, stop, version.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  EngineContentError,
  EngineError,
  EngineHttpError,
  EngineSessionGoneError,
  type StartedPlayback,
} from '../../../src/adapters/engine/index.ts';
import { simInfohashForId } from '../../../src/sim/index.ts';
import { IH, IH2, IH3, engineClient, firstEngine, hostRewriter, readSome, startSim, waitFor } from '../helpers.ts';

const infohash = (value: string) => ({ kind: 'infohash' as const, value });

/** Whole 188-byte TS packets with 0x47 sync bytes at the start of the body. */
function expectTs(data: Buffer): void {
  expect(data.length).toBeGreaterThanOrEqual(188 * 4);
  for (let i = 0; i + 188 <= data.length && i < 188 * 50; i += 188) expect(data[i]).toBe(0x47);
}

function expectUrlsOn(session: StartedPlayback, base: string): void {
  for (const u of [session.playbackUrl, session.statUrl, session.commandUrl]) {
    expect(u).not.toBeNull();
    expect(new URL(u!).origin).toBe(new URL(base).origin);
  }
}

describe('EngineClient.start()', () => {
  it('an infohash start: absolute URLs on the engine called, the infohash, a 40-hex session id, live', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const s = await engineClient().start(url, { source: infohash(IH), pid: 'pid-1' });
    expectUrlsOn(s, url);
    expect(new URL(s.playbackUrl).pathname).toMatch(new RegExp(`^/ace/r/${IH}/[0-9a-f]{32}$`));
    expect(new URL(s.statUrl!).pathname).toMatch(new RegExp(`^/ace/stat/${IH}/[0-9a-f]{32}$`));
    expect(new URL(s.commandUrl!).pathname).toMatch(new RegExp(`^/ace/cmd/${IH}/[0-9a-f]{32}$`));
    expect(s.infohash).toBe(IH);
    expect(s.playbackSessionId).toMatch(/^[0-9a-f]{40}$/);
    expect(s.isLive).toBe(true);
    // The pid reached the engine.
    expect(sim.state().engines[0]!.sessions[0]!.pid).toBe('pid-1');
  });

  it('a content id start: the answer’s infohash is the canonical key, not the id', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const s = await engineClient().start(url, { source: { kind: 'id', value: 'channel-one' }, pid: 'p' });
    expect(s.infohash).toBe(simInfohashForId('channel-one'));
    expect(sim.state().engines[0]!.sessions[0]!.key_type).toBe('content_id');
  });

  it('an upper-case infohash comes back lower-case', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const s = await engineClient().start(url, { source: infohash(IH.toUpperCase()), pid: 'p' });
    expect(s.infohash).toBe(IH);
  });

  it('URLs are rebased onto the address called when the engine reports another host (Docker: gluetun:19000)', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const dispatcher = hostRewriter('gluetun:19000');
    // Proof of the setup: asked with that Host, the engine reports unreachable URLs.
    const raw = await request(`${url}/ace/getstream?format=json&infohash=${IH2}&pid=raw`, { dispatcher });
    const rawBody = (await raw.body.json()) as { response: { playback_url: string } };
    expect(new URL(rawBody.response.playback_url).host).toBe('gluetun:19000');

    const client = engineClient({ dispatcher });
    const s = await client.start(url, { source: infohash(IH), pid: 'docker' });
    expectUrlsOn(s, url);
    // The 302's Location also names gluetun:19000; playback must stay on the address called.
    const play = await client.playback(s.playbackUrl);
    expect(new URL(play.url).origin).toBe(new URL(url).origin);
    expect(new URL(play.url).pathname).toMatch(/^\/content\//);
    const got = await readSome(play.body, 188 * 20, 5_000);
    expect(got.end).toBe('enough');
    expectTs(got.data);
    play.body.destroy();
    expect((await client.stat(s.statUrl!)).status).not.toBeUndefined();
    expect(await client.stop(s.commandUrl!)).toBe(true);
  });

  it('called through `localhost`, every URL names localhost; through 127.0.0.1, 127.0.0.1', async () => {
    const sim = await startSim();
    const { port } = firstEngine(sim);
    const client = engineClient();
    const viaName = `http://localhost:${port}`;
    const viaIp = `http://127.0.0.1:${port}`;
    const a = await client.start(viaName, { source: infohash(IH), pid: 'a' });
    const b = await client.start(viaIp, { source: infohash(IH2), pid: 'b' });
    expectUrlsOn(a, viaName);
    expectUrlsOn(b, viaIp);
    expect((await client.stat(a.statUrl!)).status).toBeDefined();
  });

  it('a fresh pid per start keeps sessions apart; the same pid supersedes the old session; every start gets new ids', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const one = await client.start(url, { source: infohash(IH), pid: 'pid-one' });
    const two = await client.start(url, { source: infohash(IH2), pid: 'pid-two' });
    expect(two.playbackSessionId).not.toBe(one.playbackSessionId);
    expect(two.playbackUrl).not.toBe(one.playbackUrl);
    // Both alive.
    await client.stat(one.statUrl!);
    await client.stat(two.statUrl!);
    // The same pid again (other content): the first session is cut.
    const three = await client.start(url, { source: infohash(IH3), pid: 'pid-one' });
    await expect(client.stat(one.statUrl!)).rejects.toBeInstanceOf(EngineSessionGoneError);
    await client.stat(two.statUrl!);
    await client.stat(three.statUrl!);
    // The same content again, new pid: a new session id and token; the old one is superseded.
    const four = await client.start(url, { source: infohash(IH2), pid: 'pid-four' });
    expect(four.playbackSessionId).not.toBe(two.playbackSessionId);
    expect(new URL(four.playbackUrl).pathname).not.toBe(new URL(two.playbackUrl).pathname);
    await expect(client.stat(two.statUrl!)).rejects.toBeInstanceOf(EngineSessionGoneError);
  });

  it('content that fails to load (200 with an error) → EngineContentError', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    for (const source of [{ kind: 'id' as const, value: 'dead-channel' }, infohash('dead' + IH.slice(4)), infohash('not-an-infohash')]) {
      const err = await client.start(url, { source, pid: 'x' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EngineContentError);
      expect(err).toBeInstanceOf(EngineError);
      expect(err).toMatchObject({ code: 'ENGINE_CONTENT_FAILED', status: null });
    }
  });

  it('no source at all → EngineHttpError 500', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const err = await engineClient()
      .start(url, { source: { kind: 'id', value: '' }, pid: 'x' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(EngineHttpError);
    expect(err).toMatchObject({ code: 'ENGINE_HTTP', status: 500 });
  });
});

describe('EngineClient.playback()', () => {
  it('follows the 302 to /content and delivers MPEG-TS (0x47 every 188 bytes), video/mp2t', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const play = await client.playback(s.playbackUrl);
    expect(play.contentType).toContain('video/mp2t');
    expect(new URL(play.url).pathname).toBe(new URL(s.playbackUrl).pathname.replace('/ace/r/', '/content/'));
    const got = await readSome(play.body, 188 * 200, 5_000);
    expect(got.end).toBe('enough');
    expectTs(got.data);
    // After stop, the body ends (EOF).
    expect(await client.stop(s.commandUrl!)).toBe(true);
    const rest = await readSome(play.body, Number.MAX_SAFE_INTEGER, 5_000);
    expect(rest.end).toBe('eof');
  });

  it('a stopped session’s playback URL → EngineHttpError 404', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await client.stop(s.commandUrl!);
    await expect(client.playback(s.playbackUrl)).rejects.toMatchObject({ name: 'EngineHttpError', code: 'ENGINE_HTTP', status: 404 });
  });

  it('a caller abort ends the body', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const ac = new AbortController();
    const play = await client.playback(s.playbackUrl, ac.signal);
    expect((await readSome(play.body, 188, 5_000)).end).toBe('enough');
    ac.abort();
    const after = await readSome(play.body, Number.MAX_SAFE_INTEGER, 5_000);
    expect(after.end === 'error' || after.end === 'eof').toBe(true);
    // The engine saw its reader leave: the session is still alive and can be read again.
    await waitFor(() => sim.state().engines[0]!.sessions[0]!.readers === 0, 5_000, 'reader gone');
    const again = await client.playback(s.playbackUrl);
    expect((await readSome(again.body, 188, 5_000)).end).toBe('enough');
    again.body.destroy();
  });
});

describe('EngineClient.stat() / stop() / version()', () => {
  it('stat lifecycle: {} → idle → prebuf (read) → dl with peers and speed; gone after stop', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const first = await client.stat(s.statUrl!);
    // `{}` for the first 500 ms (a loaded machine may already be past it).
    expect(['', 'idle']).toContain(first.status);
    const idle = await waitFor(async () => {
      const st = await client.stat(s.statUrl!);
      return st.status === 'idle' ? st : null;
    }, 5_000, 'idle');
    expect(idle.peers).toBe(0);

    const play = await client.playback(s.playbackUrl);
    const reading = readSome(play.body, Number.MAX_SAFE_INTEGER, 20_000);
    const pre = await client.stat(s.statUrl!);
    expect(pre.status).toBe('prebuf');
    const dl = await waitFor(async () => {
      const st = await client.stat(s.statUrl!);
      return st.status === 'dl' && st.downloaded > 0 ? st : null;
    }, 8_000, 'dl');
    expect(dl.peers).toBeGreaterThan(0);
    expect(dl.speedDownKBps).toBeGreaterThan(0);
    expect(dl.speedUpKBps).toBeGreaterThan(0);
    expect(dl.downloaded % (16 * 1024)).toBe(0);
    expect(dl.uploaded % (16 * 1024)).toBe(0);

    expect(await client.stop(s.commandUrl!)).toBe(true);
    expect((await reading).end).toBe('eof');
    const gone = await client.stat(s.statUrl!).then(
      () => null,
      (e: unknown) => e,
    );
    expect(gone).toBeInstanceOf(EngineSessionGoneError);
    expect(gone).toMatchObject({ code: 'ENGINE_SESSION_GONE' });
  });

  it('stop: true, then false once already stopped; an unknown session is false too', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    expect(await client.stop(s.commandUrl!)).toBe(true);
    expect(await client.stop(s.commandUrl!)).toBe(false);
    expect(await client.stop(`${url}/ace/cmd/${IH}/${'0'.repeat(32)}`)).toBe(false);
    expect(sim.state().engines[0]!.sessions[0]).toMatchObject({ stop_calls: 2, end_reason: 'stop' });
  });

  it('trailing-slash stat/command URLs (as the orchestrator may normalise them, quirk 9) still work', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    await client.stat(`${s.statUrl!}/`);
    expect(await client.stop(`${s.commandUrl!}/`)).toBe(true);
    await expect(client.stat(`${s.statUrl!}/`)).rejects.toBeInstanceOf(EngineSessionGoneError);
  });

  it('version: code, version, platform', async () => {
    const sim = await startSim();
    const { url } = firstEngine(sim);
    expect(await engineClient().version(url)).toEqual({ code: 3017400, version: '3.1.74', platform: 'linux' });
    // A trailing slash on the base URL is fine.
    expect((await engineClient().version(`${url}/`)).code).toBe(3017400);
  });

  it('an idle session expires by itself: stat → EngineSessionGoneError', async () => {
    const sim = await startSim({ idleExpiryMs: 300 });
    const { url } = firstEngine(sim);
    const client = engineClient();
    const s = await client.start(url, { source: infohash(IH), pid: 'p' });
    const err = await waitFor(
      () =>
        client.stat(s.statUrl!).then(
          () => null,
          (e: unknown) => e,
        ),
      5_000,
      'expiry',
    );
    expect(err).toBeInstanceOf(EngineSessionGoneError);
    expect(await client.stop(s.commandUrl!)).toBe(false);
  });
});
