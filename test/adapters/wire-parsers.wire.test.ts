/**
 * Bodies the simulator does not produce, served by tiny local HTTP servers on OS-chosen
 * ports (still real sockets): optional and trailing-slash URLs (quirk 9), tolerant shapes,
 * redirect bodies that never end, error forms of older builds, and the API key — sent on
 * every call, never echoed into an error.
 */
import type http from 'node:http';
import net from 'node:net';
import { Agent } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  rebase,
  EngineBadResponseError,
  EngineContentError,
  EngineSessionGoneError,
  EngineTimeoutError,
} from '../../src/adapters/engine/index.ts';
import {
  OrchestratorAuthError,
  OrchestratorBadResponseError,
  OrchestratorHttpError,
  OrchestratorTimeoutError,
  ProvisionError,
} from '../../src/adapters/orchestrator/index.ts';
import { IH, engineClient, expectNoSecret, json, orchestrator, readSome, rejection, stub, text, timedRejection } from './helpers.ts';

const TOKEN = 'f528764d624db129b32c21fbca0cb8d6';
const SID = 'e0d10c40465de696c0222ffa815edace0635b86a';

/** A getstream answer as an engine inside Docker writes it: its own unreachable address. */
function startAnswer(extra: Record<string, unknown> = {}): unknown {
  return {
    response: {
      playback_url: `http://172.18.0.5:6878/ace/r/${IH}/${TOKEN}`,
      stat_url: `http://172.18.0.5:6878/ace/stat/${IH}/${TOKEN}`,
      command_url: `http://172.18.0.5:6878/ace/cmd/${IH}/${TOKEN}`,
      infohash: IH,
      playback_session_id: SID,
      is_live: 1,
      is_encrypted: 0,
      client_session_id: -1,
      ...extra,
    },
    error: null,
  };
}

function pathOf(req: http.IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://x').pathname;
}

