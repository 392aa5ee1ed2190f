/**
 * Every row of the recovery table on virtual time: the real registry, broker, session and
 * player machines with a scripted orchestrator, engines and upstreams (test/support/pure-world.ts).
 * Each scenario pins its whole [t, actor, state, event] trace and asserts what players saw.
 */
import { describe, expect, test } from 'vitest';
import { PureWorld, T0, engineInfo, healthyStatus } from '../support/pure-world.ts';
import { OrchestratorAuthError, OrchestratorUnreachableError, ProvisionError } from '../../src/adapters/orchestrator/errors.ts';
import type { OrchestratorStatus } from '../../src/adapters/orchestrator/types.ts';
import { AcerelayError } from '../../src/errors.ts';

const ID = 'a'.repeat(40);
const ID2 = 'b'.repeat(40);
const ID3 = 'c'.repeat(40);

function vpnDown(): OrchestratorStatus {
  return {
    ...healthyStatus(
      {
        canProvision: false,
        blockedReason: 'VPN disconnected',
        blocked: { code: 'vpn_disconnected', message: 'VPN disconnected', etaSeconds: 60, canRetry: true, shouldWait: true },
      },
      false,
    ),
    status: 'degraded',
  };
}

function breakerOpen(eta: number | null): OrchestratorStatus {
  return {
    ...healthyStatus({
      canProvision: false,
      circuitBreakerState: 'open',
      blockedReason: 'circuit breaker open',
      blocked: { code: 'circuit_breaker', message: 'circuit breaker open', etaSeconds: eta, canRetry: false, shouldWait: true },
    }),
    status: 'degraded',
  };
}

function atCapacity(): OrchestratorStatus {
  return {
    ...healthyStatus({
      canProvision: false,
      blockedReason: 'max capacity',
      blocked: { code: 'max_capacity', message: 'Maximum capacity reached', etaSeconds: null, canRetry: false, shouldWait: true },
    }),
  };
}

function breakerRefusal(eta: number): ProvisionError {
  return new ProvisionError(503, 'blocked', 'circuit_breaker', 'circuit breaker open', eta, false, true);
}

/** Polls the given status every `everyMs` (what the status feed does while players are held). */
async function pollFor(w: PureWorld, ms: number, status: () => OrchestratorStatus, everyMs = 10_000): Promise<void> {
  for (let t = 0; t < ms; t += everyMs) {
    await w.advance(Math.min(everyMs, ms - t));
    w.poll(status());
  }
}

