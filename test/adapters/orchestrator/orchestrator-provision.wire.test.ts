/**
 * OrchestratorClient.provision() against the running simulator: success, and every error
 * form a deployed orchestrator sends (orchestrator.md, quirks 3, 4 and 7) → ProvisionError
 * with the right verdict, reason, ETA and advice.
 */
import { describe, expect, it } from 'vitest';
import {
  OrchestratorError,
  OrchestratorHttpError,
  ProvisionError,
} from '../../../src/adapters/orchestrator/index.ts';
import { EngineUnreachableError } from '../../../src/adapters/engine/index.ts';
import { control, engineClient, orchestrator, rejection, startSim, waitFor } from '../helpers.ts';

async function provisionError(p: Promise<unknown>): Promise<ProvisionError> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(ProvisionError);
  expect(err).toBeInstanceOf(OrchestratorError);
  return err as ProvisionError;
}

describe('OrchestratorClient.provision()', () => {
  it('success: the container id, name and ports; the engine appears in /engines and its API answers', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const made = await client.provision({ labels: { 'acerelay.owner': 'test' } });
    expect(made.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(made.containerName).toMatch(/^acestream-\d+$/);
    expect(Number.isInteger(made.hostHttpPort)).toBe(true);
    expect(made.containerHttpPort).toBe(made.hostHttpPort);
    const info = await client.engine(made.containerId);
    expect(info).toMatchObject({ containerId: made.containerId, port: made.hostHttpPort });
    const version = await engineClient().version(`http://${info!.host}:${info!.port}`);
    expect(version.version).toBe('3.1.74');
    expect(sim.state().engines.length).toBe(2);
  });

  it('the engine may not answer yet after the 200: unreachable first, then ready', async () => {
    const sim = await startSim({ engineReadyDelayMs: 800 });
    const client = orchestrator(sim);
    const made = await client.provision();
    const base = `http://127.0.0.1:${made.hostHttpPort}`;
    const engines = engineClient({ controlTimeoutMs: 2_000 });
    const err = await rejection(engines.version(base));
    expect(err).toBeInstanceOf(EngineUnreachableError);
    expect(err).toMatchObject({ code: 'ENGINE_UNREACHABLE' });
    const v = await waitFor(() => engines.version(base), 10_000, 'engine ready');
    expect(v.code).toBe(3017400);
  });

  it('VPN disconnected → blocked vpn_disconnected, ETA 60, retry allowed, wait advised', async () => {
    const sim = await startSim();
    await control(sim, 'vpn', { connected: false });
    const err = await provisionError(orchestrator(sim).provision());
    expect(err).toMatchObject({
      status: 503,
      code: 'ORCH_PROVISION_BLOCKED',
      verdict: 'blocked',
      reason: 'vpn_disconnected',
      etaSeconds: 60,
      canRetry: true,
      shouldWait: true,
    });
  });

  it('breaker open → blocked circuit_breaker with the countdown, no retry; an ETA of 0 is still blocked', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    await control(sim, 'circuit', { state: 'open', eta: 18 });
    const err = await provisionError(client.provision());
    expect(err).toMatchObject({ status: 503, verdict: 'blocked', reason: 'circuit_breaker', canRetry: false, shouldWait: true });
    expect(err.etaSeconds).toBeGreaterThan(15);
    expect(err.etaSeconds).toBeLessThanOrEqual(18);

    await control(sim, 'circuit', { state: 'open', eta: 0 });
    const zero = await provisionError(client.provision());
    expect(zero).toMatchObject({ verdict: 'blocked', reason: 'circuit_breaker', etaSeconds: 0 });

    await control(sim, 'circuit', { state: 'open', eta: null });
    const none = await provisionError(client.provision());
    expect(none).toMatchObject({ verdict: 'blocked', reason: 'circuit_breaker', etaSeconds: null });
  });

  it('vpn_error → failed (503 provisioning_failed), ETA 60, retry allowed, wait advised', async () => {
    const sim = await startSim();
    await control(sim, 'provision', { fail: 1, code: 'vpn_error' });
    const client = orchestrator(sim);
    const err = await provisionError(client.provision());
    expect(err).toMatchObject({
      status: 503,
      code: 'ORCH_PROVISION_FAILED',
      verdict: 'failed',
      reason: 'vpn_error',
      etaSeconds: 60,
      canRetry: true,
      shouldWait: true,
    });
    // The injected failure was used up: the next call succeeds.
    expect((await client.provision()).containerId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('general_error (500 JSON) → failed, no ETA, no retry, no wait', async () => {
    const sim = await startSim();
    await control(sim, 'provision', { fail: 1, code: 'general_error' });
    const err = await provisionError(orchestrator(sim).provision());
    expect(err).toMatchObject({
      status: 500,
      code: 'ORCH_PROVISION_FAILED',
      verdict: 'failed',
      reason: 'general_error',
      etaSeconds: null,
      canRetry: false,
      shouldWait: false,
    });
  });

  it('500 text/plain (Docker unreachable) → failed internal, no ETA, no retry', async () => {
    const sim = await startSim();
    await control(sim, 'provision', { fail: 1, code: 'text500' });
    const err = await provisionError(orchestrator(sim).provision());
    expect(err).toMatchObject({ status: 500, verdict: 'failed', reason: 'internal', etaSeconds: null, canRetry: false, shouldWait: false });
  });

  it('503 with a string detail (older builds) → blocked unavailable, no ETA, wait advised', async () => {
    const sim = await startSim();
    await control(sim, 'provision', { fail: 1, code: 'string_detail' });
    const err = await provisionError(orchestrator(sim).provision());
    expect(err).toMatchObject({ status: 503, verdict: 'blocked', reason: 'unavailable', etaSeconds: null, canRetry: true, shouldWait: true });
  });

  it('past max_replicas: the VPN build fails with 500 general_error "Maximum active replicas" (read as a full house: wait), the plain build provisions anyway (quirk 7)', async () => {
    const vpnSim = await startSim({ maxReplicas: 1 });
    const err = await provisionError(orchestrator(vpnSim).provision());
    expect(err).toMatchObject({ status: 500, verdict: 'blocked', reason: 'max_capacity', etaSeconds: null, shouldWait: true });

    const plain = await startSim({ maxReplicas: 1, vpnEnabled: false });
    const client = orchestrator(plain);
    const made = await client.provision();
    expect(made.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect((await client.engines()).length).toBe(2);
  });

  it('an invalid body → OrchestratorHttpError 422, not a ProvisionError', async () => {
    const sim = await startSim();
    const err = await rejection(orchestrator(sim).provision({ hostPort: 1.5 }));
    expect(err).toBeInstanceOf(OrchestratorHttpError);
    expect(err).not.toBeInstanceOf(ProvisionError);
    expect(err).toMatchObject({ code: 'ORCH_HTTP', status: 422 });
  });

  it('a provision slower than the provision timeout → OrchestratorTimeoutError, well before the orchestrator answers', async () => {
    const sim = await startSim();
    await control(sim, 'provision', { delay_ms: 5_000 });
    const client = orchestrator(sim, { provisionTimeoutMs: 300 });
    const t0 = Date.now();
    const err = await rejection(client.provision());
    expect(err).toMatchObject({ name: 'OrchestratorTimeoutError', code: 'ORCH_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});
