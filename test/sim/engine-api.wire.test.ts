import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { STAT_DL_AFTER_MS, simInfohashForId } from '../../src/sim/index.ts';
import net from 'node:net';
import { IH, IH2, dispatcher, engine, get, openPlayback, readSome, startSession, waitFor } from './helpers.ts';

describe('fake engine: service endpoints', () => {
  it('answers get_version, get_status and get_network_connection_status', async () => {
    const e = await engine();
    const version = await get(`${e.url}/webui/api/service?method=get_version`);
    expect(version.status).toBe(200);
    expect(version.json).toEqual({ result: { code: 3017400, platform: 'linux', version: '3.1.74' }, error: null });
    const status = await get(`${e.url}/server/api?api_version=3&method=get_status`);
    expect(status.status).toBe(200);
    expect(status.headers['content-type']).toContain('application/json');
    const net = await get(`${e.url}/server/api?api_version=3&method=get_network_connection_status`);
    expect(net.json).toEqual({ result: { connected: true } });
    expect((await get(`${e.url}/nope`)).status).toBe(404);
  });
});

describe('fake engine: starting sessions', () => {
  it('answers a json start with absolute URLs on the request Host, fresh ids each time', async () => {
    const e = await engine();
    const a = await startSession(e.url, { infohash: IH, pid: 'p1' });
    expect(a.infohash).toBe(IH);
    expect(a.playback_url).toMatch(new RegExp(`^${e.url}/ace/r/${IH}/[0-9a-f]{32}$`));
    const token = a.playback_url.split('/').pop();
    expect(a.stat_url).toBe(`${e.url}/ace/stat/${IH}/${token}`);
    expect(a.command_url).toBe(`${e.url}/ace/cmd/${IH}/${token}`);
    expect(a.playback_session_id).toMatch(/^[0-9a-f]{40}$/);
    expect(a.playback_session_id).not.toBe(token);
    expect(a).toMatchObject({ is_live: 1, is_encrypted: 0, client_session_id: -1 });

    const b = await startSession(e.url, { infohash: IH2, pid: 'p2' });
    expect(b.playback_session_id).not.toBe(a.playback_session_id);
    expect(b.playback_url).not.toBe(a.playback_url);

    // The Host header decides the URLs (an engine inside Docker reports what it was called on).
    const res = await request(`${e.url}/ace/getstream?format=json&infohash=${IH}&pid=p3`, {
      dispatcher,
      headers: { host: 'engine.example:6878' },
    });
    const body = (await res.body.json()) as { response: { playback_url: string } };
    expect(body.response.playback_url.startsWith('http://engine.example:6878/ace/r/')).toBe(true);
  });

  it('maps a content id to a different, deterministic infohash (id and content_id alike)', async () => {
    const e = await engine();
    const a = await startSession(e.url, { id: 'channel-one', pid: '1' });
    expect(a.infohash).toBe(simInfohashForId('channel-one'));
    expect(a.infohash).toMatch(/^[0-9a-f]{40}$/);
    expect(a.infohash).not.toBe('channel-one');
    const b = await startSession(e.url, { content_id: 'channel-two', pid: '2' });
    expect(b.infohash).toBe(simInfohashForId('channel-two'));
  });

  it('serves /ace/manifest.m3u8 and /ace/getstream/ in json mode too', async () => {
    const e = await engine();
    const a = await get(`${e.url}/ace/manifest.m3u8?format=json&infohash=${IH}&pid=1`);
    expect((a.json as { response: { infohash: string } }).response.infohash).toBe(IH);
    const b = await get(`${e.url}/ace/getstream/?format=json&infohash=${IH2}&pid=2`);
    expect((b.json as { response: { infohash: string } }).response.infohash).toBe(IH2);
  });

  it('fails dead content with HTTP 200 + error after the fail delay', async () => {
    const e = await engine({ failDelayMs: 300 });
    const t0 = Date.now();
    const res = await get(`${e.url}/ace/getstream?format=json&id=deadbeef&pid=1`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ response: null, error: 'failed to load content' });
    const ih = await get(`${e.url}/ace/getstream?format=json&infohash=dead${'0'.repeat(36)}&pid=2`);
    expect(ih.json).toEqual({ response: null, error: 'failed to load content' });
    expect(e.state().sessions).toHaveLength(0);
  });

  it('answers 500 without a source and with more than one source', async () => {
    const e = await engine();
    expect((await get(`${e.url}/ace/getstream?format=json&pid=1`)).status).toBe(500);
    expect((await get(`${e.url}/ace/getstream?format=json&id=x&infohash=${IH}`)).status).toBe(500);
  });

  it('without format=json redirects to the playback URL with a body that never ends', async () => {
    const e = await engine();
    const controller = new AbortController();
    const res = await request(`${e.url}/ace/getstream?id=abc&pid=1`, { dispatcher, signal: controller.signal });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toMatch(new RegExp(`^${e.url}/ace/r/${simInfohashForId('abc')}/[0-9a-f]{32}$`));
    res.body.on('error', () => {});
    const first = await readSome(res.body, 1, 5_000);
    expect(first.end).toBe('enough');
    const more = await readSome(res.body, 1 << 20, 1_200);
    expect(more.end).toBe('timeout'); // still trickling, never ends
    controller.abort();
    // The redirect target plays.
    const play = await openPlayback(String(res.headers.location));
    expect(play.status).toBe(200);
    play.close();
  });
});

