/**
 * OrchestratorClient.status(), vpnStatus() and healthStatus() against the running simulator:
 * every state the status endpoint can be in (quirks 4 and 6), and both timestamp forms
 * (quirk 2) as the adapter parses them.
 */
import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../../src/adapters/orchestrator/index.ts';
import { control, orchestrator, sleep, startSim } from '../helpers.ts';

/** A parsed time must be a recent epoch-ms value from the simulator's (system) clock. */
function expectRecent(t: number | null): void {
  expect(typeof t).toBe('number');
  expect(Math.abs(Date.now() - (t as number))).toBeLessThan(120_000);
}

describe('OrchestratorClient.status()', () => {
  it('healthy: engines, capacity, VPN and provisioning normalised; the +00:00 timestamp parsed', async () => {
    const sim = await startSim({ maxReplicas: 3 });
    const st = await orchestrator(sim).status();
    expect(st.status).toBe('healthy');
    expect(st.engines).toEqual({ total: 1, running: 1, healthy: 1, unhealthy: 0 });
    expect(st.streams).toEqual({ active: 0, total: 0 });
    expect(st.capacity).toEqual({ total: 1, used: 0, available: 1, maxReplicas: 3, minReplicas: 1 });
    expect(st.vpn).toEqual({ enabled: true, connected: true, health: 'healthy', forwardedPort: 43210 });
    expect(st.provisioning).toEqual({
      canProvision: true,
      circuitBreakerState: 'closed',
      lastFailure: null,
      blockedReason: null,
      blocked: null,
    });
    expectRecent(st.timestamp);
  });

  it('degraded by the VPN: vpn_disconnected with a 60 s ETA, retry allowed, wait advised', async () => {
    const sim = await startSim();
    await control(sim, 'vpn', { connected: false });
    const st = await orchestrator(sim).status();
    expect(st.status).toBe('degraded');
    expect(st.vpn).toMatchObject({ enabled: true, connected: false, health: 'unhealthy', forwardedPort: null });
    expect(st.provisioning.canProvision).toBe(false);
    expect(typeof st.provisioning.blockedReason).toBe('string');
    expect(st.provisioning.blocked).toMatchObject({ code: 'vpn_disconnected', etaSeconds: 60, canRetry: true, shouldWait: true });
    expect(typeof st.provisioning.blocked!.message).toBe('string');
  });

  it('degraded by the breaker: the ETA counts down and sits at 0 while still open (0 is not "ready")', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    await control(sim, 'circuit', { state: 'open', eta: 1 });
    const first = await client.status();
    expect(first.status).toBe('degraded');
    expect(first.provisioning.circuitBreakerState).toBe('open');
    expect(first.provisioning.blocked).toMatchObject({ code: 'circuit_breaker', etaSeconds: 1, canRetry: false, shouldWait: true });
    expectRecent(first.provisioning.lastFailure);
    await sleep(1_200);
    const later = await client.status();
    // The recovery timeout has passed, but only the orchestrator's next tick closes it.
    expect(later.status).toBe('degraded');
    expect(later.provisioning.canProvision).toBe(false);
    expect(later.provisioning.blocked).toMatchObject({ code: 'circuit_breaker', etaSeconds: 0, canRetry: false });
  });

  it('breaker ETA forms: a longer countdown decreases, 0 stays 0, null stays null', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    await control(sim, 'circuit', { state: 'open', eta: 120 });
    const a = (await client.status()).provisioning.blocked!;
    expect(a.etaSeconds).toBeGreaterThan(115);
    expect(a.etaSeconds).toBeLessThanOrEqual(120);

    await control(sim, 'circuit', { state: 'open', eta: 0 });
    const zero = await client.status();
    expect(zero.status).toBe('degraded');
    expect(zero.provisioning.blocked).toMatchObject({ code: 'circuit_breaker', etaSeconds: 0, canRetry: false, shouldWait: true });

    await control(sim, 'circuit', { state: 'open', eta: null });
    const none = await client.status();
    expect(none.provisioning.blocked).toMatchObject({ code: 'circuit_breaker', etaSeconds: null, canRetry: false });

    await control(sim, 'circuit', { state: 'half_open' });
    const half = await client.status();
    expect(half.provisioning.circuitBreakerState).toBe('half_open');
    expect(half.provisioning.blocked).toMatchObject({ code: 'circuit_breaker', canRetry: true, shouldWait: true });

    await control(sim, 'circuit', { mode: 'ok' });
    const closed = await client.status();
    expect(closed.status).toBe('healthy');
    expect(closed.provisioning.blocked).toBeNull();
  });

  it('the VPN wins over the breaker (first match)', async () => {
    const sim = await startSim();
    await control(sim, 'circuit', { state: 'open', eta: 30 });
    await control(sim, 'vpn', { connected: false });
    const st = await orchestrator(sim).status();
    expect(st.provisioning.circuitBreakerState).toBe('open');
    expect(st.provisioning.blocked?.code).toBe('vpn_disconnected');
  });

  it('unavailable with can_provision true: no engine yet, provision on demand (quirk 6)', async () => {
    const sim = await startSim({ minReplicas: 0 });
    const st = await orchestrator(sim).status();
    expect(st.status).toBe('unavailable');
    expect(st.engines.running).toBe(0);
    expect(st.provisioning.canProvision).toBe(true);
    expect(st.provisioning.blocked).toBeNull();
    // "None yet, provision on demand": it does.
    const client = orchestrator(sim);
    await client.provision();
    expect((await client.status()).status).toBe('healthy');
  });

  it('max capacity counts as healthy: max_capacity with a null ETA, or the grace period with auto-delete', async () => {
    const sim = await startSim({ maxReplicas: 1 });
    const client = orchestrator(sim);
    const st = await client.status();
    expect(st.status).toBe('healthy');
    expect(st.provisioning.canProvision).toBe(false);
    expect(st.provisioning.blocked).toMatchObject({ code: 'max_capacity', etaSeconds: null, canRetry: false, shouldWait: true });

    await control(sim, 'capacity', { auto_delete: true, grace_period_s: 45 });
    const withGrace = await client.status();
    expect(withGrace.provisioning.blocked).toMatchObject({ code: 'max_capacity', etaSeconds: 45, canRetry: false });
  });

  it('without a VPN: vpn disabled, health unknown, no forwarded port', async () => {
    const sim = await startSim({ vpnEnabled: false });
    const st = await orchestrator(sim).status();
    expect(st.status).toBe('healthy');
    expect(st.vpn).toEqual({ enabled: false, connected: false, health: 'unknown', forwardedPort: null });
  });

  it('a per-call timeout overrides the read timeout', async () => {
    const sim = await startSim();
    const client = orchestrator(sim, { readTimeoutMs: 100 });
    // Generous per-call deadline: a loaded machine must not turn this into a timeout.
    const st = await client.status({ timeoutMs: 10_000 });
    expect(st.status).toBe('healthy');
  });
});