describe('engine answers the simulator does not give', () => {
  it('missing stat_url / command_url → the ones beside the playback URL (rebased); the query carries format, source, pid, params', async () => {
    const srv = await stub((_req, res) => json(res, 200, startAnswer({ stat_url: undefined, command_url: '' })));
    const s = await engineClient().start(srv.url, { source: { kind: 'infohash', value: IH }, pid: 'pid-7', params: { transcode_audio: '0' } });
    expect(s.statUrl).toBe(`${srv.url}/ace/stat/${IH}/${TOKEN}`);
    expect(s.commandUrl).toBe(`${srv.url}/ace/cmd/${IH}/${TOKEN}`);
    expect(s.playbackUrl).toBe(`${srv.url}/ace/r/${IH}/${TOKEN}`);
    const q = new URL(srv.requests[0]!.url, 'http://x').searchParams;
    expect(srv.requests[0]!.url.startsWith('/ace/getstream?')).toBe(true);
    expect(Object.fromEntries(q)).toEqual({ format: 'json', infohash: IH, pid: 'pid-7', transcode_audio: '0' });
  });

  it('missing stat_url / command_url with a playback URL of another shape → null (never an invented path)', async () => {
    const srv = await stub((_req, res) => json(res, 200, startAnswer({ playback_url: `http://172.18.0.5:6878/content/${IH}/${TOKEN}`, stat_url: '', command_url: undefined })));
    const s = await engineClient().start(srv.url, { source: { kind: 'infohash', value: IH }, pid: 'pid-8' });
    expect(s.statUrl).toBeNull();
    expect(s.commandUrl).toBeNull();
  });

  it('trailing-slash URLs are kept (and rebased) as given', async () => {
    const srv = await stub((_req, res) =>
      json(
        res,
        200,
        startAnswer({
          playback_url: `http://172.18.0.5:6878/ace/r/${IH}/${TOKEN}/`,
          stat_url: `http://172.18.0.5:6878/ace/stat/${IH}/${TOKEN}/`,
          command_url: `http://172.18.0.5:6878/ace/cmd/${IH}/${TOKEN}/`,
        }),
      ),
    );
    const s = await engineClient().start(srv.url, { source: { kind: 'id', value: 'abc' }, pid: 'p' });
    expect(s.playbackUrl).toBe(`${srv.url}/ace/r/${IH}/${TOKEN}/`);
    expect(s.statUrl).toBe(`${srv.url}/ace/stat/${IH}/${TOKEN}/`);
    expect(s.commandUrl).toBe(`${srv.url}/ace/cmd/${IH}/${TOKEN}/`);
  });

  it('rebase: host and port both come from the address called, a default port included', () => {
    const reported = `http://172.18.0.5:6878/ace/r/${IH}/${TOKEN}?x=1`;
    expect(rebase(reported, 'http://127.0.0.1:19000')).toBe(`http://127.0.0.1:19000/ace/r/${IH}/${TOKEN}?x=1`);
    expect(rebase(`http://gluetun/ace/stat/${IH}/${TOKEN}/`, 'http://127.0.0.1:19000/')).toBe(`http://127.0.0.1:19000/ace/stat/${IH}/${TOKEN}/`);
    expect(rebase(`/content/${IH}/${TOKEN}`, 'http://127.0.0.1:19000')).toBe(`http://127.0.0.1:19000/content/${IH}/${TOKEN}`);
    // An engine published on a default port (behind a reverse proxy, say): no :6878 may survive.
    expect(rebase(reported, 'http://acestream.lan')).toBe(`http://acestream.lan/ace/r/${IH}/${TOKEN}?x=1`);
    expect(rebase(reported, 'https://engines.example.org/')).toBe(`https://engines.example.org/ace/r/${IH}/${TOKEN}?x=1`);
  });

  it('an engine called on a default port (http://acestream.lan) gets URLs on that address, not on its own :6878', async () => {
    const srv = await stub((_req, res) => json(res, 200, startAnswer()));
    const port = Number(new URL(srv.url).port);
    // Every connection, whatever the URL says, goes to the stub: `http://acestream.lan` (port 80) reaches it.
    const dispatcher = new Agent({
      connect: (_opts, callback) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => callback(null, socket));
        socket.once('error', (err) => callback(err, null));
      },
    });
    onTestFinished(() => dispatcher.close());
    const s = await engineClient({ dispatcher }).start('http://acestream.lan', { source: { kind: 'infohash', value: IH }, pid: 'p' });
    expect(srv.requests[0]!.headers.host).toBe('acestream.lan');
    expect(s.playbackUrl).toBe(`http://acestream.lan/ace/r/${IH}/${TOKEN}`);
    expect(s.statUrl).toBe(`http://acestream.lan/ace/stat/${IH}/${TOKEN}`);
    expect(s.commandUrl).toBe(`http://acestream.lan/ace/cmd/${IH}/${TOKEN}`);
  });

  it('is_live 0 / missing, a missing infohash (falls back to the requested one), numbers as strings in stat', async () => {
    let answer: unknown = startAnswer({ is_live: 0 });
    const srv = await stub((req, res) => {
      if (pathOf(req).startsWith('/ace/stat/')) {
        return json(res, 200, { response: { status: 'dl', peers: '7', speed_down: '257', speed_up: 29, downloaded: '3276800', uploaded: null }, error: null });
      }
      json(res, 200, answer);
    });
    const client = engineClient();
    expect((await client.start(srv.url, { source: { kind: 'infohash', value: IH }, pid: 'p' })).isLive).toBe(false);
    answer = startAnswer({ is_live: undefined, infohash: undefined });
    const s = await client.start(srv.url, { source: { kind: 'infohash', value: IH }, pid: 'p' });
    expect(s.isLive).toBe(true);
    expect(s.infohash).toBe(IH);
    expect(await client.stat(s.statUrl!)).toEqual({ status: 'dl', peers: 7, speedDownKBps: 257, speedUpKBps: 29, downloaded: 3276800, uploaded: 0 });
  });

  it('stat `{}` (a fresh session) → status "" with zeros', async () => {
    const srv = await stub((_req, res) => json(res, 200, { response: {}, error: null }));
    expect(await engineClient().stat(`${srv.url}/ace/stat/${IH}/${TOKEN}`)).toEqual({
      status: '',
      peers: 0,
      speedDownKBps: 0,
      speedUpKBps: 0,
      downloaded: 0,
      uploaded: 0,
    });
  });

  it('malformed starts: no playback_url, null response without error, not JSON → EngineBadResponseError; other 200 errors → EngineContentError', async () => {
    let reply: (res: http.ServerResponse) => void = () => {};
    const srv = await stub((_req, res) => reply(res));
    const client = engineClient();
    const start = () => client.start(srv.url, { source: { kind: 'infohash', value: IH }, pid: 'p' });
    reply = (res) => json(res, 200, startAnswer({ playback_url: undefined }));
    await expect(start()).rejects.toBeInstanceOf(EngineBadResponseError);
    reply = (res) => json(res, 200, { response: null, error: null });
    await expect(start()).rejects.toBeInstanceOf(EngineBadResponseError);
    reply = (res) => text(res, 200, '<html>engine UI</html>');
    await expect(start()).rejects.toMatchObject({ code: 'ENGINE_BAD_RESPONSE' });
    reply = (res) => json(res, 200, { response: null, error: 'failed to load content' });
    await expect(start()).rejects.toBeInstanceOf(EngineContentError);
    reply = (res) => json(res, 200, { response: null, error: 'unknown pid' });
    await expect(start()).rejects.toBeInstanceOf(EngineContentError);
  });

  it('a 302 with a body that never ends is dropped unread: the start fails fast, not after the timeout', async () => {
    const srv = await stub((_req, res) => {
      res.writeHead(302, { location: `/ace/r/${IH}/${TOKEN}`, 'content-type': 'video/mp2t' });
      const nullPacket = Buffer.alloc(188, 0xff);
      nullPacket.set([0x47, 0x1f, 0xff, 0x10]);
      const timer = setInterval(() => res.write(nullPacket), 50);
      res.on('close', () => clearInterval(timer));
    });
    const { err, ms } = await timedRejection(
      engineClient({ noResponseTimeoutMs: 10_000 }).start(srv.url, { source: { kind: 'infohash', value: IH }, pid: 'p' }),
    );
    expect(err).toBeInstanceOf(EngineBadResponseError);
    expect(ms).toBeLessThan(3_000);
  });

  it('stop: an error other than "unknown playback session" → EngineBadResponseError; unknown session → false', async () => {
    let error = 'unknown playback session id';
    const srv = await stub((_req, res) => json(res, 200, { response: null, error }));
    const client = engineClient();
    expect(await client.stop(`${srv.url}/ace/cmd/${IH}/${TOKEN}`)).toBe(false);
    expect(new URL(srv.requests[0]!.url, 'http://x').searchParams.get('method')).toBe('stop');
    error = 'engine busy';
    await expect(client.stop(`${srv.url}/ace/cmd/${IH}/${TOKEN}`)).rejects.toBeInstanceOf(EngineBadResponseError);
    await expect(client.stat(`${srv.url}/ace/stat/${IH}/${TOKEN}`)).rejects.toBeInstanceOf(EngineSessionGoneError);
  });

  it('playback: headers that never come → EngineTimeoutError after the no-response timeout', async () => {
    const srv = await stub(() => {
      /* accept, never answer */
    });
    const { err, ms } = await timedRejection(engineClient({ noResponseTimeoutMs: 400 }).playback(`${srv.url}/ace/r/${IH}/${TOKEN}`));
    expect(err).toBeInstanceOf(EngineTimeoutError);
    expect(ms).toBeLessThan(4_000);
  });

  it('playback: a relative Location is followed; endless redirects → EngineBadResponseError', async () => {
    let loop = false;
    const srv = await stub((req, res) => {
      if (loop) {
        res.writeHead(302, { location: `/ace/r/${IH}/${TOKEN}` });
        return void res.end();
      }
      if (pathOf(req).startsWith('/ace/r/')) {
        res.writeHead(302, { location: `../../../content/${IH}/${TOKEN}` });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      const packet = Buffer.alloc(188, 0xff);
      packet[0] = 0x47;
      res.end(Buffer.concat([packet, packet]));
    });
    const client = engineClient();
    const play = await client.playback(`${srv.url}/ace/r/${IH}/${TOKEN}`);
    expect(play.url).toBe(`${srv.url}/content/${IH}/${TOKEN}`);
    const got = await readSome(play.body, 1_000, 5_000);
    expect(got.end).toBe('eof');
    expect(got.data.length).toBe(376);
    loop = true;
    await expect(client.playback(`${srv.url}/ace/r/${IH}/${TOKEN}`)).rejects.toBeInstanceOf(EngineBadResponseError);
  });
});