describe('fake engine: playback', () => {
  it('302s the playback URL to /content, then streams endless video/mp2t without Content-Length', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const hop = await request(s.playback_url, { dispatcher });
    expect(hop.statusCode).toBe(302);
    expect(String(hop.headers.location)).toMatch(new RegExp(`/content/${IH}/[0-9a-f]{32}$`));
    await hop.body.dump();
    const play = await openPlayback(s.playback_url);
    expect(play.status).toBe(200);
    expect(play.headers['content-type']).toBe('video/mp2t');
    expect(play.headers['content-length']).toBeUndefined();
    const { data, end } = await readSome(play.body, 100 * 188, 10_000);
    expect(end).toBe('enough');
    expect(data[0]).toBe(0x47);
    for (let i = 0; i + 188 <= data.length; i += 188) expect(data[i]).toBe(0x47);
    play.close();
  });

  it('streams as fast as the reader takes it when the bitrate is 0 (unpaced)', async () => {
    const e = await engine({ bitrate: 0 });
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    const t0 = Date.now();
    const { data, end } = await readSome(play.body, 8 << 20, 20_000);
    expect(end).toBe('enough');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(data[0]).toBe(0x47);
    play.close();
  });

  for (const [bitrate, chunkBytes] of [
    [4_000_000, 1316],
    [0, 16_384],
  ] as const) {
    it(`writes the body ${chunkBytes} bytes at a time (${bitrate ? 'paced' : 'unpaced'}): every HTTP chunk is exactly that size`, async () => {
      const e = await engine({ bitrate, chunkBytes });
      const s = await startSession(e.url, { infohash: IH, pid: '1' });
      const hop = await request(s.playback_url, { dispatcher });
      const path = String(hop.headers.location);
      await hop.body.dump();
      const sizes = await chunkSizes(new URL(path, e.url), 60, 20_000);
      expect(sizes.length).toBe(60);
      expect(new Set(sizes)).toEqual(new Set([chunkBytes]));
    });
  }

  it('allows one reader per session: a second concurrent reader gets a malformed answer and is counted', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const first = await openPlayback(s.playback_url);
    await readSome(first.body, 188, 5_000);
    const second = await openPlayback(s.playback_url);
    expect(second.status).toBe(200);
    const junk = await readSome(second.body, 1 << 20, 5_000);
    expect(junk.end).not.toBe('enough');
    expect(junk.data.length).toBeLessThan(188);
    expect(junk.data[0]).not.toBe(0x47);
    const session = e.state().sessions[0]!;
    expect(session.readers).toBe(1);
    expect(session.reader_conflicts).toBe(1);
    // The first reader keeps streaming.
    expect((await readSome(first.body, 188 * 10, 5_000)).end).toBe('enough');
    first.close();
    // Once it has gone, a new reader is accepted.
    await waitFor(() => e.state().sessions[0]!.readers === 0);
    const third = await openPlayback(s.playback_url);
    expect((await readSome(third.body, 188, 5_000)).data[0]).toBe(0x47);
    third.close();
  });

  it('supersedes the session of the same pid (and of no pid) with its reader seeing EOF', async () => {
    const e = await engine();
    const a = await startSession(e.url, { infohash: IH, pid: 'same' });
    const play = await openPlayback(a.playback_url);
    await readSome(play.body, 188, 5_000);
    const b = await startSession(e.url, { infohash: IH2, pid: 'same' });
    const rest = await readSome(play.body, 1 << 30, 5_000);
    expect(rest.end).toBe('eof');
    expect((await get(a.stat_url)).json).toEqual({ response: null, error: 'unknown playback session id' });
    expect(((await get(b.stat_url)).json as { error: null }).error).toBeNull();
    const sessions = e.state().sessions;
    expect(sessions[0]).toMatchObject({ end_reason: 'superseded', pid: 'same' });
    expect(sessions[0]!.stopped_at).not.toBeNull();
    expect(sessions[1]).toMatchObject({ end_reason: null, stopped_at: null });

    // Without a pid, every start shares one default pid.
    const c = await startSession(e.url, { infohash: IH });
    const d = await startSession(e.url, { id: 'other' });
    expect((await get(c.stat_url)).json).toEqual({ response: null, error: 'unknown playback session id' });
    expect(((await get(d.stat_url)).json as { error: null }).error).toBeNull();
  });

  it('supersedes the old session when the same content is started again under another pid', async () => {
    const e = await engine();
    const a = await startSession(e.url, { infohash: IH, pid: 'one' });
    const b = await startSession(e.url, { infohash: IH, pid: 'two' });
    expect(b.playback_session_id).not.toBe(a.playback_session_id);
    expect((await get(a.stat_url)).json).toEqual({ response: null, error: 'unknown playback session id' });
    expect(e.state().sessions[0]!.end_reason).toBe('superseded');
  });
});

