/**
 * The status feed (src/adapters/status-feed.ts) polling the running simulator through the
 * real OrchestratorClient: quirk 1 — a 5xx, a stall, garbage or a dead port makes the state
 * "unknown" (keeping the last good status), never a crash or a hung poller — and it comes
 * back to "fresh" on its own.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createStatusFeed, type FeedState, type StatusFeed } from '../../src/adapters/status-feed.ts';
import { control, orchestrator, startSim, waitFor } from './helpers.ts';
import type { Simulator } from '../../src/sim/index.ts';

function feedOn(sim: Simulator): StatusFeed {
  const client = orchestrator(sim, { readTimeoutMs: 400 });
  const feed = createStatusFeed({ source: client, clock: systemClock, intervalMs: 150, degradedIntervalMs: 150, timeoutMs: 400, minGapMs: 50 });
  onTestFinished(() => feed.close());
  return feed;
}

const fresh = (feed: StatusFeed) => (feed.current().kind === 'fresh' ? feed.current() : null);
const unknown = (feed: StatusFeed) => (feed.current().kind === 'unknown' && feed.current().failures > 0 ? feed.current() : null);

describe('status feed over the adapter', () => {
  it('fresh on a healthy orchestrator: status and engines of the same beat', async () => {
    const sim = await startSim({ minReplicas: 2 });
    const feed = feedOn(sim);
    const st = await waitFor(() => fresh(feed), 10_000, 'fresh');
    expect(st.status?.status).toBe('healthy');
    expect(st.engines).toHaveLength(2);
    expect(st.error).toBeNull();
    expect(st.failures).toBe(0);
  });

  it('error500, slow, garbage and down each make it unknown with the last good status kept; ok brings it back', async () => {
    const sim = await startSim();
    const feed = feedOn(sim);
    const good = await waitFor(() => fresh(feed), 10_000, 'fresh');
    for (const mode of [{ mode: 'error500' }, { mode: 'slow', ms: 8_000 }, { mode: 'garbage' }, { mode: 'down' }]) {
      await control(sim, 'orchestrator', mode);
      const bad: FeedState = await waitFor(() => unknown(feed), 8_000, `unknown in ${mode.mode}`);
      expect(bad.status, mode.mode).not.toBeNull();
      expect(bad.status!.status, mode.mode).toBe('healthy');
      expect(bad.observedAt!, mode.mode).toBeGreaterThanOrEqual(good.observedAt!);
      expect(typeof bad.error, mode.mode).toBe('string');
      await control(sim, 'orchestrator', { mode: 'ok' });
      await waitFor(() => fresh(feed), 10_000, `fresh after ${mode.mode}`);
    }
  });

  it('a degraded orchestrator is fresh (it answered), with the block visible', async () => {
    const sim = await startSim();
    const feed = feedOn(sim);
    await waitFor(() => fresh(feed), 10_000, 'fresh');
    await control(sim, 'vpn', { connected: false });
    const st = await waitFor(() => (fresh(feed)?.status?.status === 'degraded' ? fresh(feed) : null), 10_000, 'degraded');
    expect(st.status!.provisioning.blocked?.code).toBe('vpn_disconnected');
  });
});
