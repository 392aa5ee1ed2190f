import type http from 'node:http';
import type { FakeEngine } from './engine.ts';
import type { SourceKind } from './engine-session.ts';
import { DEFAULT_SLOW_START_MS } from './engine-modes.ts';
import { statResponse } from './engine-stat.ts';
import { clientGone, requestUrl, sendJson, sendText } from './http-io.ts';
import { isDeadKey, isInfohash, simInfohashForId } from './ids.ts';
import type { RequestHandler } from './switchable-server.ts';

const VERSION = { code: 3017400, platform: 'linux', version: '3.1.74' };
const UNKNOWN_SESSION = { response: null, error: 'unknown playback session id' };
const SOURCES: ReadonlyArray<[param: string, kind: SourceKind]> = [
  ['id', 'content_id'],
  ['content_id', 'content_id'],
  ['infohash', 'infohash'],
  ['url', 'url'],
  ['magnet', 'magnet'],
];

/** The engine's HTTP API (engine.md), faults applied first. */
export function engineHandler(engine: FakeEngine): RequestHandler {
  return (req, res) => {
    if (engine.resetting) {
      req.socket.resetAndDestroy();
      return;
    }
    if (engine.mode === 'error500') return sendText(res, 500, 'Internal Server Error');
    const url = requestUrl(req);
    const path = url.pathname;
    const parts = path.split('/').filter(Boolean);
    if (path === '/webui/api/service') return service(res, url);
    if (path === '/server/api') return serverApi(engine, res, url);
    if (path === '/ace/getstream' || path === '/ace/getstream/' || path === '/ace/manifest.m3u8') {
      return void start(engine, req, res, url);
    }
    if (parts.length === 4 && parts[0] === 'ace' && parts[1] === 'r') return redirectToContent(engine, req, res, parts[2]!, parts[3]!);
    if (parts.length === 3 && parts[0] === 'content') return playback(engine, res, parts[1]!, parts[2]!);
    if (parts.length === 4 && parts[0] === 'ace' && parts[1] === 'stat') return stat(engine, res, parts[2]!, parts[3]!);
    if (parts.length === 4 && parts[0] === 'ace' && parts[1] === 'cmd') return command(engine, res, url, parts[2]!, parts[3]!);
    sendText(res, 404, 'Not Found');
  };
}

function service(res: http.ServerResponse, url: URL): void {
  if (url.searchParams.get('method') === 'get_version') return sendJson(res, 200, { result: VERSION, error: null });
  sendJson(res, 200, { result: null, error: 'unknown method' });
}

function serverApi(engine: FakeEngine, res: http.ServerResponse, url: URL): void {
  switch (url.searchParams.get('method')) {
    case 'get_status':
      return sendJson(res, 200, { result: { status: 'ok', version: VERSION.version, sessions: engine.liveSessions().length }, error: null });
    case 'get_network_connection_status':
      return sendJson(res, 200, { result: { connected: engine.vpnConnected } });
    default:
      return sendJson(res, 200, { result: null, error: 'unknown method' });
  }
}

function baseUrl(engine: FakeEngine, req: http.IncomingMessage): string {
  return `http://${req.headers.host ?? `${engine.host}:${engine.port}`}`;
}

async function start(engine: FakeEngine, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const q = url.searchParams;
  const given = SOURCES.filter(([param]) => q.has(param) && q.get(param) !== '');
  if (given.length === 0) return sendText(res, 500, 'Internal Server Error: missing content id');
  if (given.length > 1) return sendText(res, 500, 'Internal Server Error: only one of id, content_id, infohash, url, magnet');
  const [param, keyType] = given[0]!;
  const key = q.get(param)!;
  const pid = q.get('pid') || null;
  const json = q.get('format') === 'json';
  const epoch = engine.epoch;
  const loads = !isDeadKey(key) && (keyType !== 'infohash' || isInfohash(key));

  if (!loads) {
    await engine.sleep(engine.failDelayMs);
    if (clientGone(res) || engine.epoch !== epoch || engine.closed) return;
    return sendJson(res, 200, { response: null, error: 'failed to load content' });
  }

  const settings = engine.modeSettings;
  const delay = settings.mode === 'slow_start' ? (settings.delay_ms ?? DEFAULT_SLOW_START_MS) : engine.startDelayMs;
  await engine.sleep(delay);
  if (clientGone(res) || engine.epoch !== epoch || engine.closed) return;

  const infohash = keyType === 'infohash' ? key.toLowerCase() : simInfohashForId(key);
  const session = engine.startSession(key, keyType, infohash, pid);
  const base = baseUrl(engine, req);
  const playbackUrl = `${base}/ace/r/${infohash}/${session.token}`;
  if (!json) {
    res.writeHead(302, { location: playbackUrl, 'content-type': 'video/mp2t' });
    engine.trickle(res);
    return;
  }
  sendJson(res, 200, {
    response: {
      playback_url: playbackUrl,
      stat_url: `${base}/ace/stat/${infohash}/${session.token}`,
      command_url: `${base}/ace/cmd/${infohash}/${session.token}`,
      infohash,
      playback_session_id: session.id,
      is_live: 1,
      is_encrypted: 0,
      client_session_id: -1,
    },
    error: null,
  });
}

function liveSession(engine: FakeEngine, infohash: string, token: string) {
  const session = engine.sessionByToken(token);
  return session && session.alive && session.infohash === infohash.toLowerCase() ? session : undefined;
}

function redirectToContent(engine: FakeEngine, req: http.IncomingMessage, res: http.ServerResponse, infohash: string, token: string): void {
  if (!liveSession(engine, infohash, token)) return sendText(res, 404, 'Not Found');
  res.writeHead(302, { location: `${baseUrl(engine, req)}/content/${infohash}/${token}`, 'content-length': '0' });
  res.end();
}

function playback(engine: FakeEngine, res: http.ServerResponse, infohash: string, token: string): void {
  const session = liveSession(engine, infohash, token);
  if (!session) return sendText(res, 404, 'Not Found');
  engine.attachReader(session, res);
}

function stat(engine: FakeEngine, res: http.ServerResponse, infohash: string, token: string): void {
  const session = liveSession(engine, infohash, token);
  if (!session) return sendJson(res, 200, UNKNOWN_SESSION);
  const response = statResponse(session, {
    now: engine.clock.now(),
    bitrate: engine.bitrate,
    noPeers: engine.mode === 'no_peers',
    held: engine.holding,
  });
  sendJson(res, 200, { response, error: null });
}

function command(engine: FakeEngine, res: http.ServerResponse, url: URL, infohash: string, token: string): void {
  const method = url.searchParams.get('method');
  if (method !== 'stop') return sendJson(res, 200, { response: null, error: 'unknown method' });
  const session = engine.sessionByToken(token);
  if (!session || session.infohash !== infohash.toLowerCase()) return sendJson(res, 200, UNKNOWN_SESSION);
  if (!engine.stop(token)) return sendJson(res, 200, UNKNOWN_SESSION);
  sendJson(res, 200, { response: 'ok', error: null });
}
