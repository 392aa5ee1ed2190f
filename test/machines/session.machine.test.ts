/**
 * The session machine alone: every actor and action a stub (`.provide()`), time on XState's
 * SimulatedClock. What the machine decides by itself — retries, which engine next, when to
 * cancel, what to announce — without the registry, the broker or any adapter.
 */
import { describe, expect, test } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import {
  ENGINE_READY_BACKOFF_MS,
  START_RETRY_BACKOFF_MS,
  sessionMachine,
  sessionPhase,
  type ProvisionOutput,
  type SessionInput,
  type StartOutput,
} from '../../src/machines/session.machine.ts';
import { stateName } from '../../src/machines/state-name.ts';
import type { EngineRef, StartedPlayback } from '../../src/domain/stream.ts';

const ID = 'a'.repeat(40);

function engine(id: string): EngineRef {
  return { containerId: id, base: `http://10.0.0.1:${id.length}`, host: '10.0.0.1', port: 6000, health: 'healthy', forwarded: false, origin: 'orchestrator', managed: true };
}

function playback(pid: string): StartedPlayback {
  return { playbackUrl: `http://e/ace/r/x/${pid}`, statUrl: null, commandUrl: `http://e/ace/cmd/x/${pid}`, infohash: 'f'.repeat(40), playbackSessionId: pid, isLive: true };
}

/** A scripted answer of an invoked actor: a value, or an error the provided guards read. */
type Answer<T> = { ok: T } | { error: { message: string; wait?: boolean; auth?: boolean; content?: boolean } };

function world(input: Partial<SessionInput> = {}) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const script = { provision: [] as Answer<ProvisionOutput>[], probe: [] as Answer<void>[], start: [] as Answer<StartOutput>[] };
  const answer = <T>(list: Answer<T>[], what: string) =>
    fromPromise<T, unknown>(async () => {
      const next = list.shift();
      if (!next) return new Promise<T>(() => {}); // unscripted: never answers
      calls.push(`${what}:${'ok' in next ? 'ok' : 'error'}`);
      if ('error' in next) throw next.error;
      return next.ok;
    });
  const err = (event: unknown) => ((event as { error?: Record<string, unknown> }).error ?? {}) as Record<string, unknown>;
  const machine = sessionMachine.provide({
    guards: {
      provisionShouldWait: ({ event }) => err(event).wait === true,
      provisionAuthRefused: ({ event }) => err(event).auth === true,
      contentFailed: ({ event }) => err(event).content === true,
    },
    actors: {
      acquire: fromCallback(() => () => {}),
      provision: answer(script.provision, 'provision'),
      probeEngine: answer(script.probe, 'probe'),
      startEngine: answer(script.start, 'start'),
      readUpstream: fromCallback(() => () => {}),
      stopEngine: fromPromise(async () => {
        calls.push('stop');
      }),
    } as never,
    actions: {
      activateSlot: () => calls.push('activateSlot'),
      releaseSlot: () => calls.push('releaseSlot'),
      reportEngineFailure: ({ context }) => calls.push(`reportEngineFailure:${context.engine?.containerId}`),
      announceStarted: ({ context }) => calls.push(`announceStarted:${context.streamId}`),
      announceEnded: (_, params) => calls.push(`announceEnded:${params.reason}`),
      rememberContentFailure: () => calls.push('rememberContentFailure'),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { sessionId: 's1', seq: 1, source: { kind: 'id', value: ID }, params: {}, key: `id:${ID}`, firstPlayer: 'p1', lingerMs: 10_000, ...input },
  });
  actor.start();
  const state = () => stateName(actor.getSnapshot().value);
  /** Lets the promise actors answer. */
  const settle = () => new Promise((r) => setImmediate(r));
  const advance = async (ms: number) => {
    clock.increment(ms);
    await settle();
  };
  return { clock, calls, script, actor, state, settle, advance, context: () => actor.getSnapshot().context };
}