describe('orchestrator answers the simulator does not give', () => {
  it('stream records with trailing-slash URLs (quirk 9) are read as given; `…+00:00` times parse too', async () => {
    const srv = await stub((_req, res) =>
      json(res, 200, [
        {
          id: 'acerelay-1',
          key_type: 'infohash',
          key: IH,
          container_id: 'c1',
          playback_session_id: SID,
          stat_url: `http://gluetun:19000/ace/stat/${IH}/${TOKEN}/`,
          command_url: `http://gluetun:19000/ace/cmd/${IH}/${TOKEN}/`,
          is_live: true,
          started_at: '2026-11-27T02:23:26.826324+00:00',
          ended_at: null,
          status: 'started',
        },
      ]),
    );
    const [rec] = await orchestrator(srv.url).streams({ status: 'started', containerId: 'c1' });
    expect(rec).toMatchObject({
      statUrl: `http://gluetun:19000/ace/stat/${IH}/${TOKEN}/`,
      commandUrl: `http://gluetun:19000/ace/cmd/${IH}/${TOKEN}/`,
      startedAt: Date.UTC(2026, 10, 27, 2, 23, 26, 826),
      endedAt: null,
    });
    expect(srv.requests[0]!.url).toBe('/streams?status=started&container_id=c1');
  });

  it('engines: port from labels when missing, unknown fields ignored, an unaddressable entry skipped, not a list → bad response', async () => {
    let body: unknown = [
      { container_id: 'a', host: 'gluetun', labels: { 'host.http_port': '19001' }, health_status: 'weird', brand_new_field: 1 },
      { container_id: 'b', host: 'gluetun', port: '19002', health_status: 'unhealthy', forwarded: true, vpn_container: 'gluetun' },
      { container_id: 'c', host: 'gluetun' },
      { host: 'gluetun', port: 19003 },
      'junk',
    ];
    const srv = await stub((_req, res) => json(res, 200, body));
    const client = orchestrator(srv.url);
    const engines = await client.engines();
    expect(engines.map((e) => [e.containerId, e.port, e.health, e.forwarded])).toEqual([
      ['a', 19001, 'unknown', false],
      ['b', 19002, 'unhealthy', true],
    ]);
    body = { engines: [] };
    await expect(client.engines()).rejects.toBeInstanceOf(OrchestratorBadResponseError);
  });

  it('engine(id): 404 → null; 200 {"error":"not found"} → null', async () => {
    let status = 404;
    const srv = await stub((_req, res) => json(res, status, status === 404 ? { detail: 'Not Found' } : { error: 'not found' }));
    const client = orchestrator(srv.url);
    expect(await client.engine('x')).toBeNull();
    status = 200;
    expect(await client.engine('x')).toBeNull();
  });

  it('status: numbers as strings are read; a body without "status" → bad response', async () => {
    let body: Record<string, unknown> = {
      status: 'healthy',
      engines: { total: '2', running: '2', healthy: 2, unhealthy: 0 },
      capacity: { total: 2, used: 5, available: 0, max_replicas: '3', min_replicas: 1 },
      provisioning: { can_provision: true, blocked_reason_details: null },
      timestamp: '2026-11-27T02:23:26.826324',
    };
    const srv = await stub((_req, res) => json(res, 200, body));
    const client = orchestrator(srv.url);
    const st = await client.status();
    expect(st.engines.total).toBe(2);
    // `used` may count streams and exceed `total`.
    expect(st.capacity).toMatchObject({ total: 2, used: 5, maxReplicas: 3 });
    expect(st.timestamp).toBe(Date.UTC(2026, 10, 27, 2, 23, 26, 826));
    body = { engines: {} };
    await expect(client.status()).rejects.toBeInstanceOf(OrchestratorBadResponseError);
  });

  it('a status that accepts the connection and never answers → OrchestratorTimeoutError quickly (quirk 1)', async () => {
    const srv = await stub(() => {
      /* Docker unreachable: the orchestrator stalls */
    });
    const { err, ms } = await timedRejection(orchestrator(srv.url, { readTimeoutMs: 300 }).status());
    expect(err).toBeInstanceOf(OrchestratorTimeoutError);
    expect(ms).toBeLessThan(3_000);
  });

  it('provision: a 500 with a string detail → failed internal; a 200 that is not JSON → bad response', async () => {
    let reply: (res: http.ServerResponse) => void = () => {};
    const srv = await stub((_req, res) => reply(res));
    const client = orchestrator(srv.url);
    reply = (res) => json(res, 500, { detail: 'Provisioning temporarily unavailable: Docker timeout' });
    const err = await rejection(client.provision());
    expect(err).toBeInstanceOf(ProvisionError);
    expect(err).toMatchObject({ status: 500, verdict: 'failed', reason: 'internal', etaSeconds: null, canRetry: false, shouldWait: false });
    reply = (res) => text(res, 200, 'OK');
    await expect(client.provision()).rejects.toBeInstanceOf(OrchestratorBadResponseError);
  });
});