describe('normal flow', () => {
  test('a player streams, leaves; the session lingers, stops, and announces both ends', async () => {
    const w = new PureWorld();
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    w.disconnect(p);
    await w.advance(11_000);
    expect(p.events).toEqual(['attach', 'finish:disconnected']);
    expect(w.started.map((e) => e.streamId)).toEqual(['acerelay-1']);
    expect(w.ended).toEqual([{ containerId: 'e1', streamId: 'acerelay-1', reason: 'client_left' }]);
    expect(w.stops).toHaveLength(1);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s s1  starting                           BROKER_ENGINE",
        "   0.3s s1  running.connecting                 done",
        "   0.4s p1  streaming                          SESSION_PHASE",
        "   0.4s s1  running.streaming                  UPSTREAM_SYNCED",
        "   1.0s s1  running.lingering                  PLAYER_LEFT",
        "   1.0s p1  ended                              DISCONNECTED",
        "  11.0s s1  stopping                           after:linger",
        "  11.0s s1  stopped                            done",
      ]
    `);
  });

  test('a second player joining during the linger keeps the session', async () => {
    const w = new PureWorld();
    const a = w.player(`id=${ID}`);
    await w.advance(1_000);
    w.disconnect(a);
    await w.advance(5_000);
    const b = w.player(`id=${ID}`);
    await w.advance(20_000);
    expect(w.state(b)).toBe('streaming');
    expect(w.engineStarts).toHaveLength(1);
    expect(w.ended).toEqual([]);
  });
});

describe('vpn_disconnected', () => {
  test('held in waiting_vpn, streams as soon as the VPN is back, no provisioning in between', async () => {
    const w = new PureWorld();
    w.poll(vpnDown());
    const p = w.player(`id=${ID}`);
    await pollFor(w, 30_000, vpnDown);
    expect(w.state(p)).toBe('waiting_vpn');
    w.poll(healthyStatus());
    await w.advance(1_000);
    expect(w.state(p)).toBe('streaming');
    expect(p.events).toEqual(['hold', 'unhold', 'attach']);
    expect(w.provisionCalls).toEqual([]);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s p1  held.waiting_vpn                   SESSION_PHASE",
        "   0.0s s1  acquiring.waiting                  BROKER_WAIT",
        "  30.0s p1  held.waiting_engine                SESSION_PHASE",
        "  30.0s s1  starting                           BROKER_ENGINE",
        "  30.3s s1  running.connecting                 done",
        "  30.4s p1  streaming                          SESSION_PHASE",
        "  30.4s s1  running.streaming                  UPSTREAM_SYNCED",
      ]
    `);
  });

  test('past its 60 s ETA: exactly one provisioning probe, the next no sooner than 30 s after a failed one', async () => {
    const w = new PureWorld({ holdMaxMs: 300_000 });
    w.poll(vpnDown());
    w.provisionScript = Array.from({ length: 10 }, () => ({
      delayMs: 200,
      fail: new ProvisionError(503, 'blocked', 'vpn_disconnected', 'VPN down', 60, true, true),
    }));
    const players = [w.player(`id=${ID}`), w.player(`id=${ID2}`), w.player(`id=${ID3}`)];
    // The status keeps saying "down" (and its observation time moves), so the probe is driven by the last refusal.
    await pollFor(w, 150_000, vpnDown);
    const rel = w.provisionCalls.map((t) => t - w.provisionCalls[0]!);
    // The first probe 60 s after the outage was first seen, then at most one per 30 s, whatever the number of players.
    expect(w.provisionCalls[0]! - T0).toBe(60_000);
    expect(w.provisionCalls.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < rel.length; i++) expect(rel[i]! - rel[i - 1]!).toBeGreaterThanOrEqual(30_000);
    expect(players.map((p) => w.state(p))).toEqual(['waiting_vpn', 'waiting_vpn', 'waiting_vpn']);
  });
});

