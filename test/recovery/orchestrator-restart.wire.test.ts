/**
 * The real orchestrator's ways after it restarts (simulator defaults: every engine stopped,
 * every stream forgotten, engines back on the same ports under new ids, a start for an unknown
 * container filed under the engine on its host:port and never swept), and the views that must
 * follow it back.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CONTENT, bytes, eventually, getJson, play, startStack, type Capture, type Stack } from '../support/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

/** The ids the orchestrator lists as started (its own view, GET /streams), and the ids our live sessions run. */
async function lists(s: Stack): Promise<{ orchestrator: string[]; ours: string[] }> {
  // While it is down its list is unknown: nothing matches it.
  const res = await fetch(`${s.sim.url}/streams?status=started`).catch(() => null);
  const orchestrator = res ? ((await res.json()) as Array<{ id: string }>).map((x) => x.id).sort() : ['(unreachable)'];
  const ours = s.acerelay.registry
    .listSessions()
    .map((x) => x.actor.getSnapshot().context.streamId)
    .filter((x): x is string => x !== null)
    .sort();
  return { orchestrator, ours };
}

const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);

describe('the orchestrator restarts under live streams', () => {
  test('a start queued while it was down, for a session that ended meanwhile, is filed under a new engine id after its restart — and still ended: its list matches ours, then empties', async () => {
    // Status polled every 30 s: the orchestrator dies between two polls, as a kill -9 does.
    stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 4 }, env: { ACERELAY_STATUS_INTERVAL: '30s', ACERELAY_LINGER: '300ms' } });
    const s = stack;
    const a = new AbortController();
    const playerA = play(`${s.url}/ace/getstream?id=${CONTENT[0]}`, { signal: a.signal, maxMs: 60_000 });
    await eventually(async () => (await lists(s)).orchestrator.length === 1, 10_000);
    await eventually(() => s.acerelay.feed.current().kind === 'fresh', 5_000);

    // It dies; before acerelay's next poll notices, B starts on the other engine (its
    // stream_started cannot go out) and leaves again (its end queues behind the start).
    await s.sim.control('orchestrator', { mode: 'down' });
    await play(`${s.url}/ace/getstream?id=${CONTENT[1]}`, { until: bytes(200_000), maxMs: 20_000 });
    await eventually(() => s.acerelay.registry.sessionCount === 1, 10_000);
    // It comes back: every engine stopped and back on the same ports under new ids, every stream forgotten.
    await s.sim.control('orchestrator', { mode: 'restart', ms: 500 });
    await eventually(() => s.acerelay.feed.current().kind === 'fresh' && s.acerelay.registry.listSessions().every((x) => x.actor.getSnapshot().matches({ running: 'streaming' })), 40_000);
    // B's start reached it late (after its retries' backoff) and was filed under a new engine
    // id; B's end followed it. Then its list is exactly ours.
    const ended = () => s.sim.state().events.filter((e) => e.type === 'stream_ended' && e.http_status === 200).length;
    await eventually(async () => {
      const l = await lists(s);
      return ended() >= 1 && l.ours.length === 1 && same(l.orchestrator, l.ours);
    }, 60_000);

    a.abort();
    await playerA;
    stack = null;
    await s.acerelay.close();
    // After a quiet end nothing of ours is left started.
    expect((await lists(s)).orchestrator).toEqual([]);
    await s.sim.close();
  }, 120_000);

  test('after an outage of the orchestrator: a live stream it forgot is announced again; one it lists under our id that we no longer run is ended', async () => {
    stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 4 }, env: { ACERELAY_LINGER: '500ms' } });
    const s = stack;
    // One stream that ends (its id stays ours), one that lives.
    await play(`${s.url}/ace/getstream?id=${CONTENT[3]}`, { until: bytes(200_000), maxMs: 20_000 });
    await eventually(async () => {
      const l = await lists(s);
      return l.ours.length === 0 && l.orchestrator.length === 0;
    }, 10_000);
    const endedId = s.sim.state().streams[0]!.id;
    const ac = new AbortController();
    const player = play(`${s.url}/ace/getstream?id=${CONTENT[4]}`, { signal: ac.signal, maxMs: 60_000 });
    await eventually(async () => (await lists(s)).orchestrator.length === 1, 10_000);
    const [liveId] = (await lists(s)).ours;
    const engine = s.sim.state().engines.find((e) => e.removed_at === null)!;
    const event = (path: string, body: unknown) =>
      fetch(`${s.sim.url}/events/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The orchestrator forgets the live one, and a late start brings the ended one back.
    expect((await event('stream_ended', { container_id: engine.container_id, stream_id: liveId, reason: 'test' })).status).toBe(200);
    const session = { playback_session_id: 'x'.repeat(40), stat_url: `http://127.0.0.1:${engine.port}/ace/stat/x/y`, command_url: `http://127.0.0.1:${engine.port}/ace/cmd/x/y`, is_live: 1 };
    expect((await event('stream_started', { container_id: engine.container_id, engine: { host: '127.0.0.1', port: engine.port }, stream: { key_type: 'content_id', key: CONTENT[3] }, session, labels: { stream_id: endedId } })).status).toBe(200);
    expect((await lists(s)).orchestrator).toEqual([endedId]);
    // It is unreachable until acerelay has seen it so (a loaded machine may poll late: an outage
    // no poll saw is no outage to acerelay); when it answers again the lists are compared and repaired.
    await s.sim.control('orchestrator', { mode: 'down' });
    await eventually(() => s.acerelay.feed.current().kind === 'unknown', 20_000);
    await s.sim.control('orchestrator', { mode: 'ok' });
    await eventually(async () => same((await lists(s)).orchestrator, [liveId!]), 20_000);
    expect((await lists(s)).ours).toEqual([liveId]);
    ac.abort();
    await player;
  }, 60_000);
});