describe('the API key on the wire', () => {
  const KEY = 'sk-acerelay-0123456789abcdef0123456789abcdef';

  it('a base URL with a path prefix and a trailing slash keeps the prefix, once', async () => {
    const srv = await stub((_req, res) => json(res, 200, { status: 'healthy' }));
    await orchestrator(`${srv.url}/orch/`).status();
    expect(srv.requests[0]!.url).toBe('/orch/orchestrator/status');
  });

  it('is sent as exactly `Bearer <key>` on every call, public endpoints included; not at all without a key', async () => {
    const srv = await stub((req, res) => {
      const p = pathOf(req);
      if (p === '/engines') return json(res, 200, []);
      if (p === '/streams') return json(res, 200, []);
      if (p === '/events/stream_ended') return json(res, 200, { updated: false, stream: null });
      json(res, 200, { status: 'healthy' });
    });
    const client = orchestrator(srv.url, { apiKey: KEY });
    await client.status();
    await client.engines();
    await client.streams();
    await client.vpnStatus();
    await client.healthStatus();
    await client.streamEnded({ containerId: 'c', streamId: 's', reason: 'r' });
    expect(srv.requests).toHaveLength(6);
    for (const r of srv.requests) expect(r.headers.authorization).toBe(`Bearer ${KEY}`);
    await orchestrator(srv.url).status();
    expect(srv.requests[6]!.headers.authorization).toBeUndefined();
  });

  it('an orchestrator that echoes the key in its error bodies never gets it into an error', async () => {
    let reply: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};
    const srv = await stub((req, res) => reply(req, res));
    const auth = (req: http.IncomingMessage) => String(req.headers.authorization);
    const client = orchestrator(srv.url, { apiKey: KEY });

    reply = (req, res) => json(res, 403, { detail: `invalid token: ${auth(req)}` });
    const denied = await rejection(client.provision());
    expect(denied).toBeInstanceOf(OrchestratorAuthError);
    expectNoSecret(denied, KEY);

    reply = (req, res) => text(res, 401, `no such key ${auth(req)}`);
    const denied2 = await rejection(client.status());
    expect(denied2).toMatchObject({ code: 'ORCH_AUTH', status: 401 });
    expectNoSecret(denied2, KEY);

    reply = (req, res) => text(res, 500, `Internal Server Error (request had ${auth(req)})`);
    const status500 = await rejection(client.status());
    expect(status500).toBeInstanceOf(OrchestratorHttpError);
    expectNoSecret(status500, KEY);
    const prov500 = await rejection(client.provision());
    expect(prov500).toBeInstanceOf(ProvisionError);
    expectNoSecret(prov500, KEY);

    reply = (req, res) => json(res, 503, { detail: `Provisioning temporarily unavailable for ${auth(req)}` });
    const prov503 = await rejection(client.provision());
    expect(prov503).toMatchObject({ verdict: 'blocked', reason: 'unavailable' });
    expectNoSecret(prov503, KEY);

    reply = (req, res) =>
      json(res, 503, { detail: { error: 'provisioning_blocked', code: 'vpn_disconnected', message: `key ${auth(req)}`, recovery_eta_seconds: 60, can_retry: true, should_wait: true } });
    const blocked = await rejection(client.provision());
    expect(blocked).toMatchObject({ verdict: 'blocked', reason: 'vpn_disconnected' });
    expectNoSecret(blocked, KEY);

    reply = (req, res) => json(res, 422, { detail: [{ loc: ['header', 'authorization'], msg: 'bad', input: auth(req) }] });
    const invalid = await rejection(client.streamEnded({ containerId: 'c', streamId: 's', reason: 'r' }));
    expect(invalid).toMatchObject({ code: 'ORCH_HTTP', status: 422 });
    expectNoSecret(invalid, KEY);
  });

  it('an echoed key that straddles the 200-character cut of a long error body does not leak a prefix of it', async () => {
    // ~190 characters of text, then the key: the first characters of the key fall inside the
    // excerpt an error message keeps, the rest outside.
    const srv = await stub((req, res) =>
      text(res, pathOf(req) === '/engines' ? 401 : 500, `${'Traceback (most recent call last): '.repeat(5)}..... ${String(req.headers.authorization).slice(7)} more`),
    );
    const client = orchestrator(srv.url, { apiKey: KEY });
    const denied = await rejection(client.engines());
    expect(denied).toBeInstanceOf(OrchestratorAuthError);
    expectNoSecret(denied, KEY);
    const status500 = await rejection(client.status());
    expect(status500).toBeInstanceOf(OrchestratorHttpError);
    expectNoSecret(status500, KEY);
    const prov500 = await rejection(client.provision());
    expect(prov500).toBeInstanceOf(ProvisionError);
    expectNoSecret(prov500, KEY);
  });
});