describe('session machine', () => {
  test('engine → start → live → last player leaves → linger → stop → stopped, announcing both ends', async () => {
    const w = world();
    expect(w.state()).toBe('acquiring.choosing');
    w.script.start.push({ ok: { engineSession: playback('pid1'), streamId: 'st1' } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    await w.settle();
    expect(w.state()).toBe('running.connecting');
    expect(sessionPhase(w.actor.getSnapshot()).kind).toBe('starting');
    w.actor.send({ type: 'UPSTREAM_SYNCED' });
    expect(w.state()).toBe('running.streaming');
    expect(sessionPhase(w.actor.getSnapshot()).kind).toBe('live');
    w.actor.send({ type: 'PLAYER_LEFT', playerId: 'p1' });
    expect(w.state()).toBe('running.lingering');
    await w.advance(9_999);
    expect(w.state()).toBe('running.lingering');
    await w.advance(1);
    expect(w.state()).toBe('stopped');
    expect(w.calls).toEqual(['start:ok', 'announceStarted:st1', 'activateSlot', 'stop', 'announceEnded:client_left', 'releaseSlot']);
  });

  test('a player joining during the linger keeps the session live', async () => {
    const w = world({ lingerMs: 5_000 });
    w.script.start.push({ ok: { engineSession: playback('pid1'), streamId: 'st1' } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    await w.settle();
    w.actor.send({ type: 'UPSTREAM_SYNCED' });
    w.actor.send({ type: 'PLAYER_LEFT', playerId: 'p1' });
    await w.advance(4_000);
    w.actor.send({ type: 'PLAYER_JOINED', playerId: 'p2' });
    await w.advance(60_000);
    expect(w.state()).toBe('running.streaming');
    expect(w.context().players).toEqual(['p2']);
  });

  // Before an engine session exists nothing needs stopping: leaving or a shutdown cancels.
  const beforeAnEngineSession: Array<[string, (w: ReturnType<typeof world>) => Promise<void>]> = [
    ['acquiring.waiting', async (w) => w.actor.send({ type: 'BROKER_WAIT', wait: { reason: 'vpn', etaSeconds: 60 } })],
    ['provisioning', async (w) => w.actor.send({ type: 'BROKER_PROVISION', probe: false })],
    [
      'engine_backoff',
      async (w) => {
        w.script.provision.push({ ok: { engine: engine('pe1'), pid: 'pid1' } });
        w.script.probe.push({ error: { message: 'refused' } });
        w.actor.send({ type: 'BROKER_PROVISION', probe: false });
        await w.settle();
        await w.settle();
      },
    ],
    [
      'start_backoff',
      async (w) => {
        w.script.start.push({ error: { message: 'refused' } });
        w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
        await w.settle();
      },
    ],
  ];
  for (const [where, reach] of beforeAnEngineSession) {
    test(`in ${where}, the last player leaving or a shutdown cancels: nothing announced, the slot released`, async () => {
      for (const ending of [{ type: 'PLAYER_LEFT', playerId: 'p1' } as const, { type: 'SHUTDOWN' } as const]) {
        const w = world();
        await reach(w);
        expect(w.state()).toBe(where);
        w.actor.send(ending);
        expect(w.state()).toBe('cancelled');
        expect(w.calls.filter((c) => c.startsWith('announce'))).toEqual([]);
        expect(w.calls.at(-1)).toBe('releaseSlot');
      }
    });
  }

  test('a start that keeps failing: retried once on the same engine, then each engine excluded in turn, then failed after 3', async () => {
    const w = world();
    for (let i = 0; i < 6; i++) w.script.start.push({ error: { message: `refused ${i}` } });
    for (const id of ['e1', 'e2', 'e3']) {
      w.actor.send({ type: 'BROKER_ENGINE', engine: engine(id), pid: `pid-${id}` });
      await w.settle();
      expect(w.state()).toBe('start_backoff');
      await w.advance(START_RETRY_BACKOFF_MS);
      if (id !== 'e3') {
        expect(w.state()).toBe('acquiring.choosing');
        expect(w.context().engine).toBeNull();
      }
    }
    expect(w.state()).toBe('failed');
    expect(w.context().exclude).toEqual(['e1', 'e2']);
    expect(w.context().failure).toEqual({ code: 'engine_failed', message: 'refused 5' });
    expect(w.calls.filter((c) => c.startsWith('reportEngineFailure'))).toEqual(['reportEngineFailure:e1', 'reportEngineFailure:e2']);
    expect(w.calls.slice(-2)).toEqual(['announceEnded:start_failed', 'releaseSlot']);
  });

  test('content the engine cannot load fails at once and is remembered', async () => {
    const w = world();
    w.script.start.push({ error: { message: 'failed to load content', content: true } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    await w.settle();
    expect(w.state()).toBe('failed');
    expect(w.context().failure?.code).toBe('content_unavailable');
    expect(w.calls).toContain('rememberContentFailure');
  });

  test('a provisioning failure: "wait" goes back to the queue, an API key refusal and anything else fail', async () => {
    const cases: Array<[Answer<ProvisionOutput>, string, string | null]> = [
      [{ error: { message: 'vpn down', wait: true } }, 'acquiring.choosing', null],
      [{ error: { message: 'invalid token', auth: true } }, 'failed', 'orchestrator_auth'],
      [{ error: { message: 'general_error' } }, 'failed', 'provisioning_failed'],
    ];
    for (const [result, state, code] of cases) {
      const w = world();
      w.script.provision.push(result);
      w.actor.send({ type: 'BROKER_PROVISION', probe: false });
      await w.settle();
      expect(w.state()).toBe(state);
      expect(w.context().failure?.code ?? null).toBe(code);
    }
  });

  test('a provisioned engine that does not answer is probed with backoff 1, 2, 4, 8 s, then given up for another', async () => {
    const w = world();
    w.script.provision.push({ ok: { engine: engine('pe1'), pid: 'pid1' } });
    for (let i = 0; i < 5; i++) w.script.probe.push({ error: { message: 'refused' } });
    w.actor.send({ type: 'BROKER_PROVISION', probe: false });
    await w.settle();
    await w.settle();
    for (const ms of ENGINE_READY_BACKOFF_MS) {
      expect(w.state()).toBe('engine_backoff');
      await w.advance(ms - 1);
      expect(w.state()).toBe('engine_backoff');
      await w.advance(1);
      await w.settle();
    }
    expect(w.state()).toBe('acquiring.choosing');
    expect(w.context().exclude).toEqual(['pe1']);
    expect(w.context().lastProblem).toBe('engine never answered after provisioning');
    expect(sessionPhase(w.actor.getSnapshot()).kind).toBe('slow');
  });

  test('the upstream fails with players attached: failover announced, the same engine again, then another', async () => {
    const w = world();
    w.script.start.push({ ok: { engineSession: playback('pid1'), streamId: 'st1' } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    await w.settle();
    w.actor.send({ type: 'UPSTREAM_SYNCED' });
    w.script.start.push({ ok: { engineSession: playback('pid1'), streamId: 'st2' } });
    w.actor.send({ type: 'UPSTREAM_FAILED', code: 'ENGINE_EOF', message: 'the engine ended the stream' });
    expect(sessionPhase(w.actor.getSnapshot()).kind).toBe('recovering');
    await w.settle();
    await w.settle();
    expect(w.state()).toBe('running.connecting');
    expect(w.context().engine?.containerId).toBe('e1');
    // Failed again before any sync: this engine is left for another.
    w.actor.send({ type: 'UPSTREAM_FAILED', code: 'ENGINE_NO_SYNC', message: 'no sync' });
    await w.settle();
    expect(w.state()).toBe('acquiring.choosing');
    expect(w.context().exclude).toEqual(['e1']);
    expect(w.context().failovers).toBe(2);
    expect(w.calls.filter((c) => c.startsWith('announce'))).toEqual(['announceStarted:st1', 'announceEnded:failover', 'announceStarted:st2', 'announceEnded:failover']);
  });

  test('a crowded engine (ENGINE_CROWDED): with players the session leaves it as a failover — its engine session stopped, the engine excluded but not reported as failed, players kept; without players it stops', async () => {
    const w = world();
    w.script.start.push({ ok: { engineSession: playback('pid1'), streamId: 'st1' } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    await w.settle();
    w.actor.send({ type: 'UPSTREAM_SYNCED' });
    w.actor.send({ type: 'ENGINE_CROWDED' });
    expect(sessionPhase(w.actor.getSnapshot()).kind).toBe('recovering');
    await w.settle();
    // Another engine, even though the same one would be retried after a failure.
    expect(w.state()).toBe('acquiring.choosing');
    expect(w.context().exclude).toEqual(['e1']);
    expect(w.context().players).toEqual(['p1']);
    expect(w.context().leavingEngine).toBe(false);
    expect(sessionPhase(w.actor.getSnapshot()).kind).toBe('recovering');
    w.script.start.push({ ok: { engineSession: playback('pid2'), streamId: 'st2' } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e2'), pid: 'pid2' });
    await w.settle();
    w.actor.send({ type: 'UPSTREAM_SYNCED' });
    expect(w.state()).toBe('running.streaming');
    expect(w.calls).toEqual(['start:ok', 'announceStarted:st1', 'activateSlot', 'announceEnded:failover', 'stop', 'start:ok', 'announceStarted:st2', 'activateSlot']);

    // Lingering (no players): nothing to move, it stops now.
    w.actor.send({ type: 'PLAYER_LEFT', playerId: 'p1' });
    expect(w.state()).toBe('running.lingering');
    w.actor.send({ type: 'ENGINE_CROWDED' });
    await w.settle();
    expect(w.state()).toBe('stopped');
    expect(w.calls.slice(-3)).toEqual(['stop', 'announceEnded:client_left', 'releaseSlot']);
  });

  test('ENGINE_CROWDED outside `running` changes nothing (a start in flight is judged when it is listed)', async () => {
    const w = world();
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    await w.settle();
    expect(w.state()).toBe('starting');
    w.actor.send({ type: 'ENGINE_CROWDED' });
    expect(w.state()).toBe('starting');
    expect(w.context().leavingEngine).toBe(false);
  });

  test('a shutdown while a start is in flight stops the engine session it then gets', async () => {
    const w = world();
    w.script.start.push({ ok: { engineSession: playback('pid1'), streamId: 'st1' } });
    w.actor.send({ type: 'BROKER_ENGINE', engine: engine('e1'), pid: 'pid1' });
    w.actor.send({ type: 'SHUTDOWN' });
    await w.settle();
    expect(w.state()).toBe('stopped');
    expect(w.context().endReason).toBe('shutdown');
    // Never announced started: its stream id was never taken, so the end has nothing to name.
    expect(w.calls).toEqual(['start:ok', 'stop', 'announceEnded:shutdown', 'releaseSlot']);
    expect(w.context().streamId).toBeNull();
  });
});
