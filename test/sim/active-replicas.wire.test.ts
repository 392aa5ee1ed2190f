import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { AUTOSCALER_TICK_MS, startSimulator } from '../../src/sim/index.ts';
import { get, post, sim, waitFor } from './helpers.ts';

type Detail = { error: string; code: string; message: string; recovery_eta_seconds: number | null; can_retry: boolean; should_wait: boolean };
type Provisioned = { container_id: string; host_http_port: number };
type Status = { capacity: { total: number }; provisioning: { can_provision: boolean; blocked_reason_details: { code: string } | null } };

const provision = (url: string) => post(`${url}/provision/acestream`, {});
const detail = (json: unknown) => (json as { detail: Detail }).detail;

describe('a full house (quirk full_house)', () => {
  it('minReplicas 4, maxReplicas 10, maxActiveReplicas 10, VPN on: six more engines, then 500 general_error naming the limit, never 503', async () => {
    const s = await startSimulator({ port: 0, minReplicas: 4, maxReplicas: 10, maxActiveReplicas: 10, provisionDelayMs: 20, engineReadyDelayMs: 0 });
    try {
      for (let i = 0; i < 6; i++) expect((await provision(s.url)).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const full = await provision(s.url);
        expect(full.status).toBe(500);
        expect(detail(full.json)).toEqual({
          error: 'provisioning_failed',
          code: 'general_error',
          message: 'Failed to provision engine: Maximum active replicas limit reached (10)',
          recovery_eta_seconds: null,
          can_retry: false,
          should_wait: false,
        });
      }
      const st = (await get(`${s.url}/orchestrator/status`)).json as Status;
      expect(st.capacity.total).toBe(10);
      expect(st.provisioning.blocked_reason_details?.code).toBe('max_capacity');
      expect(s.state().provisions.map((p) => p.http_status)).toEqual([200, 200, 200, 200, 200, 200, 500, 500]);
      expect(s.state().active_slots).toMatchObject({ max: 10, engines: 10, leaked: 0, free: 0 });
    } finally {
      await s.close();
    }
  });

  it('names max_replicas when the house is full before the pool is', async () => {
    const s = await sim({ maxReplicas: 2 });
    expect((await provision(s.url)).status).toBe(200);
    const full = await provision(s.url);
    expect(detail(full.json).message).toBe('Failed to provision engine: Maximum active replicas limit reached (2)');
    expect(s.state().provisions.at(-1)).toMatchObject({ http_status: 500, code: 'general_error', reason: 'full_house' });
  });

  it('full_house "max_capacity" (option, flag or control): 503 provisioning_blocked max_capacity, should_wait, in both builds', async () => {
    const s = await sim({ maxReplicas: 1, quirks: { full_house: 'max_capacity' } });
    const res = await provision(s.url);
    expect(res.status).toBe(503);
    expect(detail(res.json)).toMatchObject({ error: 'provisioning_blocked', code: 'max_capacity', recovery_eta_seconds: null, can_retry: false, should_wait: true });
    await s.control('capacity', { auto_delete: true, grace_period_s: 45 });
    expect(detail((await provision(s.url)).json).recovery_eta_seconds).toBe(45);
    await s.control('quirks', { full_house: 'general_error' });
    expect((await provision(s.url)).status).toBe(500);
    expect(s.state().engines).toHaveLength(1);

    const plain = await sim({ maxReplicas: 1, vpnEnabled: false });
    expect((await provision(plain.url)).status).toBe(200); // the real plain build provisions anyway
    await post(`${plain.controlUrl}/__sim/quirks`, { full_house: 'max_capacity' });
    expect(detail((await provision(plain.url)).json).code).toBe('max_capacity');
  });
});

