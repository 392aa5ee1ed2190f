/**
 * OrchestratorClient's reads and stream events against the running simulator: engines,
 * engine(id) (quirk 5), streams filters, stream_started / stream_ended round trips and
 * their 422s, and auth (401/403) without the key ever showing in an error.
 */
import { describe, expect, it } from 'vitest';
import {
  OrchestratorAuthError,
  OrchestratorError,
  OrchestratorHttpError,
  type StreamStartedEvent,
} from '../../../src/adapters/orchestrator/index.ts';
import { IH, IH2, control, expectNoSecret, firstEngine, orchestrator, rejection, startSim } from '../helpers.ts';

function startedEvent(containerId: string, port: number, streamId: string, key = IH): StreamStartedEvent {
  return {
    containerId,
    engine: { host: '127.0.0.1', port },
    stream: { keyType: 'infohash', key },
    session: {
      playbackSessionId: 'e0d10c40465de696c0222ffa815edace0635b86a',
      statUrl: `http://127.0.0.1:${port}/ace/stat/${key}/f528764d624db129b32c21fbca0cb8d6`,
      commandUrl: `http://127.0.0.1:${port}/ace/cmd/${key}/f528764d624db129b32c21fbca0cb8d6`,
      isLive: true,
    },
    streamId,
  };
}

describe('OrchestratorClient.engines() / engine(id)', () => {
  it('lists running engines with host, port, health, forwarded flag (later builds) and parsed `…Z` times', async () => {
    const sim = await startSim({ minReplicas: 2, quirks: { engines_forwarded: true } });
    const engines = await orchestrator(sim).engines();
    expect(engines).toHaveLength(2);
    const ids = sim.state().engines.map((e) => e.container_id);
    expect(engines.map((e) => e.containerId).sort()).toEqual([...ids].sort());
    for (const e of engines) {
      expect(e.host).toBe('127.0.0.1');
      expect(e.port).toBe(sim.state().engines.find((x) => x.container_id === e.containerId)!.port);
      expect(e.health).toBe('healthy');
      expect(e.containerName).toMatch(/^acestream-\d+$/);
      expect(e.streams).toEqual([]);
      expect(typeof e.firstSeen).toBe('number');
      expect(e.lastStreamUsage).toBeNull();
    }
    // The VPN build marks exactly one engine as the forwarded one.
    expect(engines.filter((e) => e.forwarded)).toHaveLength(1);
  });

  it('the seed-era orchestrator has no forwarded field: every engine reads as not forwarded', async () => {
    const sim = await startSim({ minReplicas: 2 });
    const engines = await orchestrator(sim).engines();
    expect(engines.map((e) => e.forwarded)).toEqual([false, false]);
  });

  it('engine(id): the engine for a known id; null for the 200 {"error":"not found"} of an unknown one (quirk 5)', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId, port } = firstEngine(sim);
    const one = await orchestrator(`${sim.url}/`).engine(containerId); // a trailing slash on the base URL is fine
    expect(one).toMatchObject({ containerId, port, host: '127.0.0.1', health: 'healthy' });
    expect(await client.engine('0'.repeat(64))).toBeNull();
    expect(await client.engine('no such/engine?x=1')).toBeNull(); // escaped into one path segment
  });

  it('an engine removed under us (provisioned, then gone after a restart) reads as null', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const made = await client.provision();
    expect(await client.engine(made.containerId)).not.toBeNull();
    await control(sim, 'orchestrator', { mode: 'restart', ms: 200 });
    const after = await waitForOk(() => client.engine(made.containerId));
    expect(after).toBeNull();
  });
});

