import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { AUTOSCALER_TICK_MS } from '../../src/sim/index.ts';
import { computeStatus, type StatusInput } from '../../src/sim/status.ts';
import { get, post, sim, startedEvent } from './helpers.ts';

type Status = {
  status: string;
  engines: { total: number; running: number; healthy: number; unhealthy: number };
  streams: { active: number; total: number };
  capacity: { total: number; used: number; available: number; max_replicas: number; min_replicas: number };
  vpn: { enabled: boolean; connected: boolean; health: string; container: string | null; forwarded_port: number | null };
  provisioning: {
    can_provision: boolean;
    circuit_breaker_state: string;
    blocked_reason: string | null;
    blocked_reason_details: null | { code: string; message: string; recovery_eta_seconds: number | null; can_retry: boolean; should_wait: boolean };
  };
  config: { auto_delete: boolean; grace_period_s: number; target_image: string };
  timestamp: string;
};

const base: StatusInput = {
  now: Date.UTC(2026, 10, 27, 2, 23, 26, 826),
  engines: ['healthy'],
  activeStreams: 0,
  totalStreams: 0,
  capacity: { min_replicas: 1, max_replicas: 3, max_active_replicas: 20, auto_delete: false, grace_period_s: 30 },
  vpn: { enabled: true, connected: true },
  breaker: { state: 'closed', eta: null, lastFailure: null },
};

describe('status computation (pure)', () => {
  it('matches the documented healthy example', () => {
    expect(computeStatus(base)).toEqual({
      status: 'healthy',
      engines: { total: 1, running: 1, healthy: 1, unhealthy: 0 },
      streams: { active: 0, total: 0 },
      capacity: { total: 1, used: 0, available: 1, max_replicas: 3, min_replicas: 1 },
      vpn: { enabled: true, connected: true, health: 'healthy', container: 'gluetun', forwarded_port: 43210 },
      provisioning: { can_provision: true, circuit_breaker_state: 'closed', last_failure: null, blocked_reason: null, blocked_reason_details: null },
      config: { auto_delete: false, grace_period_s: 30, target_image: 'acestream/engine:latest' },
      timestamp: '2026-11-27T02:23:26.826000+00:00',
    });
  });

  it('is unavailable with no engine even while provisioning is possible', () => {
    const s = computeStatus({ ...base, engines: [] }) as Status;
    expect(s.status).toBe('unavailable');
    expect(s.provisioning.can_provision).toBe(true);
  });

  it('picks the first matching blocked reason: vpn, then breaker, then capacity', () => {
    const all: StatusInput = {
      ...base,
      engines: ['healthy', 'healthy', 'healthy'],
      vpn: { enabled: true, connected: false },
      breaker: { state: 'open', eta: 42, lastFailure: base.now },
    };
    const vpn = computeStatus(all) as Status;
    expect(vpn.status).toBe('degraded');
    expect(vpn.vpn).toMatchObject({ connected: false, health: 'unhealthy' });
    expect(vpn.provisioning.blocked_reason_details).toMatchObject({ code: 'vpn_disconnected', recovery_eta_seconds: 60, can_retry: true, should_wait: true });

    const breaker = computeStatus({ ...all, vpn: { enabled: true, connected: true } }) as Status;
    expect(breaker.status).toBe('degraded');
    expect(breaker.provisioning.blocked_reason_details).toMatchObject({ code: 'circuit_breaker', recovery_eta_seconds: 42, can_retry: false, should_wait: true });
    expect(breaker.provisioning.circuit_breaker_state).toBe('open');
    const halfOpen = computeStatus({ ...all, vpn: { enabled: true, connected: true }, breaker: { state: 'half_open', eta: 0, lastFailure: null } }) as Status;
    expect(halfOpen.provisioning.blocked_reason_details).toMatchObject({ code: 'circuit_breaker', can_retry: true });

    const cap = computeStatus({ ...base, engines: ['healthy', 'healthy', 'healthy'] }) as Status;
    expect(cap.status).toBe('healthy'); // max capacity counts as healthy
    expect(cap.provisioning.can_provision).toBe(false);
    expect(cap.provisioning.blocked_reason_details).toMatchObject({ code: 'max_capacity', recovery_eta_seconds: null, can_retry: false, should_wait: true });
    const capAuto = computeStatus({ ...base, engines: ['healthy', 'healthy', 'healthy'], capacity: { ...base.capacity, auto_delete: true, grace_period_s: 45 } }) as Status;
    expect(capAuto.provisioning.blocked_reason_details?.recovery_eta_seconds).toBe(45);
  });

  it('counts streams as used capacity, which may exceed the total', () => {
    const s = computeStatus({ ...base, activeStreams: 3, totalStreams: 5 }) as Status;
    expect(s.capacity).toMatchObject({ total: 1, used: 3, available: 0 });
    expect(s.streams).toEqual({ active: 3, total: 5 });
  });

  it('reports a disabled VPN', () => {
    const s = computeStatus({ ...base, vpn: { enabled: false, connected: false } }) as Status;
    expect(s.vpn).toEqual({ enabled: false, connected: false, health: 'unknown', container: null, forwarded_port: null });
    expect(s.provisioning.can_provision).toBe(true);
  });
});

