import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { AUTOSCALER_TICK_MS } from '../../src/sim/index.ts';
import { IH, failureOf, get, post, sim, sleep, waitFor } from './helpers.ts';

type Engine = { container_id: string; port: number };

describe('orchestrator modes', () => {
  it('down: the port refuses while the control port still works; ok brings it back on the same port', async () => {
    const s = await sim();
    const url = s.url;
    const res = await post(`${s.controlUrl}/__sim/orchestrator`, { mode: 'down' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ mode: 'down', ms: null, until: null, incarnation: 1 });
    expect(await failureOf(`${url}/orchestrator/status`)).toBe('ECONNREFUSED');
    expect((await get(`${s.controlUrl}/__sim/state`)).status).toBe(200);
    // The engines are not the orchestrator: they keep answering.
    expect(s.state().engines[0]!.removed_at).toBeNull();
    expect(await failureOf(`${s.state().engines[0]!.url}/webui/api/service?method=get_version`)).toBe('ok');
    await post(`${s.controlUrl}/__sim/orchestrator`, { mode: 'ok' });
    expect(s.url).toBe(url);
    expect((await get(`${url}/orchestrator/status`)).status).toBe(200);

    // Taking the port down through the orchestrator port itself still answers.
    const self = await post(`${url}/__sim/orchestrator`, { mode: 'down' });
    expect(self.status).toBe(200);
    expect(await failureOf(`${url}/orchestrator/status`)).toBe('ECONNREFUSED');
    await post(`${s.controlUrl}/__sim/orchestrator`, { mode: 'ok' });

    await s.control('orchestrator', { mode: 'down', ms: 1_000 });
    expect(await failureOf(`${url}/orchestrator/status`)).toBe('ECONNREFUSED');
    await waitFor(async () => (await failureOf(`${url}/orchestrator/status`)) === 'ok', 5_000, 'orchestrator back');
    expect(s.state().orchestrator.mode).toBe('ok');
  });

  it('error500: every orchestrator endpoint answers 500 text/plain; the control API still answers on its port', async () => {
    const s = await sim();
    await s.control('orchestrator', { mode: 'error500' });
    for (const [method, path] of [
      ['GET', '/orchestrator/status'],
      ['GET', '/engines'],
      ['GET', '/streams'],
      ['GET', '/vpn/status'],
      ['GET', '/health/status'],
      ['POST', '/provision/acestream'],
      ['POST', '/events/stream_started'],
      ['POST', '/events/stream_ended'],
    ] as const) {
      const res = method === 'GET' ? await get(`${s.url}${path}`) : await post(`${s.url}${path}`, {});
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.text).toBe('Internal Server Error');
    }
    expect((await get(`${s.url}/__sim/state`)).status).toBe(200);
    const log = (await get(`${s.controlUrl}/__sim/status-log`)).json as Array<{ http_status: number; fault: string }>;
    expect(log).toEqual([expect.objectContaining({ http_status: 500, fault: 'error500' })]);
    expect(s.state().status_polls).toBe(1);
    expect(s.state().provisions).toEqual([expect.objectContaining({ http_status: 500, code: 'orchestrator_error500' })]);
    expect(s.state().events.map((e) => [e.type, e.http_status, e.processed])).toEqual([
      ['stream_started', 500, false],
      ['stream_ended', 500, false],
    ]);
    expect(s.state().engines).toHaveLength(1);
  });

  it('slow: every answer is delayed by ms until changed', async () => {
    const s = await sim();
    await s.control('orchestrator', { mode: 'slow', ms: 800 });
    let t0 = Date.now();
    expect((await get(`${s.url}/orchestrator/status`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    t0 = Date.now();
    expect((await get(`${s.url}/engines`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    await s.control('orchestrator', { mode: 'ok' });
    t0 = Date.now();
    await get(`${s.url}/orchestrator/status`);
    expect(Date.now() - t0).toBeLessThan(700);
  });

  it('garbage: 200 with broken JSON', async () => {
    const s = await sim();
    await s.control('orchestrator', { mode: 'garbage', ms: 2_000 });
    const res = await get(`${s.url}/orchestrator/status`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(() => JSON.parse(res.text)).toThrow();
    expect(s.statusLog()).toEqual([expect.objectContaining({ http_status: 200, fault: 'garbage' })]);
  });

  it('restart: down for ms, then back having forgotten every stream and engine', async () => {
    const s = await sim({ minReplicas: 2 });
    const before = (await get(`${s.url}/engines`)).json as Engine[];
    await post(`${s.url}/events/stream_started`, {
      container_id: before[0]!.container_id,
      engine: { host: '127.0.0.1', port: before[0]!.port },
      stream: { key_type: 'infohash', key: IH },
      session: { playback_session_id: 'x', stat_url: 's', command_url: 'c', is_live: 1 },
      labels: { stream_id: 'old' },
    });
    await s.control('circuit', { state: 'open', eta: 100 });
    const res = await s.control('orchestrator', { mode: 'restart', ms: 1_500 });
    expect(res).toMatchObject({ mode: 'restart', ms: 1_500 });
    expect(await failureOf(`${s.url}/orchestrator/status`)).toBe('ECONNREFUSED');
    await waitFor(async () => (await failureOf(`${s.url}/engines`)) === 'ok', 5_000, 'orchestrator back');
    const after = (await get(`${s.url}/engines`)).json as Engine[];
    expect(after).toHaveLength(2);
    expect(after.map((e) => e.container_id)).not.toContain(before[0]!.container_id);
    expect((await get(`${s.url}/streams`)).json).toEqual([]);
    expect((await get(`${s.url}/engines/${before[0]!.container_id}`)).json).toEqual({ error: 'not found' });
    // Old engine servers are gone.
    expect(await failureOf(`http://127.0.0.1:${before[0]!.port}/webui/api/service?method=get_version`)).toBe('ECONNREFUSED');
    const st = s.state();
    expect(st.incarnation).toBe(2);
    expect(st.circuit.state).toBe('closed');
    expect(st.engines).toHaveLength(4); // history keeps the old ones
    expect(st.engines.slice(0, 2).every((e) => e.removed_at !== null && e.incarnation === 1)).toBe(true);
    expect(st.engines.slice(2).every((e) => e.removed_at === null && e.incarnation === 2 && e.origin === 'restart')).toBe(true);
    expect(st.streams[0]).toMatchObject({ id: 'old', incarnation: 1 });
    // A stream_ended for the old id now hits nothing (or, with other streams, someone else).
    expect((await post(`${s.url}/events/stream_ended`, { stream_id: 'old' })).json).toEqual({ updated: false, stream: null });
  });
});

describe('autoscaler tick', () => {
  it('tops engines up to min_replicas once provisioning is possible again', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, provisionDelayMs: 0 });
    await s.control('vpn', { connected: false });
    await s.control('capacity', { min_replicas: 2 });
    expect(s.state().engines).toHaveLength(1);
    await clock.advanceAsync(AUTOSCALER_TICK_MS);
    expect(s.state().engines).toHaveLength(1);
    await s.control('vpn', { connected: true });
    await clock.advanceAsync(AUTOSCALER_TICK_MS);
    expect(s.state().engines.filter((e) => e.removed_at === null)).toHaveLength(2);
    expect(s.state().engines[1]!.origin).toBe('autoscaler');
  });

  it('with auto_delete, removes engines idle past the grace period beyond min_replicas', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, provisionDelayMs: 0, autoDelete: true, gracePeriodS: 40 });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await post(`${s.url}/provision/acestream`, {});
      ids.push((res.json as { container_id: string }).container_id);
    }
    await post(`${s.url}/events/stream_started`, {
      container_id: ids[0],
      engine: { host: '127.0.0.1', port: 1 },
      stream: { key_type: 'infohash', key: IH },
      session: { playback_session_id: 'x', stat_url: 's', command_url: 'c', is_live: 1 },
      labels: { stream_id: 'busy' },
    });
    await clock.advanceAsync(AUTOSCALER_TICK_MS); // 30 s: nobody is idle for 40 s yet
    expect(s.state().engines.filter((e) => e.removed_at === null)).toHaveLength(3);
    await clock.advanceAsync(AUTOSCALER_TICK_MS); // 60 s
    const running = s.state().engines.filter((e) => e.removed_at === null);
    expect(running).toHaveLength(1);
    expect(running[0]!.container_id).toBe(ids[0]); // the busy one stays
    const removed = s.state().engines.find((e) => e.container_id === ids[1])!;
    expect(removed.removed_at).toBe(60_000);
    expect(await failureOf(`${removed.url}/webui/api/service?method=get_version`)).toBe('ECONNREFUSED');
    await sleep(0);
  });
});