describe('views follow the orchestrator back', () => {
  test('/api/orchestrator stops showing a provisioning refusal once a newer status arrives', async () => {
    stack = await startStack({ sim: { minReplicas: 1, maxReplicas: 3 }, env: { ACERELAY_HOLD_MAX: '20s' } });
    const s = stack;
    const ac = new AbortController();
    const first = play(`${s.url}/ace/getstream?id=${CONTENT[4]}`, { signal: ac.signal, maxMs: 60_000 });
    await eventually(() => s.acerelay.registry.listSessions().some((x) => x.actor.getSnapshot().matches({ running: 'streaming' })), 10_000);
    // A provisioning call that the orchestrator refuses with a wait (the VPN dropped mid-call).
    await s.sim.control('provision', { fail: 1, code: 'vpn_error' });
    const second = play(`${s.url}/ace/getstream?id=${CONTENT[5]}`, { maxMs: 30_000, until: bytes(100_000) });
    await eventually(async () => (await getJson(`${s.url}/api/orchestrator`)).body.broker.provisioning.refusal?.details.code === 'vpn_error', 10_000);
    const refusedAt = Date.now();
    // The next status poll (every 2 s while a player is held) replaces it.
    await eventually(async () => (await getJson(`${s.url}/api/orchestrator`)).body.broker.provisioning.refusal === null, 10_000);
    expect(Date.now() - refusedAt).toBeLessThan(8_000);
    ac.abort();
    await first;
    await second;
  }, 60_000);

  test('a player held for the VPN streams within a few seconds of the orchestrator seeing it back, though degraded polls are 10 s apart', async () => {
    stack = await startStack({ env: { ACERELAY_HOLD_MAX: '60s', ACERELAY_STATUS_INTERVAL_DEGRADED: '10s' } });
    const s = stack;
    await s.sim.control('vpn', { connected: false });
    await eventually(() => s.acerelay.feed.current().status?.vpn.connected === false, 15_000);
    let mediaAt = 0;
    const held = play(`${s.url}/ace/getstream?id=${CONTENT[6]}`, {
      maxMs: 60_000,
      until: (c: Capture) => {
        if (c.size > 50_000 && mediaAt === 0) mediaAt = Date.now();
        return c.size > 200_000;
      },
    });
    await eventually(() => s.acerelay.registry.heldCount === 1, 10_000);
    // Let a few polls pass so the next one is due on the held cadence, not a kick.
    await new Promise((r) => setTimeout(r, 4_500));
    const back = Date.now();
    await s.sim.control('vpn', { connected: true });
    const cap = await held;
    expect(cap.status).toBe(200);
    // Poll (≤ 2 s) + engine start + sync; the old 10 s cadence would exceed this.
    expect(mediaAt - back).toBeLessThan(6_000);
  }, 60_000);
});