describe('GET /orchestrator/status over HTTP', () => {
  it('computes each blocked state from the control switches and counts every poll', async () => {
    const s = await sim({ maxReplicas: 2 });
    const status = async () => (await get(`${s.url}/orchestrator/status`)).json as Status;
    expect((await status()).status).toBe('healthy');

    await post(`${s.controlUrl}/__sim/vpn`, { connected: false });
    expect((await status()).provisioning.blocked_reason_details?.code).toBe('vpn_disconnected');
    await post(`${s.controlUrl}/__sim/vpn`, { connected: true });

    await post(`${s.controlUrl}/__sim/circuit`, { state: 'open', eta: 120 });
    const open = await status();
    expect(open.status).toBe('degraded');
    expect(open.provisioning.blocked_reason_details).toMatchObject({ code: 'circuit_breaker', can_retry: false });
    expect(open.provisioning.blocked_reason_details?.recovery_eta_seconds).toBeGreaterThan(115);
    await post(`${s.controlUrl}/__sim/circuit`, { state: 'open', eta: null });
    expect((await status()).provisioning.blocked_reason_details?.recovery_eta_seconds).toBeNull();
    await post(`${s.controlUrl}/__sim/circuit`, { state: 'closed' });

    await post(`${s.controlUrl}/__sim/capacity`, { max_replicas: 1 });
    const cap = await status();
    expect(cap.status).toBe('healthy');
    expect(cap.provisioning.blocked_reason_details).toMatchObject({ code: 'max_capacity', recovery_eta_seconds: null });
    await post(`${s.controlUrl}/__sim/capacity`, { auto_delete: true, grace_period_s: 20 });
    expect((await status()).provisioning.blocked_reason_details?.recovery_eta_seconds).toBe(20);

    expect(s.state().status_polls).toBe(6);
    const log = (await get(`${s.controlUrl}/__sim/status-log`)).json as Array<{ code: string | null; http_status: number }>;
    expect(log.map((e) => e.code)).toEqual([null, 'vpn_disconnected', 'circuit_breaker', 'circuit_breaker', 'max_capacity', 'max_capacity']);
    expect(log[1]).toMatchObject({ code: 'vpn_disconnected', eta: 60, can_retry: true, http_status: 200 });
    expect(log[2]).toMatchObject({ code: 'circuit_breaker', can_retry: false });
    expect(log[3]).toMatchObject({ code: 'circuit_breaker', eta: null });
  });

  it('capacity.total is the engines; used counts every started stream, foreign and stale ones too, past total; max_capacity even all idle', async () => {
    const s = await sim({ minReplicas: 2, maxReplicas: 2 });
    const status = async () => (await get(`${s.url}/orchestrator/status`)).json as Status;
    const idle = await status();
    expect(idle.capacity).toMatchObject({ total: 2, used: 0, available: 2, max_replicas: 2 });
    expect(idle.status).toBe('healthy');
    expect(idle.provisioning).toMatchObject({ can_provision: false, blocked_reason_details: { code: 'max_capacity' } });

    const [a] = (await get(`${s.url}/engines`)).json as Array<{ container_id: string; port: number }>;
    await post(`${s.url}/events/stream_started`, startedEvent(a!.container_id, { port: a!.port, streamId: 'one', psid: '1' }));
    await post(`${s.url}/events/stream_started`, startedEvent(a!.container_id, { port: a!.port, streamId: 'two', psid: '2' }));
    await post(`${s.url}/events/stream_started`, startedEvent(null, { host: '10.9.8.7', port: 6878, streamId: 'foreign' }));
    // Stale: the engine lost its sessions, nobody sent stream_ended; the orchestrator still counts them.
    await s.control(`engines/${a!.container_id}`, { mode: 'restart', ms: 50 });
    const busy = await status();
    expect(busy.capacity).toMatchObject({ total: 2, used: 3, available: 0 });
    expect(busy.streams).toEqual({ active: 3, total: 3 });
    expect(busy.engines.total).toBe(2);
  });

  it('says unavailable with can_provision true when min_replicas is 0', async () => {
    const s = await sim({ minReplicas: 0 });
    const st = (await get(`${s.url}/orchestrator/status`)).json as Status;
    expect(st.status).toBe('unavailable');
    expect(st.provisioning.can_provision).toBe(true);
    expect(st.engines.total).toBe(0);
  });
});