describe('circuit_breaker', () => {
  test('an ETA beyond HOLD_MAX is refused at once: 503 with Retry-After = ETA, before any byte', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.poll(breakerOpen(180));
    const p = w.player(`id=${ID}`);
    await w.advance(100);
    expect(p.events).toEqual(['finish:refused']);
    expect(p.error).toMatchObject({ code: 'circuit_open', retryAfter: 180 });
    expect(w.provisionCalls).toEqual([]);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s p1  ended                              SESSION_PHASE",
        "   0.0s s1  acquiring.waiting                  BROKER_WAIT",
        "   0.0s s1  cancelled                          PLAYER_LEFT",
      ]
    `);
  });

  test('an ETA within HOLD_MAX is held; one probe after the ETA, the next after 30 s; streams when the breaker closes', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])], holdMaxMs: 120_000 });
    let eta = 20;
    const open = () => breakerOpen(Math.max(0, eta));
    w.poll(open());
    w.provisionScript = [{ delayMs: 100, fail: breakerRefusal(0) }];
    const p = w.player(`id=${ID}`);
    for (let i = 0; i < 4; i++) {
      await w.advance(10_000);
      eta -= 10;
      w.poll(open());
    }
    expect(w.state(p)).toBe('circuit_wait');
    expect(w.provisionCalls.length).toBe(1);
    // The orchestrator's tick closes the breaker.
    w.poll(healthyStatus(), [engineInfo('e1', 6001, ['someone-else'])]);
    await w.advance(3_000);
    expect(w.state(p)).toBe('streaming');
    expect(w.provisionCalls.length).toBe(2);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s p1  held.circuit_wait                  SESSION_PHASE",
        "   0.0s s1  acquiring.waiting                  BROKER_WAIT",
        "  20.0s p1  held.waiting_engine                SESSION_PHASE",
        "  20.0s s1  provisioning                       BROKER_PROVISION",
        "  20.1s s1  acquiring.choosing                 error",
        "  20.1s p1  held.circuit_wait                  SESSION_PHASE",
        "  20.1s s1  acquiring.waiting                  BROKER_WAIT",
        "  40.0s p1  held.waiting_engine                SESSION_PHASE",
        "  40.0s s1  provisioning                       BROKER_PROVISION",
        "  40.5s s1  engine_check                       done",
        "  40.5s s1  starting                           done",
        "  40.9s s1  running.connecting                 done",
        "  41.0s p1  streaming                          SESSION_PHASE",
        "  41.0s s1  running.streaming                  UPSTREAM_SYNCED",
      ]
    `);
  });

  test('an ETA of 0 (open, not yet half-open) is floored at 5 s before the probe', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.poll(breakerOpen(0));
    w.provisionScript = [{ delayMs: 100, fail: breakerRefusal(0) }];
    const start = w.clock.now();
    const p = w.player(`id=${ID}`);
    await w.advance(4_900);
    expect(w.provisionCalls).toEqual([]);
    await w.advance(200);
    expect(w.provisionCalls.map((t) => t - start)).toEqual([5_000]);
    expect(w.state(p)).toBe('circuit_wait');
  });

  test('while open, an engine with room is still used', async () => {
    const w = new PureWorld();
    w.poll(breakerOpen(300));
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    expect(w.state(p)).toBe('streaming');
    expect(w.provisionCalls).toEqual([]);
  });
});