async function waitForOk<T>(fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('stream events and OrchestratorClient.streams()', () => {
  it('streamLabels ride on every stream_started (the instance); stream_id is always the event’s own id', async () => {
    const sim = await startSim({ minReplicas: 1 });
    const client = orchestrator(sim, { streamLabels: { 'acerelay.instance': 'relay-2', stream_id: 'not-this' } });
    const [a] = await client.engines();
    await client.streamStarted(startedEvent(a!.containerId, a!.port, 'acerelay-relay-2-x'));
    const record = sim.state().streams.find((s) => s.id === 'acerelay-relay-2-x')!;
    expect(record.labels).toEqual({ 'acerelay.instance': 'relay-2', stream_id: 'acerelay-relay-2-x' });
    // The real orchestrator merges them into the engine's labels: the latest start wins there.
    expect(sim.state().engines.find((e) => e.container_id === a!.containerId)!.labels).toMatchObject({ 'acerelay.instance': 'relay-2' });
  });

  it('stream_started → record; streams() filters by status and container; stream_ended → ended; a repeated end is updated again', async () => {
    const sim = await startSim({ minReplicas: 2 });
    const client = orchestrator(sim);
    const [a, b] = await client.engines();
    const started = await client.streamStarted(startedEvent(a!.containerId, a!.port, 'acerelay-a'));
    expect(started).toMatchObject({
      id: 'acerelay-a',
      keyType: 'infohash',
      key: IH,
      containerId: a!.containerId,
      playbackSessionId: 'e0d10c40465de696c0222ffa815edace0635b86a',
      isLive: true,
      status: 'started',
      endedAt: null,
    });
    expect(started.statUrl).toContain('/ace/stat/');
    expect(started.commandUrl).toContain('/ace/cmd/');
    expect(typeof started.startedAt).toBe('number');
    await client.streamStarted(startedEvent(b!.containerId, b!.port, 'acerelay-b', IH2));

    expect((await client.streams()).map((s) => s.id).sort()).toEqual(['acerelay-a', 'acerelay-b']);
    expect((await client.streams({ status: 'started' })).map((s) => s.id).sort()).toEqual(['acerelay-a', 'acerelay-b']);
    expect(await client.streams({ status: 'ended' })).toEqual([]);
    expect((await client.streams({ containerId: b!.containerId })).map((s) => s.id)).toEqual(['acerelay-b']);
    expect((await client.engine(a!.containerId))!.streams).toEqual(['acerelay-a']);

    const ended = await client.streamEnded({ containerId: a!.containerId, streamId: 'acerelay-a', reason: 'client_left' });
    expect(ended.updated).toBe(true);
    expect(ended.stream).toMatchObject({ id: 'acerelay-a', status: 'ended' });
    expect(typeof ended.stream!.endedAt).toBe('number');

    expect((await client.streams({ status: 'ended' })).map((s) => s.id)).toEqual(['acerelay-a']);
    expect((await client.streams({ status: 'started' })).map((s) => s.id)).toEqual(['acerelay-b']);
    expect((await client.streams({ status: 'started', containerId: a!.containerId }))).toEqual([]);
    // Without a filter, ended streams are listed too.
    expect(await client.streams()).toHaveLength(2);

    const again = await client.streamEnded({ containerId: a!.containerId, streamId: 'acerelay-a', reason: 'client_left' });
    expect(again.updated).toBe(true);
    // The other stream was not touched by either end.
    expect((await client.streams({ status: 'started' })).map((s) => s.id)).toEqual(['acerelay-b']);
  });

  it('a repeated start with the same id replaces the record (safe to retry)', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId, port } = firstEngine(sim);
    await client.streamStarted(startedEvent(containerId, port, 'acerelay-x', IH));
    await client.streamStarted(startedEvent(containerId, port, 'acerelay-x', IH2));
    const list = await client.streams({ status: 'started' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: 'acerelay-x', key: IH2 });
  });

  it('a session without stat/command URLs leaves them out (never sent as "", which the orchestrator refuses); the orchestrator then answers 422 and records nothing', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId, port } = firstEngine(sim);
    const ev = startedEvent(containerId, port, 'acerelay-nourls');
    ev.session = { ...ev.session, statUrl: null, commandUrl: null, isLive: false };
    const err = await rejection(client.streamStarted(ev));
    expect(err).toMatchObject({ code: 'ORCH_HTTP', status: 422 });
    expect(sim.state().streams.find((s) => s.id === 'acerelay-nourls')).toBeUndefined();
    // The orchestrator's own verdict: the field is missing, not an invalid "".
    expect((err as Error).message).toContain('"type":"missing","loc":["body","session","stat_url"]');
  });

  it('422s: an invalid key_type or a non-string reason → OrchestratorHttpError 422; the orchestrator records nothing', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId, port } = firstEngine(sim);
    const bad = startedEvent(containerId, port, 'acerelay-bad');
    (bad.stream as { keyType: string }).keyType = 'torrent';
    const err = await rejection(client.streamStarted(bad));
    expect(err).toBeInstanceOf(OrchestratorHttpError);
    expect(err).toMatchObject({ code: 'ORCH_HTTP', status: 422 });
    expect(await client.streams()).toEqual([]);

    await client.streamStarted(startedEvent(containerId, port, 'acerelay-ok'));
    const endErr = await rejection(client.streamEnded({ containerId, streamId: 'acerelay-ok', reason: 42 as unknown as string }));
    expect(endErr).toBeInstanceOf(OrchestratorHttpError);
    expect(endErr).toMatchObject({ code: 'ORCH_HTTP', status: 422 });
    expect((await client.streams({ status: 'started' })).map((s) => s.id)).toEqual(['acerelay-ok']);
  });

  it('an empty stream or container id is refused before anything is sent (it would end someone else’s stream)', async () => {
    const sim = await startSim();
    const client = orchestrator(sim);
    const { containerId, port } = firstEngine(sim);
    await client.streamStarted(startedEvent(containerId, port, 'acerelay-victim'));
    const eventsBefore = sim.state().events.length;
    await expect(client.streamEnded({ containerId, streamId: '', reason: 'x' })).rejects.toBeInstanceOf(TypeError);
    await expect(client.streamEnded({ containerId: '', streamId: 'acerelay-victim', reason: 'x' })).rejects.toBeInstanceOf(TypeError);
    expect(sim.state().events.length).toBe(eventsBefore);
    expect((await client.streams({ status: 'started' })).map((s) => s.id)).toEqual(['acerelay-victim']);
  });
});

