/**
 * The orchestrator's answers that must reach a player as a clean error before any byte, and a
 * wrong or missing API key: its GET endpoints are public, so only protected calls show it.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CONTENT, bytes, eventually, getJson, play, startStack, type Stack } from '../support/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

/** Starts a player on the simulator's one engine and waits until it streams: the next channel needs provisioning. */
async function fillTheEngine(s: Stack) {
  const ac = new AbortController();
  const first = play(`${s.url}/ace/getstream?id=${CONTENT[0]}`, { signal: ac.signal, maxMs: 60_000 });
  await eventually(() => s.acerelay.registry.listSessions().some((x) => x.actor.getSnapshot().matches({ running: 'streaming' })), 10_000);
  return { stop: async () => (ac.abort(), first) };
}

describe('a fast provisioning failure is a clean error, not 200 then a reset', () => {
  test('500 general_error in a few ms → 502 provisioning_failed with the JSON body, before any byte', async () => {
    stack = await startStack({ sim: { minReplicas: 1, maxReplicas: 3 } });
    const busy = await fillTheEngine(stack);
    await stack.sim.control('provision', { fail: 1, code: 'general_error' });
    const res = await fetch(`${stack.url}/ace/getstream?id=${CONTENT[1]}`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('provisioning_failed');
    await busy.stop();
  }, 40_000);
});

describe('a wrong API key', () => {
  test('provisioning 403 → 502 orchestrator_auth before any byte; /readyz, /metrics and /api/orchestrator say so; logged once at error level naming the variable, never the key', async () => {
    const logs: Array<Record<string, unknown>> = [];
    stack = await startStack({ sim: { minReplicas: 1, maxReplicas: 3, apiKey: 'the-right-key' }, env: { ACERELAY_ORCH_APIKEY: 'a-wrong-key' }, logs });
    expect(await eventually(async () => (await fetch(`${stack!.url}/readyz`)).status === 200, 5_000)).toBe(true);
    const busy = await fillTheEngine(stack);
    for (const id of [CONTENT[1], CONTENT[2]]) {
      const res = await fetch(`${stack.url}/ace/getstream?id=${id}`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('orchestrator_auth');
    }
    const ready = await getJson(`${stack.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/^orchestrator_auth/);
    expect(await (await fetch(`${stack.url}/metrics`)).text()).toMatch(/^acerelay_orchestrator_auth_ok 0$/m);
    expect((await getJson(`${stack.url}/api/orchestrator`)).body.auth).toMatchObject({ ok: false, status: 403 });
    const errors = logs.filter((l) => (l.level as number) >= 50);
    expect(errors.filter((l) => String(l.msg).includes('ACERELAY_ORCH_APIKEY'))).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain('a-wrong-key');
    await busy.stop();
  }, 40_000);
});

describe('no API key where the orchestrator wants one', () => {
  test('streams play; each stream_started is refused (401) once and not retried; /readyz says orchestrator_auth; a graceful stop does not wait for the refused events', async () => {
    stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 3, apiKey: 'k' }, env: { ACERELAY_ORCH_APIKEY: '' } });
    const s = stack;
    expect(s.config.orchApiKey).toBeUndefined();
    const caps = await Promise.all([CONTENT[3], CONTENT[4]].map((id) => play(`${s.url}/ace/getstream?id=${id}`, { until: bytes(300_000), maxMs: 20_000 })));
    for (const c of caps) expect(c.size).toBeGreaterThanOrEqual(300_000);
    await eventually(() => s.sim.state().events.filter((e) => e.type === 'stream_started').length === 2, 5_000);
    const ready = await getJson(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/^orchestrator_auth/);
    // Once the first two have stopped (after the linger), one more — and a graceful stop while it streams.
    await eventually(() => s.acerelay.registry.sessionCount === 0, 10_000);
    const live = play(`${s.url}/ace/getstream?id=${CONTENT[5]}`, { until: bytes(50_000_000), maxMs: 20_000 });
    await eventually(() => s.acerelay.registry.listSessions().some((x) => x.actor.getSnapshot().matches({ running: 'streaming' })), 10_000);
    const t0 = Date.now();
    stack = null;
    expect(await s.acerelay.close()).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4_000);
    await live;
    const starts = s.sim.state().events.filter((e) => e.type === 'stream_started');
    expect(starts.map((e) => e.http_status)).toEqual([401, 401, 401]);
    expect(s.sim.state().events.filter((e) => e.type === 'stream_ended')).toEqual([]);
    await s.sim.close();
  }, 60_000);
});