describe('circuit breaker ETA on the clock', () => {
  it('counts down, sits at 0 while open until the next 30 s tick, then closes through half_open', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const s = await sim({ clock });
    const details = async () => ((await get(`${s.url}/orchestrator/status`)).json as Status).provisioning;
    // Open at t=5 s with a 12 s ETA: due at 17 s; ticks come at 30 s, 60 s…
    await clock.advanceAsync(5_000);
    await s.control('circuit', { state: 'open', eta: 12 });
    expect((await details()).blocked_reason_details?.recovery_eta_seconds).toBe(12);
    await clock.advanceAsync(4_500);
    expect((await details()).blocked_reason_details?.recovery_eta_seconds).toBe(8);
    await clock.advanceAsync(7_500);
    const atZero = await details();
    expect(atZero.circuit_breaker_state).toBe('open');
    expect(atZero.blocked_reason_details).toMatchObject({ code: 'circuit_breaker', recovery_eta_seconds: 0, can_retry: false });
    await clock.advanceAsync(12_000); // t = 29 s: still open, still 0
    expect((await details()).blocked_reason_details?.recovery_eta_seconds).toBe(0);
    await clock.advanceAsync(1_000); // the tick at 30 s
    const closed = await details();
    expect(closed.circuit_breaker_state).toBe('closed');
    expect(closed.blocked_reason_details).toBeNull();
    expect(s.state().circuit.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['closed>open', 'open>half_open', 'half_open>closed']);
  });

  it('keeps an ETA-less (null) breaker open across ticks, and an ETA of 0 closes at the next tick', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock });
    await s.control('circuit', { state: 'open', eta: null });
    await clock.advanceAsync(AUTOSCALER_TICK_MS * 3);
    expect(s.state().circuit).toMatchObject({ state: 'open', eta: null });
    await s.control('circuit', { state: 'open', eta: 0 });
    expect(s.state().circuit.eta).toBe(0);
    await clock.advanceAsync(AUTOSCALER_TICK_MS);
    expect(s.state().circuit.state).toBe('closed');
  });

  it('reports half_open with can_retry true, also in /health/status', async () => {
    const s = await sim();
    await s.control('circuit', { state: 'half_open', eta: 5 });
    const st = (await get(`${s.url}/orchestrator/status`)).json as Status;
    expect(st.provisioning.blocked_reason_details).toMatchObject({ code: 'circuit_breaker', can_retry: true, recovery_eta_seconds: 5 });
    const health = (await get(`${s.url}/health/status`)).json as { circuit_breakers: { general: { state: string } } };
    expect(health.circuit_breakers.general.state).toBe('half_open');
  });
});