describe('max_capacity', () => {
  test('held players are admitted in arrival order as capacity frees', async () => {
    const w = new PureWorld({ lingerMs: 1_000 });
    w.poll(atCapacity());
    const a = w.player(`id=${ID}`);
    await w.advance(1_000);
    const b = w.player(`id=${ID2}`);
    await w.advance(100);
    const c = w.player(`id=${ID3}`);
    await w.advance(1_000);
    expect([w.state(a), w.state(b), w.state(c)]).toEqual(['streaming', 'queued_capacity', 'queued_capacity']);
    w.disconnect(a);
    await w.advance(3_000);
    expect([w.state(b), w.state(c)]).toEqual(['streaming', 'queued_capacity']);
    w.disconnect(b);
    await w.advance(3_000);
    expect(w.state(c)).toBe('streaming');
    expect(w.provisionCalls).toEqual([]);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s s1  starting                           BROKER_ENGINE",
        "   0.3s s1  running.connecting                 done",
        "   0.4s p1  streaming                          SESSION_PHASE",
        "   0.4s s1  running.streaming                  UPSTREAM_SYNCED",
        "   1.0s s2  acquiring.choosing                 init",
        "   1.0s p2  requesting                         init",
        "   1.0s p2  held.queued_capacity               SESSION_PHASE",
        "   1.0s s2  acquiring.waiting                  BROKER_WAIT",
        "   1.1s s3  acquiring.choosing                 init",
        "   1.1s p3  requesting                         init",
        "   1.1s p3  held.queued_capacity               SESSION_PHASE",
        "   1.1s s3  acquiring.waiting                  BROKER_WAIT",
        "   2.1s s1  running.lingering                  PLAYER_LEFT",
        "   2.1s p1  ended                              DISCONNECTED",
        "   3.1s s1  stopping                           after:linger",
        "   3.1s s1  stopped                            done",
        "   3.1s p2  held.waiting_engine                SESSION_PHASE",
        "   3.1s s2  starting                           BROKER_ENGINE",
        "   3.4s s2  running.connecting                 done",
        "   3.5s p2  streaming                          SESSION_PHASE",
        "   3.5s s2  running.streaming                  UPSTREAM_SYNCED",
        "   5.1s s2  running.lingering                  PLAYER_LEFT",
        "   5.1s p2  ended                              DISCONNECTED",
        "   6.1s s2  stopping                           after:linger",
        "   6.1s s2  stopped                            done",
        "   6.1s p3  held.waiting_engine                SESSION_PHASE",
        "   6.1s s3  starting                           BROKER_ENGINE",
        "   6.4s s3  running.connecting                 done",
        "   6.5s p3  streaming                          SESSION_PHASE",
        "   6.5s s3  running.streaming                  UPSTREAM_SYNCED",
      ]
    `);
  });

  test('a held player that leaves gives up its place', async () => {
    const w = new PureWorld({ lingerMs: 1_000 });
    w.poll(atCapacity());
    const a = w.player(`id=${ID}`);
    await w.advance(1_000);
    const b = w.player(`id=${ID2}`);
    const c = w.player(`id=${ID3}`);
    await w.advance(1_000);
    w.disconnect(b);
    await w.advance(100);
    w.disconnect(a);
    await w.advance(3_000);
    expect(w.state(c)).toBe('streaming');
    expect(b.events).toEqual(['hold', 'unhold', 'finish:disconnected']);
  });

  test('with the queue full the next player gets 503 queue_full with Retry-After', async () => {
    const w = new PureWorld({ queueMax: 2 });
    w.poll(atCapacity());
    w.player(`id=${ID}`);
    await w.advance(1_000);
    const held = [w.player(`id=${ID2}`), w.player(`id=${ID3}`)];
    const refused = w.player(`id=${'d'.repeat(40)}`);
    await w.advance(100);
    expect(held.map((p) => w.state(p))).toEqual(['queued_capacity', 'queued_capacity']);
    expect(refused.events).toEqual(['finish:refused']);
    expect(refused.error).toMatchObject({ code: 'queue_full', retryAfter: 30 });
  });
});

describe('a full house said by provisioning (the real orchestrator\'s 500 "Maximum active replicas")', () => {
  const full = () => new ProvisionError(500, 'blocked', 'max_capacity', 'Maximum active replicas limit reached (1)', null, true, true);

  test('held players stay held (queued_capacity), one probe per probe interval, and are admitted in arrival order when an engine frees', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001)], lingerMs: 1_000 });
    w.provisionScript = Array.from({ length: 10 }, () => ({ delayMs: 20, fail: full() }));
    const a = w.player(`id=${ID}`);
    await w.advance(1_000);
    const b = w.player(`id=${ID2}`);
    await w.advance(100);
    const c = w.player(`id=${ID3}`);
    await pollFor(w, 50_000, () => healthyStatus(), 2_000);
    // One call found the house full; after that one probe per 30 s, whatever the number waiting.
    expect(w.provisionCalls.map((t) => Math.round((t - T0) / 1000))).toEqual([1, 31]);
    expect([w.state(a), w.state(b), w.state(c)]).toEqual(['streaming', 'queued_capacity', 'queued_capacity']);
    expect(b.events).toEqual(['hold']);
    w.disconnect(a);
    await w.advance(3_000);
    expect([w.state(b), w.state(c)]).toEqual(['streaming', 'queued_capacity']);
  });

  test('an engine going away (the status shows fewer running) lets a call through before the probe interval', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.provisionScript = [{ delayMs: 20, fail: full() }];
    const two = { ...healthyStatus(), engines: { total: 2, running: 2, healthy: 2, unhealthy: 0 } };
    w.poll(two);
    const p = w.player(`id=${ID}`);
    await pollFor(w, 6_000, () => two, 2_000);
    expect(w.state(p)).toBe('queued_capacity');
    expect(w.provisionCalls).toHaveLength(1);
    w.poll(healthyStatus());
    await w.advance(5_000);
    expect(w.provisionCalls).toHaveLength(2);
    expect(w.state(p)).toBe('streaming');
  });
});

describe('general_error and content failures', () => {
  test('provisioning general_error → 502 at once (before any byte: a fast failure is not held first), one call, no retry storm', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.provisionScript = [{ delayMs: 300, fail: new ProvisionError(500, 'failed', 'general_error', 'Failed to provision engine: Docker error', null, false, false) }];
    const p = w.player(`id=${ID}`);
    await w.advance(5_000);
    expect(p.events).toEqual(['finish:failed']);
    expect(p.error?.code).toBe('provisioning_failed');
    expect(w.provisionCalls).toHaveLength(1);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s s1  provisioning                       BROKER_PROVISION",
        "   0.3s p1  ended                              SESSION_PHASE",
        "   0.3s s1  failed                             error",
      ]
    `);
  });

  test('a provisioning call slower than 2 s holds its player (200 + keep-alive); its 500 is then waited out (waiting_orchestrator), probed after 30 s', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.provisionScript = [{ delayMs: 2_500, fail: new ProvisionError(500, 'failed', 'general_error', 'Failed to provision engine: Docker error', null, false, false) }];
    const p = w.player(`id=${ID}`);
    await w.advance(1_900);
    expect(p.events).toEqual([]);
    await w.advance(200);
    expect(w.state(p)).toBe('waiting_engine');
    await w.advance(1_000);
    expect(p.events).toEqual(['hold']);
    expect(w.state(p)).toBe('waiting_orchestrator');
    await w.advance(31_000);
    expect(w.provisionCalls).toHaveLength(2);
    expect(w.state(p)).toBe('streaming');
  });

  test('the orchestrator refuses our API key (403 on provisioning) → 502 orchestrator_auth before any byte', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.provisionScript = [{ delayMs: 30, fail: new OrchestratorAuthError(403, "POST /provision/acestream: 403 invalid token") }];
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    expect(p.events).toEqual(['finish:failed']);
    expect(p.error?.code).toBe('orchestrator_auth');
  });

  test('content the engine cannot load → 502, then remembered: the next request fails at once', async () => {
    const w = new PureWorld();
    w.deadContent.add(ID);
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    expect(p.error?.code).toBe('content_unavailable');
    expect(() => w.player(`id=${ID}`)).toThrowError(AcerelayError);
    await w.advance(31_000);
    const again = w.player(`id=${ID}`);
    await w.advance(1_000);
    expect(again.error?.code).toBe('content_unavailable');
    expect(w.engineStarts).toHaveLength(0);
  });
});