describe('fake engine: stat, stop, idle expiry', () => {
  it('walks the stat lifecycle {} → idle → prebuf → dl with string livepos and 16 KiB counters', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const e = await engine({ clock, startDelayMs: 0 });
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const stat = async () => ((await get(s.stat_url)).json as { response: Record<string, unknown>; error: null }).response;
    expect(await stat()).toEqual({});
    await clock.advanceAsync(600);
    expect(await stat()).toMatchObject({ status: 'idle', is_live: 1, infohash: IH, playback_session_id: s.playback_session_id });
    // Polling stat is not reading: the session is still unread.
    expect(e.state().sessions[0]!.readers).toBe(0);

    const play = await openPlayback(s.playback_url);
    const burst = await readSome(play.body, 40_000, 5_000);
    expect(burst.end).toBe('enough');
    const pre = await stat();
    expect(pre.status).toBe('prebuf');
    await clock.advanceAsync(STAT_DL_AFTER_MS);
    const dl = await stat();
    expect(dl.status).toBe('dl');
    expect(dl.peers).toBeGreaterThan(0);
    expect((dl.downloaded as number) % 16384).toBe(0);
    expect((dl.uploaded as number) % 16384).toBe(0);
    expect(dl.downloaded).toBeGreaterThan(0);
    const livepos = dl.livepos as Record<string, unknown>;
    for (const key of ['last', 'pos', 'live_first', 'live_last', 'first_ts', 'last_ts', 'is_live', 'buffer_pieces']) {
      expect(typeof livepos[key]).toBe('string');
    }
    play.close();
  });

  it('stops with method=stop: ok, then EOF for the reader, unknown for stat and a second stop', async () => {
    const e = await engine();
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(s.playback_url);
    await readSome(play.body, 188, 5_000);
    const stop = await get(`${s.command_url}?method=stop`);
    expect(stop.json).toEqual({ response: 'ok', error: null });
    expect((await readSome(play.body, 1 << 30, 5_000)).end).toBe('eof');
    expect((await get(s.stat_url)).json).toEqual({ response: null, error: 'unknown playback session id' });
    expect((await get(`${s.command_url}?method=stop`)).json).toEqual({ response: null, error: 'unknown playback session id' });
    expect((await get(`${e.url}/ace/cmd/${IH}/${'0'.repeat(32)}?method=stop`)).json).toEqual({
      response: null,
      error: 'unknown playback session id',
    });
    const session = e.state().sessions[0]!;
    expect(session).toMatchObject({ end_reason: 'stop', stop_calls: 2, readers: 0 });
    // A trailing slash (a normalised URL) is accepted.
    const s2 = await startSession(e.url, { infohash: IH2, pid: '2' });
    expect(((await get(`${s2.stat_url}/`)).json as { error: null }).error).toBeNull();
    expect((await get(`${s2.command_url}/?method=stop`)).json).toEqual({ response: 'ok', error: null });
  });

  it('ends a session nobody reads after the idle expiry, stat polling notwithstanding', async () => {
    const e = await engine({ idleExpiryMs: 400 });
    const s = await startSession(e.url, { infohash: IH, pid: '1' });
    const read = await startSession(e.url, { infohash: IH2, pid: '2' });
    const play = await openPlayback(read.playback_url);
    const t0 = Date.now();
    while (Date.now() - t0 < 800) {
      await get(s.stat_url);
      await readSome(play.body, 188, 200);
    }
    expect((await get(s.stat_url)).json).toEqual({ response: null, error: 'unknown playback session id' });
    expect(e.state().sessions[0]!.end_reason).toBe('expired');
    // The session being read lives on.
    expect(((await get(read.stat_url)).json as { error: null }).error).toBeNull();
    play.close();
    // After its reader leaves, it expires too.
    await waitFor(async () => ((await get(read.stat_url)).json as { error: string | null }).error !== null, 5_000);
    expect(e.state().sessions[1]!.end_reason).toBe('expired');
  });
});

/** The sizes of the first `count` HTTP chunks of a chunked body, read off a raw socket. */
function chunkSizes(url: URL, count: number, ms: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const timer = setTimeout(() => finish(new Error('timeout')), ms);
    const sizes: number[] = [];
    let buf = Buffer.alloc(0);
    let inBody = false;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(sizes);
    };
    socket.on('connect', () => socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`));
    socket.on('error', (err) => finish(err));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!inBody) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/transfer-encoding: chunked/i.test(buf.subarray(0, end).toString('latin1'))) return finish(new Error('not chunked'));
        buf = buf.subarray(end + 4);
        inBody = true;
      }
      for (;;) {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const size = parseInt(buf.subarray(0, eol).toString('latin1'), 16);
        if (buf.length < eol + 2 + size + 2) return;
        sizes.push(size);
        buf = buf.subarray(eol + 2 + size + 2);
        if (sizes.length === count) return finish();
      }
    });
  });
}
