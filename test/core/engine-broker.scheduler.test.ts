/**
 * The broker under every ordering fast-check's scheduler can think of: provisioning calls
 * finishing (or failing) in any order, the orchestrator listing a new engine before or after
 * the call that made it answers (and before or after we learned where it answers), sessions
 * leaving at any moment. Grants stay in arrival order, provisioning never exceeds its
 * concurrency, no engine is ever held by two sessions.
 */
import { expect, test } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../../src/clock.ts';
import { EngineBroker, type Grant } from '../../src/core/engine-broker.ts';
import { engineInfo, healthyStatus } from '../support/pure-world.ts';
import { ProvisionError } from '../../src/adapters/orchestrator/errors.ts';

test('grants in arrival order, bounded provisioning and engine load, whatever the interleaving', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.integer({ min: 2, max: 8 }),
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      async (s, sessions, failures, leaves) => {
        const clock = new ManualClock(0);
        let inFlight = 0;
        let most = 0;
        let next = 0;
        const listed: string[] = [];
        const listing = () => ({ kind: 'fresh' as const, status: healthyStatus(), engines: listed.map((id, i) => engineInfo(id, 7000 + i)), observedAt: 0, polledAt: 0, error: null, failures: 0 });
        // Which live session holds each engine: a second holder is the bug under test.
        const holder = new Map<string, string>();
        const doubleHeld: string[] = [];
        const hold = (engine: string, session: string) => {
          const other = holder.get(engine);
          if (other !== undefined && other !== session) doubleHeld.push(`${engine}: ${other} and ${session}`);
          holder.set(engine, session);
        };
        const letGo = (session: string) => {
          for (const [engine, who] of holder) if (who === session) holder.delete(engine);
        };
        const broker = new EngineBroker(
          {
            clock,
            maxPerEngine: 1,
            provisionConcurrency: 2,
            probeIntervalMs: 30_000,
            orchestrator: {
              provision: () => {
                inFlight++;
                most = Math.max(most, inFlight);
                const n = next++;
                const fail = failures[n % failures.length]!;
                // The orchestrator lists the new engine on its own schedule.
                if (!fail) {
                  void s.schedule(Promise.resolve(), `c${n} listed`).then(() => {
                    listed.push(`c${n}`);
                    broker.updateFeed(listing());
                  });
                }
                return s
                  .schedule(Promise.resolve(n), `provision ${n}${fail ? ' (fails)' : ''}`)
                  .then((i) => {
                    inFlight--;
                    if (fail) throw new ProvisionError(500, 'failed', 'general_error', 'no', null, false, false);
                    return { containerId: `c${i}`, containerName: null, hostHttpPort: 7000 + i, containerHttpPort: 7000 + i };
                  });
              },
              locate: (r) => s.schedule(Promise.resolve({ host: '10.0.0.1', port: r.hostHttpPort ?? 0 }), `locate ${r.containerId}`),
            },
          },
          { kind: 'fresh', status: healthyStatus(), engines: [], observedAt: 0, polledAt: 0, error: null, failures: 0 },
        );
        const granted: number[] = [];
        const left = new Set<string>();
        const enginesOf = new Map<string, string>();
        const done: Promise<unknown>[] = [];
        for (let i = 1; i <= sessions; i++) {
          const id = `s${i}`;
          broker.request({
            sessionId: id,
            seq: i,
            infohash: null,
            exclude: [],
            listener: (u) => {
              if (u.type !== 'granted') return;
              granted.push(i);
              const grant: Grant = u.grant;
              if (grant.kind === 'engine') {
                enginesOf.set(id, grant.engine.containerId);
                hold(grant.engine.containerId, id);
              } else {
                done.push(
                  broker.provision(id).then(
                    (e) => {
                      enginesOf.set(id, e.containerId);
                      if (!left.has(id)) hold(e.containerId, id);
                    },
                    () => broker.release(id),
                  ),
                );
              }
            },
          });
          if (leaves[i - 1]) {
            done.push(
              s.schedule(Promise.resolve(), `s${i} leaves`).then(() => {
                left.add(id);
                letGo(id);
                broker.release(id);
              }),
            );
          }
        }
        // Grants reach listeners a microtask later and may schedule more: drain until quiet.
        for (let round = 0; round < 50; round++) {
          await new Promise((r) => setImmediate(r));
          if (s.count() === 0) break;
          await s.waitAll();
        }
        await Promise.allSettled(done);
        // Capacity was granted in arrival order.
        expect(granted).toEqual([...granted].sort((a, b) => a - b));
        expect(most).toBeLessThanOrEqual(2);
        expect(doubleHeld).toEqual([]);
        const perEngine = new Map<string, number>();
        for (const slot of broker.describe().slots) perEngine.set(slot.engineId, (perEngine.get(slot.engineId) ?? 0) + 1);
        for (const n of perEngine.values()) expect(n).toBeLessThanOrEqual(1);
        broker.close();
      },
    ),
    { numRuns: 200 },
  );
});

test('a session whose stop has not landed still takes room; the broker re-decides when it lands', async () => {
  const clock = new ManualClock(0);
  let pending = 1;
  const broker = new EngineBroker(
    {
      clock,
      maxPerEngine: 1,
      provisionConcurrency: 1,
      probeIntervalMs: 30_000,
      pendingStops: (origin) => (origin === 'http://10.0.0.1:6001' ? pending : 0),
    },
    // The orchestrator lists one engine and nobody else's streams on it; no provisioning port.
    { kind: 'fresh', status: healthyStatus(), engines: [engineInfo('e1', 6001)], observedAt: 0, polledAt: 0, error: null, failures: 0 },
  );
  const updates: string[] = [];
  broker.request({
    sessionId: 's1',
    seq: 1,
    infohash: null,
    exclude: [],
    listener: (u) => updates.push(u.type === 'wait' ? `wait:${u.wait.reason}` : `granted:${u.grant.kind}`),
  });
  await new Promise((r) => setImmediate(r));
  expect(updates).toEqual(['wait:capacity']);
  pending = 0;
  broker.capacityChanged();
  await new Promise((r) => setImmediate(r));
  expect(updates).toEqual(['wait:capacity', 'granted:engine']);
});

test('engines the orchestrator no longer lists are forgotten: a day of engines coming and going leaves the broker nothing', () => {
  const clock = new ManualClock(0);
  const feed = (ids: string[]) => ({ kind: 'fresh' as const, status: healthyStatus(), engines: ids.map((id, i) => engineInfo(id, 7000 + i)), observedAt: clock.now(), polledAt: clock.now(), error: null, failures: 0 });
  const broker = new EngineBroker({ clock, maxPerEngine: 1, provisionConcurrency: 2, probeIntervalMs: 30_000 }, feed([]));
  for (let i = 0; i < 2_000; i++) {
    clock.advance(30_000);
    broker.updateFeed(feed([`e${i}`, `e${i + 1}`]));
    broker.reportFailure(`e${i}`);
    const cancel = broker.request({ sessionId: `s${i}`, seq: i, infohash: null, exclude: [], listener: () => {} });
    cancel();
    broker.release(`s${i}`);
  }
  const { remembered } = broker.describe();
  expect(remembered.engines).toBeLessThanOrEqual(2);
  expect(remembered.suspects).toBeLessThanOrEqual(2);
  expect(remembered.lastUsed).toBeLessThanOrEqual(2);
  broker.close();
});