describe('engine slow after provisioning', () => {
  test('held while the new engine is probed with backoff 1, 2, 4 s; streams when it answers', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    const base = 'http://10.0.0.9:7002';
    w.downEngines.add(base);
    const p = w.player(`id=${ID}`);
    await w.advance(500 + 50 + 1_000 + 50 + 2_000 + 50 + 1_000);
    w.downEngines.delete(base);
    await w.advance(5_000);
    expect(w.state(p)).toBe('streaming');
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s s1  provisioning                       BROKER_PROVISION",
        "   0.5s p1  held.waiting_engine                SESSION_PHASE",
        "   0.5s s1  engine_check                       done",
        "   0.6s s1  engine_backoff                     error",
        "   1.6s s1  engine_check                       after:engineReadyBackoff",
        "   1.6s s1  engine_backoff                     error",
        "   3.6s s1  engine_check                       after:engineReadyBackoff",
        "   3.6s s1  engine_backoff                     error",
        "   7.7s s1  engine_check                       after:engineReadyBackoff",
        "   7.7s s1  starting                           done",
        "   8.0s s1  running.connecting                 done",
        "   8.1s p1  streaming                          SESSION_PHASE",
        "   8.1s s1  running.streaming                  UPSTREAM_SYNCED",
      ]
    `);
  });

  test('engines that never answer after provisioning: each given up after 5 tries, at most 3 engines, then the player gets an error (not a provisioning loop until HOLD_MAX)', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])], holdMaxMs: 300_000 });
    for (let port = 7002; port < 7012; port++) w.downEngines.add(`http://10.0.0.9:${port}`);
    const p = w.player(`id=${ID}`);
    await w.advance(120_000);
    expect(w.provisionCalls).toHaveLength(3);
    expect(p.outcome).toBe('failed');
    expect(p.error?.code).toBe('engine_failed');
    expect(w.engineStarts).toHaveLength(0);
  });

  test('an engine that never answers is given up after 5 tries, and another is provisioned', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.downEngines.add('http://10.0.0.9:7002');
    const p = w.player(`id=${ID}`);
    await w.advance(30_000);
    expect(w.provisionCalls).toHaveLength(2);
    expect(w.state(p)).toBe('streaming');
    expect(w.engineStarts.map((s) => s.engine)).toEqual(['http://10.0.0.9:7003']);
  });
});

