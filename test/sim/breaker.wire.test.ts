import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { AUTOSCALER_TICK_MS } from '../../src/sim/index.ts';
import { get, post, sim, waitFor } from './helpers.ts';

type Details = { code: string; recovery_eta_seconds: number | null; can_retry: boolean } | null;
type Status = { provisioning: { circuit_breaker_state: string; blocked_reason_details: Details } };

const provision = (url: string) => post(`${url}/provision/acestream`, {});

describe('circuit breaker: only the autoscaler counts', () => {
  it('/provision failures never open it: injected general_errors and a full house, well past the threshold', async () => {
    const s = await sim({ maxReplicas: 2 });
    await s.control('provision', { fail: 8, code: 'general_error', fail_delay_ms: 0 });
    for (let i = 0; i < 8; i++) expect((await provision(s.url)).status).toBe(500);
    expect((await provision(s.url)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await provision(s.url)).status).toBe(500); // full house
    expect(s.state().circuit).toMatchObject({ state: 'closed', failure_count: 0, transitions: [] });
    const health = (await get(`${s.url}/health/status`)).json as { circuit_breakers: { general: { state: string; failure_count: number } } };
    expect(health.circuit_breakers.general).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  it('autoscaler failures open it; the ETA sits at 0 until the next tick; a failed probe reopens it with a fresh ETA; a good one closes it', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, provisionDelayMs: 0 });
    const details = async () => ((await get(`${s.url}/orchestrator/status`)).json as Status).provisioning;
    await s.control('provision', { autoscaler_fail: 100 });
    await s.control('capacity', { min_replicas: 2 }); // reconciles at once: failure 1 at t=0
    expect(s.state().circuit).toMatchObject({ state: 'closed', failure_count: 1 });
    await clock.advanceAsync(4 * AUTOSCALER_TICK_MS); // ticks at 30, 60, 90, 120 s: failures 2–5
    expect(s.state().circuit).toMatchObject({ state: 'open', failure_count: 5 });
    expect((await details()).blocked_reason_details).toMatchObject({ code: 'circuit_breaker', recovery_eta_seconds: 300, can_retry: false });
    expect((await provision(s.url)).status).toBe(503);

    await clock.advanceAsync(300_000); // t = 420 s: the timeout is over, but only a tick past it probes (450 s)
    expect((await details()).blocked_reason_details).toMatchObject({ code: 'circuit_breaker', recovery_eta_seconds: 0 });
    expect((await details()).circuit_breaker_state).toBe('open');
    await clock.advanceAsync(AUTOSCALER_TICK_MS); // t = 450 s: the probe fails
    expect(s.state().circuit).toMatchObject({ state: 'open', deadline: 750_000, failure_count: 6 });
    expect((await details()).blocked_reason_details?.recovery_eta_seconds).toBe(300);

    await s.control('provision', { autoscaler_fail: 0 });
    await clock.advanceAsync(330_000); // t = 780 s: the probe creates the engine
    await waitFor(() => s.state().circuit.state === 'closed', 5_000, 'closed by a good probe');
    expect(s.state().circuit.transitions.map((t) => `${t.from}>${t.to} by ${t.by} at ${t.t / 1000}`)).toEqual([
      'closed>open by autoscaler at 120',
      'open>half_open by tick at 450',
      'half_open>open by autoscaler at 450',
      'open>half_open by tick at 780',
      'half_open>closed by autoscaler at 780',
    ]);
    expect(s.state().autoscaler.filter((a) => a.origin !== 'initial').map((a) => a.outcome)).toEqual([...Array(6).fill('failed'), 'created']);
    expect(s.state().engines.filter((e) => e.removed_at === null)).toHaveLength(2);
  });

  it('leaked slots starve the autoscaler (an empty pool), and that opens it too', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, provisionDelayMs: 0, maxActiveReplicas: 2, breakerFailureThreshold: 3 });
    await s.control('provision', { fail: 1, code: 'general_error', fail_delay_ms: 0 });
    expect((await provision(s.url)).status).toBe(500); // leaks a slot: 1 engine + 1 leaked = 2
    await s.control('capacity', { min_replicas: 2 });
    await clock.advanceAsync(2 * AUTOSCALER_TICK_MS);
    expect(s.state().autoscaler.filter((a) => a.origin !== 'initial').map((a) => a.code)).toEqual(['max_active_replicas', 'max_active_replicas', 'max_active_replicas']);
    expect(s.state().circuit.state).toBe('open');
  });

  it('with breaker_counts_autoscaler off, the autoscaler\'s failures leave it closed', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, quirks: { breaker_counts_autoscaler: false } });
    await s.control('provision', { autoscaler_fail: 100 });
    await s.control('capacity', { min_replicas: 2 });
    await clock.advanceAsync(10 * AUTOSCALER_TICK_MS);
    expect(s.state().autoscaler.filter((a) => a.outcome === 'failed')).toHaveLength(11);
    expect(s.state().circuit).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  it('threshold and recovery timeout are settable (newer builds: 3 and 180 s), and the control API still forces states', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock });
    await s.control('circuit', { failure_threshold: 3, recovery_timeout: 180 });
    await s.control('provision', { autoscaler_fail: 3 });
    await s.control('capacity', { min_replicas: 2 });
    await clock.advanceAsync(2 * AUTOSCALER_TICK_MS);
    expect(s.state().circuit).toMatchObject({ state: 'open', deadline: 60_000 + 180_000 });
    expect(await s.control('circuit', { state: 'closed' })).toMatchObject({ state: 'closed', failure_count: 0 });
    expect(await s.control('circuit', { state: 'open', eta: 12 })).toMatchObject({ state: 'open', eta: 12 });
  });
});