describe('auth (401/403) and the API key', () => {
  const KEY = 'sk-acerelay-test-0123456789abcdef';
  const WRONG = 'sk-wrong-key-fedcba9876543210';

  it('the right key passes every protected endpoint; public ones ignore the key', async () => {
    const sim = await startSim({ apiKey: KEY });
    const client = orchestrator(sim, { apiKey: KEY });
    const made = await client.provision();
    const engine = (await client.engine(made.containerId))!;
    await client.streamStarted(startedEvent(engine.containerId, engine.port, 'acerelay-auth'));
    expect((await client.streamEnded({ containerId: engine.containerId, streamId: 'acerelay-auth', reason: 'done' })).updated).toBe(true);
    // A wrong key on public endpoints is harmless.
    const wrong = orchestrator(sim, { apiKey: WRONG });
    expect((await wrong.status()).status).toBe('healthy');
    expect(await wrong.engines()).toHaveLength(2);
  });

  it('missing key → OrchestratorAuthError 401; wrong key → 403; on provision and both events; no key in any rendering', async () => {
    const sim = await startSim({ apiKey: KEY });
    const { containerId, port } = firstEngine(sim);
    const none = orchestrator(sim);
    const wrong = orchestrator(sim, { apiKey: WRONG });
    for (const [client, status] of [
      [none, 401],
      [wrong, 403],
    ] as const) {
      const calls = [
        client.provision(),
        client.streamStarted(startedEvent(containerId, port, 'acerelay-denied')),
        client.streamEnded({ containerId, streamId: 'acerelay-denied', reason: 'x' }),
      ];
      for (const call of calls) {
        const err = await rejection(call);
        expect(err).toBeInstanceOf(OrchestratorAuthError);
        expect(err).toBeInstanceOf(OrchestratorError);
        expect(err).toMatchObject({ code: 'ORCH_AUTH', status });
        expectNoSecret(err, KEY);
        expectNoSecret(err, WRONG);
      }
    }
    // Nothing was provisioned or recorded.
    expect(sim.state().engines).toHaveLength(1);
    expect(sim.state().streams).toEqual([]);
  });
});