describe('mid-stream failure', () => {
  test('the upstream dies: players stay, the session restarts on the same engine, ends and starts are re-accounted', async () => {
    const w = new PureWorld();
    const a = w.player(`id=${ID}`);
    const b = w.player(`id=${ID}`);
    await w.advance(1_000);
    w.failUpstream('s1');
    await w.advance(1_000);
    expect([w.state(a), w.state(b)]).toEqual(['streaming', 'streaming']);
    expect(a.events).toEqual(['attach', 'hold', 'unhold', 'attach']);
    expect(w.engineStarts.map((s) => s.engine)).toEqual(['http://10.0.0.1:6001', 'http://10.0.0.1:6001']);
    expect(w.ended).toEqual([{ containerId: 'e1', streamId: 'acerelay-1', reason: 'failover' }]);
    expect(w.started.map((e) => e.streamId)).toEqual(['acerelay-1', 'acerelay-2']);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s p2  requesting                         init",
        "   0.0s s1  starting                           BROKER_ENGINE",
        "   0.3s s1  running.connecting                 done",
        "   0.4s p1  streaming                          SESSION_PHASE",
        "   0.4s p2  streaming                          SESSION_PHASE",
        "   0.4s s1  running.streaming                  UPSTREAM_SYNCED",
        "   1.0s p1  recovering                         SESSION_PHASE",
        "   1.0s p2  recovering                         SESSION_PHASE",
        "   1.0s s1  recovering                         UPSTREAM_FAILED",
        "   1.0s s1  starting                           done",
        "   1.3s s1  running.connecting                 done",
        "   1.4s p1  streaming                          SESSION_PHASE",
        "   1.4s p2  streaming                          SESSION_PHASE",
        "   1.4s s1  running.streaming                  UPSTREAM_SYNCED",
      ]
    `);
  });

  test('the engine is gone: after the same engine refuses twice, another engine takes over', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001), engineInfo('e2', 6002)] });
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    w.downEngines.add('http://10.0.0.1:6001');
    w.failUpstream('s1', 'ENGINE_BODY_ERROR');
    await w.advance(5_000);
    expect(w.state(p)).toBe('streaming');
    expect(w.engineStarts.map((s) => s.engine)).toEqual(['http://10.0.0.1:6001', 'http://10.0.0.1:6002']);
    expect(w.ended.map((e) => [e.containerId, e.streamId, e.reason])).toEqual([['e1', 'acerelay-1', 'failover']]);
    expect(w.started.map((e) => [e.containerId, e.streamId])).toEqual([
      ['e1', 'acerelay-1'],
      ['e2', 'acerelay-2'],
    ]);
  });

  test('a recovery that takes longer than HOLD_MAX aborts the players (reset, not a clean end)', async () => {
    const w = new PureWorld({ holdMaxMs: 20_000, engines: [engineInfo('e1', 6001)] });
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    w.downEngines.add('http://10.0.0.1:6001');
    w.poll(atCapacity());
    w.failUpstream('s1');
    await w.advance(25_000);
    expect(p.outcome).toBe('aborted');
    expect(p.events.at(-1)).toBe('finish:aborted');
  });
});

describe('orchestrator unreachable', () => {
  test('held in waiting_orchestrator while the status is unknown; streams once it answers', async () => {
    const w = new PureWorld();
    w.pollFails();
    const p = w.player(`id=${ID}`);
    await w.advance(5_000);
    w.pollFails();
    await w.advance(5_000);
    expect(w.state(p)).toBe('waiting_orchestrator');
    w.poll(healthyStatus());
    await w.advance(1_000);
    expect(w.state(p)).toBe('streaming');
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s p1  held.waiting_orchestrator          SESSION_PHASE",
        "   0.0s s1  acquiring.waiting                  BROKER_WAIT",
        "  10.0s p1  held.waiting_engine                SESSION_PHASE",
        "  10.0s s1  starting                           BROKER_ENGINE",
        "  10.3s s1  running.connecting                 done",
        "  10.4s p1  streaming                          SESSION_PHASE",
        "  10.4s s1  running.streaming                  UPSTREAM_SYNCED",
      ]
    `);
  });
});

