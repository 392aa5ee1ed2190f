/**
 * The simulator's orchestrator modes as OrchestratorClient sees them: down, error500, slow
 * (quirk 1: a stalled status must not hang the client), garbage and restart (quirk 8).
 */
import { describe, expect, it } from 'vitest';
import {
  OrchestratorBadResponseError,
  OrchestratorError,
  OrchestratorHttpError,
  OrchestratorTimeoutError,
  OrchestratorUnreachableError,
  ProvisionError,
  type OrchestratorClient,
} from '../../../src/adapters/orchestrator/index.ts';
import { IH, control, firstEngine, orchestrator, rejection, startSim, timedRejection, waitFor } from '../helpers.ts';

/** Every call of the client, each as a thunk. */
function everyCall(client: OrchestratorClient, containerId: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['status', () => client.status()],
    ['engines', () => client.engines()],
    ['engine', () => client.engine(containerId)],
    ['streams', () => client.streams({ status: 'started' })],
    ['vpnStatus', () => client.vpnStatus()],
    ['healthStatus', () => client.healthStatus()],
    [
      'streamStarted',
      () =>
        client.streamStarted({
          containerId,
          engine: { host: '127.0.0.1', port: 1 },
          stream: { keyType: 'infohash', key: IH },
          session: { playbackSessionId: 'x', statUrl: null, commandUrl: null, isLive: true },
          streamId: 'acerelay-mode',
        }),
    ],
    ['streamEnded', () => client.streamEnded({ containerId, streamId: 'acerelay-mode', reason: 'x' })],
  ];
}

describe('orchestrator modes through the adapter', () => {
  it('down → OrchestratorUnreachableError (ORCH_UNREACHABLE) on every call, provision included; back on ok', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId } = firstEngine(sim);
    expect((await client.status()).status).toBe('healthy'); // a pooled keep-alive connection exists now
    await control(sim, 'orchestrator', { mode: 'down' });
    for (const [name, call] of [...everyCall(client, containerId), ['provision', () => client.provision()] as const]) {
      const err = await rejection(call());
      expect(err, name).toBeInstanceOf(OrchestratorUnreachableError);
      expect(err, name).toMatchObject({ code: 'ORCH_UNREACHABLE', status: null });
    }
    await control(sim, 'orchestrator', { mode: 'ok' });
    expect((await client.status()).status).toBe('healthy');
  });

  it('a port nobody listens on → OrchestratorUnreachableError', async () => {
    const sim = await startSim();
    const url = sim.url;
    await sim.close();
    const err = await rejection(orchestrator(url).status());
    expect(err).toBeInstanceOf(OrchestratorUnreachableError);
  });

  it('error500 → OrchestratorHttpError 500 on reads and events; a ProvisionError (failed, internal) on provision', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId } = firstEngine(sim);
    await control(sim, 'orchestrator', { mode: 'error500' });
    for (const [name, call] of everyCall(client, containerId)) {
      const err = await rejection(call());
      expect(err, name).toBeInstanceOf(OrchestratorHttpError);
      expect(err, name).toMatchObject({ code: 'ORCH_HTTP', status: 500 });
    }
    const prov = await rejection(client.provision());
    expect(prov).toBeInstanceOf(ProvisionError);
    expect(prov).toMatchObject({ status: 500, verdict: 'failed', reason: 'internal', canRetry: false });
  });

  it('slow beyond the read timeout → OrchestratorTimeoutError long before the orchestrator would answer', async () => {
    const sim = await startSim();
    const client = orchestrator(sim, { readTimeoutMs: 300, eventTimeoutMs: 300 });
    const { containerId } = firstEngine(sim);
    await control(sim, 'orchestrator', { mode: 'slow', ms: 8_000 });
    const calls = everyCall(client, containerId);
    // In parallel: each must give up on its own deadline.
    const results = await Promise.all(calls.map(([, call]) => timedRejection(call())));
    results.forEach(({ err, ms }, i) => {
      const name = calls[i]![0];
      expect(err, name).toBeInstanceOf(OrchestratorTimeoutError);
      expect(err, name).toMatchObject({ code: 'ORCH_TIMEOUT' });
      expect(ms, name).toBeLessThan(4_000);
    });
  });

  it('slow but within the timeout → answers normally', async () => {
    const sim = await startSim();
    await control(sim, 'orchestrator', { mode: 'slow', ms: 200 });
    const st = await orchestrator(sim, { readTimeoutMs: 10_000 }).status();
    expect(st.status).toBe('healthy');
  });

  it('a caller abort is the caller’s own error, not an orchestrator error, and ends the call at once', async () => {
    const sim = await startSim();
    await control(sim, 'orchestrator', { mode: 'slow', ms: 8_000 });
    const client = orchestrator(sim, { readTimeoutMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const { err, ms } = await timedRejection(client.status({ signal: ac.signal }));
    expect(err).not.toBeInstanceOf(OrchestratorError);
    expect((err as Error).name).toBe('AbortError');
    expect(ms).toBeLessThan(4_000);
  });

  it('garbage (200 with truncated JSON) → OrchestratorBadResponseError everywhere, provision included', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId } = firstEngine(sim);
    await control(sim, 'orchestrator', { mode: 'garbage' });
    for (const [name, call] of [...everyCall(client, containerId), ['provision', () => client.provision()] as const]) {
      const err = await rejection(call());
      expect(err, name).toBeInstanceOf(OrchestratorBadResponseError);
      expect(err, name).toMatchObject({ code: 'ORCH_BAD_RESPONSE' });
    }
  });

  it('timed modes revert by themselves: error500 for 300 ms, then healthy again', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    await control(sim, 'orchestrator', { mode: 'error500', ms: 300 });
    await expect(client.status()).rejects.toBeInstanceOf(OrchestratorHttpError);
    const st = await waitFor(() => client.status(), 5_000, 'orchestrator healthy');
    expect(st.status).toBe('healthy');
  });

  it('restart → unreachable while it restarts, then every engine and stream id is forgotten (quirk 8)', async () => {
    const sim = await startSim({ minReplicas: 2 });
    const client = orchestrator(sim);
    const before = await client.engines();
    const [a] = before;
    await client.streamStarted({
      containerId: a!.containerId,
      engine: { host: a!.host, port: a!.port },
      stream: { keyType: 'infohash', key: IH },
      session: { playbackSessionId: 'p', statUrl: 'http://127.0.0.1:1/ace/stat/x/y', commandUrl: 'http://127.0.0.1:1/ace/cmd/x/y', isLive: true },
      streamId: 'acerelay-before',
    });
    await control(sim, 'circuit', { state: 'open', eta: 100 });
    await control(sim, 'orchestrator', { mode: 'restart', ms: 500 });
    const during = await rejection(client.status());
    expect(during).toBeInstanceOf(OrchestratorUnreachableError);

    const st = await waitFor(() => client.status(), 10_000, 'orchestrator back');
    expect(st.status).toBe('healthy');
    expect(st.provisioning.circuitBreakerState).toBe('closed'); // the breaker was forgotten too
    const after = await client.engines();
    expect(after).toHaveLength(2);
    const oldIds = before.map((e) => e.containerId);
    for (const e of after) expect(oldIds).not.toContain(e.containerId);
    for (const id of oldIds) expect(await client.engine(id)).toBeNull();
    expect(await client.streams()).toEqual([]);
    // The old id is now unknown: its end updates nothing (with other streams, it would end a stranger's).
    expect(await client.streamEnded({ containerId: a!.containerId, streamId: 'acerelay-before', reason: 'x' })).toEqual({
      updated: false,
      stream: null,
    });
  });
});
