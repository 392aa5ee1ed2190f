/**
 * Provisioning with several instances on one orchestrator: each instance's gate is its own, so
 * the bounds add up and no more — while provisioning is blocked at most one probe per instance
 * in flight, and at most N in any probe window whatever the number of waiting players; once it
 * is possible, at most N × PROVISION_CONCURRENCY calls in flight.
 */
import { expect, test } from 'vitest';
import { startSimulator } from '../../src/sim/index.ts';
import { CONTENT, eventually, sleep } from '../support/stack.ts';
import { instanceBed, startInstance, startedBy } from '../support/instances.ts';
import { ReconnectingPlayer } from '../deploy/reconnecting-player.ts';
import { provisionsInFlight } from '../deploy/shared-truth.ts';

const bed = instanceBed();
const { running, players } = bed;

const N = 3;
const PROBE_INTERVAL_MS = 3_000;

test('3 instances, 30 held players behind an open breaker: at most 3 probes in flight and 3 per probe window; then at most 3 × 2 provisioning calls in flight', async () => {
  const sim = (bed.sim = await startSimulator({ port: 0, minReplicas: 0, maxReplicas: 12, provisionDelayMs: 800, engineReadyDelayMs: 200, startDelayMs: 100 }));
  await sim.control('circuit', { state: 'open', eta: 3 });
  const env = { ACERELAY_HOLD_MAX: '60s', ACERELAY_PROBE_INTERVAL: `${PROBE_INTERVAL_MS}ms`, ACERELAY_PROVISION_CONCURRENCY: '2', ACERELAY_STATUS_INTERVAL_DEGRADED: '2s' };
  for (let n = 0; n < N; n++) running.push(await startInstance(sim, `relay-${n}`, { env }));
  for (const i of running) await eventually(() => i.acerelay.feed.current().status?.provisioning.blocked?.code === 'circuit_breaker', 5_000);
  const outageStart = sim.state().now;
  // Three channels per instance, 10 players on each instance.
  running.forEach((i, n) => {
    for (let k = 0; k < 10; k++) players.push(new ReconnectingPlayer(`${i.url}/ace/getstream?id=${CONTENT[n * 3 + (k % 3)]}`).start());
  });
  await eventually(() => running.every((i) => i.acerelay.registry.heldCount === 10), 10_000);
  // Several probe windows of outage (an observation period: what must not happen in it).
  await sleep(12_000);
  const outageEnd = sim.state().now;
  const during = sim.state().provisions.filter((p) => p.t >= outageStart && p.t <= outageEnd);
  for (const p of during) expect(p.http_status).toBe(503);
  expect(during.length).toBeGreaterThanOrEqual(N);
  expect(provisionsInFlight(sim.state(), outageStart)).toBeLessThanOrEqual(N);
  for (const p of during) expect(during.filter((q) => q.t >= p.t && q.t < p.t + PROBE_INTERVAL_MS).length).toBeLessThanOrEqual(N);
  console.log(`breaker open ${((outageEnd - outageStart) / 1000).toFixed(1)} s, 30 players held on 3 instances: ${during.length} provisioning probes`);

  await sim.control('circuit', { state: 'closed' });
  const recovered = sim.state().now;
  await eventually(() => players.every((p) => p.current!.mediaPackets > 300), 60_000, 250);
  const peak = provisionsInFlight(sim.state(), recovered);
  console.log(`breaker closed: 9 channels started, provisioning calls in flight at most ${peak}`);
  expect(peak).toBeLessThanOrEqual(N * 2);
  // Held, never refused or cut: each player on its first connection.
  for (const p of players) expect(p.attempts).toHaveLength(1);
}, 120_000);
