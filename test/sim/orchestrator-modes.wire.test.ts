import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { AUTOSCALER_TICK_MS } from '../../src/sim/index.ts';
import { IH, failureOf, get, post, sim, sleep, startedEvent, waitFor } from './helpers.ts';

type Engine = { container_id: string; port: number };

const STAT = 'http://127.0.0.1:1/ace/stat/x/y';
const CMD = 'http://127.0.0.1:1/ace/cmd/x/y';

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

  it('restart: every engine stops at once; back after ms having forgotten every stream, engines on the same ports under new ids', async () => {
    const s = await sim({ minReplicas: 2 });
    const before = (await get(`${s.url}/engines`)).json as Engine[];
    await post(`${s.url}/events/stream_started`, {
      container_id: before[0]!.container_id,
      engine: { host: '127.0.0.1', port: before[0]!.port },
      stream: { key_type: 'infohash', key: IH },
      session: { playback_session_id: 'x', stat_url: STAT, command_url: CMD, is_live: 1 },
      labels: { stream_id: 'old' },
    });
    await s.control('circuit', { state: 'open', eta: 100 });
    const res = await s.control('orchestrator', { mode: 'restart', ms: 1_500 });
    expect(res).toMatchObject({ mode: 'restart', ms: 1_500 });
    expect(await failureOf(`${s.url}/orchestrator/status`)).toBe('ECONNREFUSED');
    // SIGTERM: the engines are stopped on the way down, not when it comes back.
    for (const e of before) expect(await failureOf(`http://127.0.0.1:${e.port}/webui/api/service?method=get_version`)).toBe('ECONNREFUSED');
    expect(s.state().engines.every((e) => e.removed_at !== null && e.incarnation === 1)).toBe(true);

    await waitFor(async () => (await failureOf(`${s.url}/engines`)) === 'ok', 5_000, 'orchestrator back');
    const after = (await get(`${s.url}/engines`)).json as Engine[];
    expect(after).toHaveLength(2);
    expect(after.map((e) => e.port).sort()).toEqual(before.map((e) => e.port).sort());
    for (const e of before) expect(after.map((a) => a.container_id)).not.toContain(e.container_id);
    expect((await get(`${s.url}/streams`)).json).toEqual([]);
    expect((await get(`${s.url}/engines/${before[0]!.container_id}`)).json).toEqual({ error: 'not found' });
    // The old port answers again, for a new engine with no sessions.
    expect((await get(`http://127.0.0.1:${before[0]!.port}/webui/api/service?method=get_version`)).status).toBe(200);
    const st = s.state();
    expect(st.incarnation).toBe(2);
    expect(st.circuit.state).toBe('closed');
    expect(st.engines).toHaveLength(4); // history keeps the old ones
    expect(st.engines.slice(2).every((e) => e.removed_at === null && e.incarnation === 2 && e.origin === 'restart' && e.sessions.length === 0)).toBe(true);
    expect(st.streams[0]).toMatchObject({ id: 'old', incarnation: 1 });
    // A stream_ended for the old id now hits nothing (or, with other streams, someone else).
    expect((await post(`${s.url}/events/stream_ended`, { stream_id: 'old' })).json).toEqual({ updated: false, stream: null });
  });

  it('restart with restart_engines "new_ports": engines serve through the downtime, then new ones replace them on new ports', async () => {
    const s = await sim({ minReplicas: 2, quirks: { restart_engines: 'new_ports' } });
    const before = (await get(`${s.url}/engines`)).json as Engine[];
    await s.control('orchestrator', { mode: 'restart', ms: 1_500 });
    expect(await failureOf(`${s.url}/orchestrator/status`)).toBe('ECONNREFUSED');
    expect(await failureOf(`http://127.0.0.1:${before[0]!.port}/webui/api/service?method=get_version`)).toBe('ok');
    await waitFor(async () => (await failureOf(`${s.url}/engines`)) === 'ok', 5_000, 'orchestrator back');
    const after = (await get(`${s.url}/engines`)).json as Engine[];
    expect(after).toHaveLength(2);
    for (const e of before) expect(after.map((a) => a.port)).not.toContain(e.port);
    expect(await failureOf(`http://127.0.0.1:${before[0]!.port}/webui/api/service?method=get_version`)).toBe('ECONNREFUSED');
    expect(s.state().incarnation).toBe(2);
  });

  it('a provision in flight when the restart begins is dropped, and its engine never appears', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, provisionDelayMs: 600 });
    const pending = post(`${s.url}/provision/acestream`, {}).catch((err: unknown) => (err as { code?: string }).code ?? 'error');
    await waitFor(() => s.state().provisions.length === 1, 5_000, 'provision arrived');
    await s.control('orchestrator', { mode: 'restart', ms: 1_000 });
    await pending;
    // The provision's delay ends during the downtime, the restart after it.
    await clock.advanceAsync(2_000);
    await waitFor(() => s.state().orchestrator.mode === 'ok' && s.state().engines.some((e) => e.origin === 'restart'), 5_000, 'restart over');
    const st = s.state();
    expect(st.provisions[0]).toMatchObject({ t: 0, done_at: 0, code: 'connection_dropped', http_status: null, incarnation: 1 });
    expect(st.engines.map((e) => e.origin)).toEqual(['initial', 'restart']);
  });

  it('a request a slow orchestrator still holds when it restarts dies with it: the restarted one never acts on it', async () => {
    // Found by the chaos harness: a stream_ended sleeping in slow mode across a restart was
    // acted on by the new incarnation, which knows no such id — and so ended another stream.
    const clock = new ManualClock(0);
    const s = await sim({ clock });
    const old = s.state().engines[0]!.container_id;
    expect((await post(`${s.url}/events/stream_started`, startedEvent(old, { streamId: 'acerelay-old' }))).status).toBe(200);
    await s.control('orchestrator', { mode: 'slow', ms: 3_000 });
    const timers = clock.pending;
    const pending = post(`${s.url}/events/stream_ended`, { container_id: old, stream_id: 'acerelay-old', reason: 'client_left' }).catch(
      (err: unknown) => (err as { code?: string }).code ?? 'error',
    );
    await waitFor(() => clock.pending > timers, 5_000, 'the end is held');
    await s.control('orchestrator', { mode: 'restart', ms: 1_000 });
    await pending;
    await clock.advanceAsync(1_000);
    await waitFor(() => s.state().orchestrator.mode === 'ok', 5_000, 'restart over');
    // Another client's stream on the new incarnation's engine (same host:port, new id).
    const fresh = s.state().engines.find((e) => e.removed_at === null)!.container_id;
    expect((await post(`${s.url}/events/stream_started`, startedEvent(fresh, { streamId: 'other-client', key: IH }))).status).toBe(200);
    // The held request's sleep ends.
    await clock.advanceAsync(3_000);
    await sleep(50);
    const st = s.state();
    expect(st.events.filter((e) => e.type === 'stream_ended')).toEqual([]);
    expect(st.streams.find((r) => r.id === 'other-client')).toMatchObject({ status: 'started', ended_by: null, incarnation: 2 });
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
      session: { playback_session_id: 'x', stat_url: STAT, command_url: CMD, is_live: 1 },
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