describe('the active-replicas pool (MAX_ACTIVE_REPLICAS)', () => {
  it('a failed create leaks its slot; an empty pool answers 500 general_error naming MAX_ACTIVE_REPLICAS, at once', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, maxReplicas: 50, maxActiveReplicas: 3, provisionDelayMs: 1_000 });
    const first = provision(s.url);
    await waitFor(() => s.state().provisions.length === 1, 5_000, 'call arrived');
    await clock.advanceAsync(1_000);
    expect((await first).status).toBe(200);
    expect(s.state().active_slots).toMatchObject({ engines: 2, leaked: 0, free: 1 });

    await s.control('provision', { fail: 1, code: 'general_error' });
    const failing = provision(s.url);
    await waitFor(() => s.state().active_slots.pending === 1, 5_000, 'slot taken at the start of the call');
    await clock.advanceAsync(200); // failures answer fast: fail_delay_ms, not the provision delay
    expect((await failing).status).toBe(500);
    expect(s.state().provisions.at(-1)).toMatchObject({ done_at: 1_200, t: 1_000, reason: 'injected' });
    expect(s.state().active_slots).toMatchObject({ engines: 2, pending: 0, leaked: 1, free: 0 });

    const empty = await provision(s.url); // no clock advance needed: it does not wait
    expect(empty.status).toBe(500);
    expect(detail(empty.json)).toMatchObject({ code: 'general_error', message: 'Failed to provision engine: Maximum active replicas limit reached (3)' });
    expect(s.state().provisions.at(-1)).toMatchObject({ t: 1_200, done_at: 1_200, reason: 'active_replicas' });
    // Status knows nothing of the pool: below max_replicas, it says provisioning is possible.
    expect(((await get(`${s.url}/orchestrator/status`)).json as Status).provisioning.can_provision).toBe(true);
    // Not the breaker's business either.
    expect(s.state().circuit).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  it('with leak_failed_creates off, a failed create gives its slot back', async () => {
    const s = await sim({ maxActiveReplicas: 2, quirks: { leak_failed_creates: false } });
    await s.control('provision', { fail: 3, code: 'general_error' });
    for (let i = 0; i < 3; i++) expect((await provision(s.url)).status).toBe(500);
    expect(s.state().active_slots).toMatchObject({ leaked: 0, free: 1 });
    expect((await provision(s.url)).status).toBe(200);
  });

  it('other injected failures (vpn_error, text500, string_detail) never leak', async () => {
    const s = await sim({ maxActiveReplicas: 2 });
    for (const code of ['vpn_error', 'text500', 'string_detail']) {
      await s.control('provision', { fail: 1, code });
      expect((await provision(s.url)).status).not.toBe(200);
    }
    expect(s.state().active_slots.leaked).toBe(0);
  });

  it('calls in flight hold their slots: with one free, a second concurrent call is refused at once', async () => {
    const s = await sim({ maxActiveReplicas: 2, provisionDelayMs: 400 });
    const a = provision(s.url);
    await waitFor(() => s.state().active_slots.pending === 1, 5_000, 'first call under way');
    const b = await provision(s.url);
    expect(b.status).toBe(500);
    expect(s.state().provisions[1]).toMatchObject({ reason: 'active_replicas' });
    expect((await a).status).toBe(200);
    expect(s.state().active_slots).toMatchObject({ engines: 2, pending: 0, free: 0 });
  });

  it('a removed engine frees its slot, and the next engine takes its port back (the VPN build allocator)', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock, provisionDelayMs: 0, maxActiveReplicas: 2 });
    expect((await provision(s.url)).status).toBe(200);
    expect((await provision(s.url)).status).toBe(500);
    // Auto-delete with no grace removes one idle engine beyond min_replicas at the next tick.
    await s.control('capacity', { auto_delete: true, grace_period_s: 0 });
    await clock.advanceAsync(AUTOSCALER_TICK_MS);
    const removed = s.state().engines.filter((e) => e.removed_at !== null);
    expect(removed).toHaveLength(1);
    expect(s.state().active_slots.free).toBe(1);
    const again = (await provision(s.url)).json as Provisioned;
    expect(s.state().engines.map((e) => e.container_id)).toContain(again.container_id);
    expect(again.container_id).not.toBe(removed[0]!.container_id);
    expect(again.host_http_port).toBe(removed[0]!.port);
  });

  it('is settable through POST /__sim/capacity and applies only with a VPN', async () => {
    const s = await sim();
    const res = await post(`${s.controlUrl}/__sim/capacity`, { max_active_replicas: 1 });
    expect(res.json).toMatchObject({ max_active_replicas: 1, active_slots: { max: 1, enforced: true, free: 0 } });
    expect(detail((await provision(s.url)).json).message).toBe('Failed to provision engine: Maximum active replicas limit reached (1)');
    await s.control('vpn', { enabled: false });
    expect(s.state().active_slots.enforced).toBe(false);
    expect((await provision(s.url)).status).toBe(200);
  });

  it('a restart gives leaked slots back (the allocator starts empty)', async () => {
    const s = await sim({ maxActiveReplicas: 3 });
    await s.control('provision', { fail: 2, code: 'general_error' });
    for (let i = 0; i < 2; i++) await provision(s.url);
    expect(s.state().active_slots).toMatchObject({ leaked: 2, free: 0 });
    await s.control('orchestrator', { mode: 'restart', ms: 300 });
    await waitFor(() => s.state().orchestrator.mode === 'ok' && s.state().engines.some((e) => e.origin === 'restart'), 5_000, 'restart over');
    expect(s.state().active_slots).toMatchObject({ leaked: 0, free: 2 });
    expect((await provision(s.url)).status).toBe(200);
  });
});
