import { describe, expect, it } from 'vitest';
import { REAL_QUIRKS, SimInputError } from '../../src/sim/index.ts';
import { IH, get, http, openPlayback, post, readSome, sim, startSession, waitFor } from './helpers.ts';

describe('control API', () => {
  it('serves /__sim on both the control port and the orchestrator port, with the same state as state()', async () => {
    const s = await sim();
    const a = (await get(`${s.controlUrl}/__sim/state`)).json as Record<string, unknown>;
    const b = (await get(`${s.url}/__sim/state`)).json as Record<string, unknown>;
    for (const key of ['now', 'engines', 'provisions', 'events', 'status_polls']) expect(a).toHaveProperty(key);
    expect(a.engines).toEqual(b.engines);
    expect(a.engines).toEqual(JSON.parse(JSON.stringify(s.state().engines)));
    const res = await post(`${s.url}/__sim/vpn`, { connected: false });
    expect(res.json).toEqual({ enabled: true, connected: false, until: null });
    expect(s.state().vpn.connected).toBe(false);
  });

  it('state() has the documented schema, engine sessions included', async () => {
    const s = await sim();
    const engine = s.state().engines[0]!;
    const started = await startSession(engine.url, { infohash: IH, pid: 'p' });
    const st = s.state();
    expect(st).toMatchObject({ now: expect.any(Number), status_polls: 0, provisions: [], events: [] });
    expect(st.engines[0]).toMatchObject({ container_id: engine.container_id, host: '127.0.0.1', port: engine.port, mode: 'ok', removed_at: null });
    expect(st.engines[0]!.sessions).toEqual([
      expect.objectContaining({
        playback_session_id: started.playback_session_id,
        infohash: IH,
        pid: 'p',
        readers: 0,
        started_at: expect.any(Number),
        stopped_at: null,
        stop_calls: 0,
        end_reason: null,
        reader_conflicts: 0,
      }),
    ]);
  });

  it('answers 400 with a reason on invalid input', async () => {
    const s = await sim();
    const c = s.controlUrl;
    const cases: Array<[string, unknown]> = [
      ['/__sim/orchestrator', { mode: 'explode' }],
      ['/__sim/orchestrator', { mode: 'slow' }],
      ['/__sim/orchestrator', { mode: 'down', ms: 'long' }],
      ['/__sim/vpn', { connected: 'no' }],
      ['/__sim/vpn', {}],
      ['/__sim/circuit', { state: 'ajar' }],
      ['/__sim/circuit', { state: 'open', eta: -1 }],
      ['/__sim/capacity', { max_replicas: 1.5 }],
      ['/__sim/capacity', { max_replica: 3 }],
      ['/__sim/provision', { fail: 1, code: 'nope' }],
      ['/__sim/provision', { autoscaler_fail: -1 }],
      ['/__sim/capacity', { max_active_replicas: 'many' }],
      ['/__sim/circuit', { failure_threshold: 0 }],
      ['/__sim/circuit', { eta: 5 }],
      ['/__sim/quirks', { full_house: 'maybe' }],
      ['/__sim/quirks', { merge_labels: 'yes' }],
      ['/__sim/quirks', { sweep: true }],
      ['/__sim/quirks', { mode: 'ok', strict_urls: false }],
      ['/__sim/engines/unknown-container', { mode: 'stall' }],
      [`/__sim/engines/${s.state().engines[0]!.container_id}`, { mode: 'melt' }],
      ['/__sim/nothing', {}],
      ['/__sim/vpn', [1]],
    ];
    for (const [path, body] of cases) {
      const res = await post(`${c}${path}`, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(typeof (res.json as { error: string }).error).toBe('string');
    }
    expect((await http('POST', `${c}/__sim/vpn`, { raw: '{oops' })).status).toBe(400);
    await expect(s.control('orchestrator', { mode: 'explode' })).rejects.toBeInstanceOf(SimInputError);
    await expect(s.control('engines/nope', { mode: 'ok' })).rejects.toBeInstanceOf(SimInputError);
    expect(s.state().orchestrator.mode).toBe('ok');
  });

  it('returns the resulting settings, and {"mode":"ok"} clears each switch', async () => {
    const s = await sim({ maxReplicas: 4 });
    expect(await s.control('circuit', { state: 'open', eta: 180 })).toMatchObject({ state: 'open', eta: 180 });
    expect(await s.control('circuit', { mode: 'ok' })).toMatchObject({ state: 'closed', eta: null });
    expect(await s.control('capacity', { max_replicas: 2, max_active_replicas: 6, leaked_slots: 2, auto_delete: true, grace_period_s: 10 })).toEqual({
      min_replicas: 1,
      max_replicas: 2,
      max_active_replicas: 6,
      auto_delete: true,
      grace_period_s: 10,
      active_slots: { max: 6, enforced: true, engines: 1, pending: 0, leaked: 2, free: 3 },
    });
    expect(await s.control('capacity', { mode: 'ok' })).toEqual({
      min_replicas: 1,
      max_replicas: 4,
      max_active_replicas: 20,
      auto_delete: false,
      grace_period_s: 30,
      active_slots: { max: 20, enforced: true, engines: 1, pending: 0, leaked: 0, free: 19 },
    });
    expect(await s.control('provision', { fail: 3, code: 'text500', delay_ms: 5, fail_delay_ms: 7, autoscaler_fail: 2 })).toEqual({
      fail: 3,
      code: 'text500',
      delay_ms: 5,
      fail_delay_ms: 7,
      autoscaler_fail: 2,
    });
    expect(await s.control('provision', { mode: 'ok' })).toEqual({ fail: 0, code: 'general_error', delay_ms: 0, fail_delay_ms: 200, autoscaler_fail: 0 });
    expect(await s.control('circuit', { failure_threshold: 3, recovery_timeout: 180 })).toMatchObject({ state: 'closed', failure_threshold: 3, recovery_timeout: 180 });
    expect(await s.control('circuit', { mode: 'ok' })).toMatchObject({ state: 'closed', failure_threshold: 5, recovery_timeout: 300 });
    expect(await s.control('quirks', { full_house: 'max_capacity', leak_failed_creates: false, unknown_container: 'sweep', restart_engines: 'new_ports' })).toEqual({
      ...REAL_QUIRKS,
      full_house: 'max_capacity',
      leak_failed_creates: false,
      unknown_container: 'sweep',
      restart_engines: 'new_ports',
    });
    expect(s.state().quirks.full_house).toBe('max_capacity');
    expect(await s.control('quirks', { mode: 'ok' })).toEqual(REAL_QUIRKS);
    expect(await s.control('vpn', { connected: false })).toMatchObject({ connected: false });
    expect(await s.control('vpn', { mode: 'ok' })).toMatchObject({ connected: true });
    expect(await s.control('vpn', { enabled: false })).toMatchObject({ enabled: false });
    const status = (await get(`${s.url}/orchestrator/status`)).json as { vpn: { enabled: boolean } };
    expect(status.vpn.enabled).toBe(false);
    const id = s.state().engines[0]!.container_id;
    expect(await s.control(`engines/${id}`, { mode: 'stall', ms: 5_000 })).toMatchObject({ container_id: id, mode: 'stall', ms: 5_000 });
    expect(s.state().engines[0]!.mode).toBe('stall');
    expect(await s.control(`/__sim/engines/${id}`, { mode: 'ok' })).toMatchObject({ mode: 'ok' });
    // The container name works too (handy from a shell).
    expect(await s.control('engines/acestream-1', { mode: 'gap', ms: 10 })).toMatchObject({ container_id: id, mode: 'gap' });
    expect(await s.control('orchestrator', { mode: 'slow', ms: 10 })).toMatchObject({ mode: 'slow', ms: 10, until: null });
    expect(await s.control('orchestrator', { mode: 'ok' })).toMatchObject({ mode: 'ok' });
  });

  it('a VPN blip holds the engines: readers get no bytes until it reconnects (ms ends it by itself)', async () => {
    const s = await sim();
    const engine = s.state().engines[0]!;
    const started = await startSession(engine.url, { infohash: IH, pid: '1' });
    const play = await openPlayback(started.playback_url);
    await readSome(play.body, 60_000, 5_000);
    const res = (await s.control('vpn', { connected: false, ms: 2_000 })) as { until: number };
    expect(res.until).toBeGreaterThan(0);
    await readSome(play.body, 1 << 30, 200);
    expect((await readSome(play.body, 1, 400)).end).toBe('timeout');
    expect((await readSome(play.body, 188, 5_000)).end).toBe('enough');
    await waitFor(() => s.state().vpn.connected, 5_000);
    play.close();
  });
});