describe('OrchestratorClient.vpnStatus()', () => {
  it('connected, disconnected and disabled VPNs', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const up = await client.vpnStatus();
    expect(up).toMatchObject({ enabled: true, status: 'running', health: 'healthy', connected: true, forwardedPort: 43210 });
    expectRecent(up.lastCheck); // `…+00:00`

    await control(sim, 'vpn', { connected: false });
    const down = await client.vpnStatus();
    expect(down).toMatchObject({ enabled: true, connected: false, health: 'unhealthy', forwardedPort: null });

    const plain = await startSim({ vpnEnabled: false });
    expect(await orchestrator(plain).vpnStatus()).toEqual({
      enabled: false,
      status: 'disabled',
      health: 'unknown',
      connected: false,
      forwardedPort: null,
      lastCheck: null,
    });
  });
});

describe('OrchestratorClient.healthStatus()', () => {
  it('engine counts and both breakers, an open breaker with its failure time', async () => {
    const sim = await startSim({ minReplicas: 2 });
    const client = orchestrator(sim);
    const h = await client.healthStatus();
    expect(h.totalEngines).toBe(2);
    expect(h.healthyEngines).toBe(2);
    expect(h.breakers.general).toEqual({ state: 'closed', failureCount: 0, failureThreshold: 5, recoveryTimeoutS: 300, lastFailure: null });
    expect(h.breakers.replacement).toEqual({ state: 'closed', failureCount: 0, failureThreshold: 3, recoveryTimeoutS: 180, lastFailure: null });

    await control(sim, 'circuit', { state: 'open' });
    const open = await client.healthStatus();
    expect(open.breakers.general).toMatchObject({ state: 'open', failureCount: 5, failureThreshold: 5 });
    expectRecent(open.breakers.general!.lastFailure);
  });

  it('an unhealthy engine is counted as such', async () => {
    const sim = await startSim({ minReplicas: 2 });
    const id = sim.state().engines[0]!.container_id;
    await control(sim, `engines/${id}`, { mode: 'error500' });
    const h = await orchestrator(sim).healthStatus();
    expect(h.totalEngines).toBe(2);
    expect(h.healthyEngines).toBe(1);
    const engines = await orchestrator(sim).engines();
    expect(engines.find((e) => e.containerId === id)?.health).toBe('unhealthy');
  });
});

describe('timestamps (quirk 2)', () => {
  it('both forms reach the adapter from the simulator and parse to the same instant', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const [st, engines, vpn] = await Promise.all([client.status(), client.engines(), client.vpnStatus()]);
    // status.timestamp and vpn.last_check are `…+00:00`; engines' first_seen/last_seen are `…Z`.
    for (const t of [st.timestamp, vpn.lastCheck, engines[0]!.firstSeen, engines[0]!.lastSeen]) expectRecent(t);
    expect(engines[0]!.firstSeen!).toBeLessThanOrEqual(st.timestamp!);
  });

  it('parseTimestamp: Z, +00:00, other offsets, microseconds, naive times, junk', () => {
    const instant = Date.UTC(2026, 10, 27, 2, 23, 26, 826);
    expect(parseTimestamp('2026-11-27T02:23:26.826324+00:00')).toBe(instant);
    expect(parseTimestamp('2026-11-27T02:23:26.826324Z')).toBe(instant);
    expect(parseTimestamp('2026-11-27T02:23:26.826Z')).toBe(instant);
    expect(parseTimestamp('2026-11-27T02:23:26.826999Z')).toBe(instant); // microseconds truncated, not rounded
    expect(parseTimestamp('2026-11-27T02:23:26.826324z')).toBe(instant);
    expect(parseTimestamp('2026-11-27T04:23:26.826324+02:00')).toBe(instant);
    expect(parseTimestamp('2026-11-26T21:23:26.826-05:00')).toBe(instant);
    // Naive times are UTC (the orchestrator's datetime.utcnow()).
    expect(parseTimestamp('2026-11-27T02:23:26.826324')).toBe(instant);
    expect(parseTimestamp('2026-11-27T02:23:26')).toBe(Date.UTC(2026, 10, 27, 2, 23, 26));
    expect(parseTimestamp(' 2026-11-27T02:23:26.826324+00:00 ')).toBe(instant);
    expect(parseTimestamp('2026-11-27T02:23:26.8+00:00')).toBe(instant - 26);
    for (const junk of [null, undefined, '', 'garbage', 42, {}, 'not-a-dateZ']) expect(parseTimestamp(junk)).toBeNull();
  });
});
