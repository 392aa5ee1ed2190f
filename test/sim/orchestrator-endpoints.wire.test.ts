import { describe, expect, it } from 'vitest';
import { IH, get, post, sim, startSession } from './helpers.ts';

type Engine = Record<string, unknown> & { container_id: string; port: number; streams: string[]; forwarded?: boolean };

const Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

function startedBody(engine: Engine, session: { playback_session_id: string; stat_url: string; command_url: string }, streamId?: string) {
  return {
    container_id: engine.container_id,
    engine: { host: '127.0.0.1', port: engine.port },
    stream: { key_type: 'infohash', key: IH },
    session: { playback_session_id: session.playback_session_id, stat_url: session.stat_url, command_url: session.command_url, is_live: 1 },
    ...(streamId ? { labels: { stream_id: streamId } } : {}),
  };
}

describe('orchestrator read endpoints', () => {
  it('GET /engines lists EngineState records with both timestamp forms around', async () => {
    const s = await sim({ minReplicas: 2, quirks: { engines_forwarded: true } });
    const engines = (await get(`${s.url}/engines`)).json as Engine[];
    expect(engines).toHaveLength(2);
    const [a, b] = engines as [Engine, Engine];
    expect(a).toMatchObject({
      container_name: 'acestream-1',
      host: '127.0.0.1',
      labels: { 'host.http_port': String(a.port) },
      streams: [],
      health_status: 'healthy',
      last_stream_usage: null,
      last_cache_cleanup: null,
      cache_size_bytes: null,
      vpn_container: 'gluetun',
    });
    expect(a.container_id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.first_seen).toMatch(Z);
    expect(a.last_seen).toMatch(Z);
    expect(a.last_health_check).toMatch(Z);
    expect(engines.filter((e) => e.forwarded === true)).toHaveLength(1);
    expect(b.container_name).toBe('acestream-2');
    // The engine really is there.
    expect((await get(`http://127.0.0.1:${a.port}/webui/api/service?method=get_version`)).status).toBe(200);
    const status = (await get(`${s.url}/orchestrator/status`)).json as { timestamp: string };
    expect(status.timestamp).toMatch(OFFSET);
  });

  it('has no forwarded nor vpn_container at this version (quirk engines_forwarded off), nor without a VPN', async () => {
    const s = await sim();
    const [e] = (await get(`${s.url}/engines`)).json as Engine[];
    expect(e).not.toHaveProperty('forwarded');
    expect(e).not.toHaveProperty('vpn_container');
    expect(await s.control('quirks', { engines_forwarded: true })).toMatchObject({ engines_forwarded: true });
    const [later] = (await get(`${s.url}/engines`)).json as Engine[];
    expect(later).toMatchObject({ forwarded: true, vpn_container: 'gluetun' });

    const noVpn = await sim({ vpnEnabled: false, quirks: { engines_forwarded: true } });
    const [plain] = (await get(`${noVpn.url}/engines`)).json as Engine[];
    expect(plain).not.toHaveProperty('forwarded');
  });

  it('GET /engines/{id} answers the engine, or 200 {"error":"not found"}', async () => {
    const s = await sim();
    const [e] = (await get(`${s.url}/engines`)).json as Engine[];
    const one = await get(`${s.url}/engines/${e!.container_id}`);
    expect(one.status).toBe(200);
    expect((one.json as Engine).container_id).toBe(e!.container_id);
    const missing = await get(`${s.url}/engines/${'f'.repeat(64)}`);
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual({ error: 'not found' });
  });

  it('GET /streams filters by status and container_id; other statuses are 422', async () => {
    const s = await sim({ minReplicas: 2 });
    const [a, b] = (await get(`${s.url}/engines`)).json as [Engine, Engine];
    const sa = await startSession(`http://127.0.0.1:${a.port}`, { infohash: IH, pid: '1' });
    const sb = await startSession(`http://127.0.0.1:${b.port}`, { infohash: IH, pid: '1' });
    expect((await post(`${s.url}/events/stream_started`, startedBody(a, sa, 'acerelay-a'))).status).toBe(200);
    expect((await post(`${s.url}/events/stream_started`, startedBody(b, sb, 'acerelay-b'))).status).toBe(200);
    expect((await post(`${s.url}/events/stream_ended`, { container_id: b.container_id, stream_id: 'acerelay-b', reason: 'client_left' })).status).toBe(200);

    const ids = async (q: string) => ((await get(`${s.url}/streams${q}`)).json as Array<{ id: string }>).map((x) => x.id).sort();
    expect(await ids('')).toEqual(['acerelay-a', 'acerelay-b']);
    expect(await ids('?status=started')).toEqual(['acerelay-a']);
    expect(await ids('?status=ended')).toEqual(['acerelay-b']);
    expect(await ids(`?status=started&container_id=${b.container_id}`)).toEqual([]);
    expect(await ids(`?container_id=${b.container_id}`)).toEqual(['acerelay-b']);
    const bad = await get(`${s.url}/streams?status=running`);
    expect(bad.status).toBe(422);
    expect(Array.isArray((bad.json as { detail: unknown }).detail)).toBe(true);

    const [rec] = (await get(`${s.url}/streams?status=started`)).json as Array<Record<string, unknown>>;
    expect(rec).toMatchObject({
      id: 'acerelay-a',
      key_type: 'infohash',
      key: IH,
      container_id: a.container_id,
      playback_session_id: sa.playback_session_id,
      stat_url: sa.stat_url,
      command_url: sa.command_url,
      is_live: true,
      ended_at: null,
      status: 'started',
    });
    expect(rec!.started_at).toMatch(Z);
    const engines = (await get(`${s.url}/engines`)).json as Engine[];
    expect(engines.find((e) => e.container_id === a.container_id)!.streams).toEqual(['acerelay-a']);
    expect(engines.find((e) => e.container_id === b.container_id)!.last_stream_usage).toMatch(Z);
    // Stats of unknown streams are [].
    expect((await get(`${s.url}/streams/nope/stats`)).json).toEqual([]);
  });

  it('GET /vpn/status in both shapes', async () => {
    const s = await sim();
    expect((await get(`${s.url}/vpn/status`)).json).toMatchObject({
      enabled: true,
      status: 'running',
      container_name: 'gluetun',
      container: 'gluetun',
      health: 'healthy',
      connected: true,
      forwarded_port: 43210,
    });
    const v = (await get(`${s.url}/vpn/status`)).json as { last_check: string; last_check_at: string };
    expect(v.last_check).toMatch(OFFSET);
    expect(v.last_check_at).toMatch(OFFSET);
    await s.control('vpn', { connected: false });
    expect((await get(`${s.url}/vpn/status`)).json).toMatchObject({ enabled: true, connected: false, health: 'unhealthy' });

    const off = await sim({ vpnEnabled: false });
    expect((await get(`${off.url}/vpn/status`)).json).toEqual({
      enabled: false,
      status: 'disabled',
      container_name: null,
      container: null,
      health: 'unknown',
      connected: false,
      forwarded_port: null,
      last_check: null,
      last_check_at: null,
    });
  });

  it('GET /health/status with both circuit breakers', async () => {
    const s = await sim({ minReplicas: 2 });
    const h = (await get(`${s.url}/health/status`)).json as Record<string, unknown> & {
      circuit_breakers: { general: Record<string, unknown>; replacement: Record<string, unknown> };
    };
    expect(h).toMatchObject({ total_engines: 2, healthy_engines: 2, unhealthy_engines: 0, marked_for_replacement: 0, minimum_required: 2, health_check_interval: 20 });
    expect(h.circuit_breakers.general).toMatchObject({ state: 'closed', failure_count: 0, failure_threshold: 5, last_failure_time: null, recovery_timeout: 300 });
    expect(h.circuit_breakers.general.last_success_time).toMatch(OFFSET);
    expect(h.circuit_breakers.replacement).toMatchObject({ state: 'closed', failure_threshold: 3, recovery_timeout: 180 });
  });

  it('marks engines unhealthy while they are in restart/refuse/reset/error500 mode', async () => {
    const s = await sim();
    const [e] = (await get(`${s.url}/engines`)).json as Engine[];
    for (const mode of ['error500', 'reset', 'refuse', 'restart']) {
      await s.control(`engines/${e!.container_id}`, { mode });
      const [again] = (await get(`${s.url}/engines`)).json as Engine[];
      expect(again!.health_status).toBe('unhealthy');
      await s.control(`engines/${e!.container_id}`, { mode: 'ok' });
    }
    const [ok] = (await get(`${s.url}/engines`)).json as Engine[];
    expect(ok!.health_status).toBe('healthy');
  });

  it('answers unknown paths 404 and wrong methods 405', async () => {
    const s = await sim();
    expect((await get(`${s.url}/nope`)).status).toBe(404);
    expect((await post(`${s.url}/orchestrator/status`, {})).status).toBe(405);
    expect((await get(`${s.url}/provision/acestream`)).status).toBe(405);
  });
});