describe('orchestrator unreachable while provisioning (found by the chaos harness)', () => {
  test('a refused connection during provisioning holds the player (waiting_orchestrator) instead of failing it, and is probed again later', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.provisionScript = [{ delayMs: 50, fail: new OrchestratorUnreachableError('POST /provision/acestream: ECONNREFUSED') as unknown as ProvisionError }];
    const p = w.player(`id=${ID}`);
    await w.advance(1_000);
    expect(w.state(p)).toBe('waiting_orchestrator');
    expect(p.events).toEqual(['hold']);
    await w.advance(29_000);
    // One call, then the next only after the probe interval.
    expect(w.provisionCalls.length).toBe(1);
    await w.advance(5_000);
    expect(w.provisionCalls.length).toBe(2);
    expect(w.state(p)).toBe('streaming');
  });
});

describe('HOLD_MAX', () => {
  test('a player still held at HOLD_MAX is aborted', async () => {
    const w = new PureWorld({ holdMaxMs: 30_000 });
    w.pollFails();
    const p = w.player(`id=${ID}`);
    for (let i = 0; i < 4; i++) {
      await w.advance(10_000);
      w.pollFails();
    }
    expect(p.events).toEqual(['hold', 'unhold', 'finish:aborted']);
    expect(w.rel()).toMatchInlineSnapshot(`
      [
        "   0.0s s1  acquiring.choosing                 init",
        "   0.0s p1  requesting                         init",
        "   0.0s p1  held.waiting_orchestrator          SESSION_PHASE",
        "   0.0s s1  acquiring.waiting                  BROKER_WAIT",
        "  30.0s s1  cancelled                          PLAYER_LEFT",
        "  30.0s p1  ended                              after:holdMax",
      ]
    `);
  });
});

describe('many waiting players', () => {
  test('100 players held through a breaker outage: provisioning calls do not grow with them; all stream after', async () => {
    const w = new PureWorld({ engines: [], holdMaxMs: 300_000, queueMax: 200, provisionConcurrency: 4 });
    let eta = 40;
    w.poll(breakerOpen(eta), []);
    w.provisionScript = Array.from({ length: 10 }, () => ({ delayMs: 100, fail: breakerRefusal(0) }));
    const players = Array.from({ length: 100 }, (_, i) => w.player(`id=${i.toString(16).padStart(40, '0')}`));
    for (let i = 0; i < 9; i++) {
      await w.advance(10_000);
      eta = Math.max(0, eta - 10);
      w.poll(breakerOpen(eta), []);
    }
    const during = w.provisionCalls.length;
    // 90 s of outage with a 40 s ETA: one probe after the ETA, then one per 30 s at most.
    expect(during).toBeGreaterThanOrEqual(1);
    expect(during).toBeLessThanOrEqual(3);
    w.provisionScript = [];
    w.poll(healthyStatus(), []);
    await w.advance(60_000);
    expect(players.filter((p) => w.state(p) === 'streaming')).toHaveLength(100);
  });
});
