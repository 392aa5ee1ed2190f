/** The status feed's cadence on virtual time: 30 s healthy, 10 s degraded or held, backoff while unknown. */
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createStatusFeed, type FeedState } from '../../src/adapters/status-feed.ts';
import { healthyStatus } from '../support/pure-world.ts';
import type { OrchestratorStatus } from '../../src/adapters/orchestrator/types.ts';

function harness(opts: { held?: () => number; first?: () => Promise<OrchestratorStatus> } = {}) {
  const clock = new ManualClock(0);
  const polls: number[] = [];
  let answer: () => Promise<OrchestratorStatus> = opts.first ?? (async () => healthyStatus());
  const feed = createStatusFeed({
    clock,
    intervalMs: 30_000,
    degradedIntervalMs: 10_000,
    timeoutMs: 5_000,
    held: opts.held,
    source: {
      status: () => {
        polls.push(clock.now());
        return answer();
      },
      engines: async () => [],
    },
  });
  const states: FeedState[] = [];
  feed.state$.subscribe((s) => states.push(s));
  return { clock, polls, feed, states, setAnswer: (f: typeof answer) => (answer = f) };
}

describe('status feed cadence', () => {
  test('every 30 s while healthy', async () => {
    const h = harness();
    await h.clock.advanceAsync(95_000);
    expect(h.polls).toEqual([0, 30_000, 60_000, 90_000]);
    expect(h.feed.current().kind).toBe('fresh');
    h.feed.close();
  });

  test('every 10 s while degraded', async () => {
    const h = harness({ first: async () => ({ ...healthyStatus(), status: 'degraded' }) });
    await h.clock.advanceAsync(35_000);
    expect(h.polls).toEqual([0, 10_000, 20_000, 30_000]);
    h.feed.close();
  });

  test('every 10 s while anyone is held, and at once when kicked', async () => {
    let held = 0;
    const h = harness({ held: () => held });
    await h.clock.advanceAsync(5_000);
    held = 1;
    h.feed.kick();
    await h.clock.advanceAsync(26_000);
    expect(h.polls).toEqual([0, 5_000, 15_000, 25_000]);
    h.feed.close();
  });

  test('5xx, garbage or timeouts make it unknown, keep the last good status and its time, and back off 1, 2, 4, 8, 10 s', async () => {
    const h = harness();
    await h.clock.advanceAsync(1);
    h.setAnswer(async () => {
      throw new Error('ORCH_HTTP 500');
    });
    await h.clock.advanceAsync(30_000 + 25_000);
    expect(h.polls.slice(1).map((t) => t - 30_000)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 25_000]);
    const s = h.feed.current();
    expect(s.kind).toBe('unknown');
    expect(s.status?.status).toBe('healthy');
    expect(s.observedAt).toBe(0);
    expect(s.failures).toBe(6);
    expect(s.error).toContain('500');
    h.setAnswer(async () => healthyStatus());
    await h.clock.advanceAsync(10_000);
    expect(h.feed.current().kind).toBe('fresh');
    h.feed.close();
  });

  test('a slow poll is never overlapped by another (exhaustMap): one in flight at a time', async () => {
    const h = harness();
    let inFlight = 0;
    let most = 0;
    h.setAnswer(
      () =>
        new Promise((resolve) => {
          inFlight++;
          most = Math.max(most, inFlight);
          h.clock.setTimeout(() => {
            inFlight--;
            resolve(healthyStatus());
          }, 45_000);
        }),
    );
    for (let i = 0; i < 10; i++) h.feed.kick();
    await h.clock.advanceAsync(200_000);
    expect(most).toBe(1);
    h.feed.close();
  });
});
