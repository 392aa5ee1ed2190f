/**
 * A journal written by another version of the session machine (one whose states are named
 * otherwise) is not replayed, which would lose what ran: its sessions are recovered from the
 * facts they recorded for that purpose. Real engine sessions and a real stream id on the
 * simulator; the journal as that version would have left it at a kill -9.
 */
import { afterEach, expect, test } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.ts';
import { Journal } from '../../src/adapters/journal/journal.ts';
import { EngineClient } from '../../src/adapters/engine/client.ts';
import { OrchestratorClient } from '../../src/adapters/orchestrator/client.ts';
import { loadConfig } from '../../src/config.ts';
import { createAcerelay, type Acerelay } from '../../src/runtime.ts';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { MACHINE_VERSIONS } from '../../src/machines/versions.ts';
import type { JournalEntry, RecoveryFacts } from '../../src/domain/journal.ts';
import type { Source } from '../../src/domain/stream.ts';
import { CONTENT, SCALED_ENV, eventually, tempDataDir } from '../support/stack.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A version of the session machine this one is not: its entries must not be replayed. */
const OTHER_VERSION = MACHINE_VERSIONS.session + 1;

let seq = 0;
function entry(actor: string, machine: 'session' | 'player', session: string, state: string, value: JournalEntry['value'], facts: Record<string, unknown>, created = false): JournalEntry {
  return {
    seq: ++seq,
    t: Date.now(),
    actor,
    machine,
    session,
    type: created ? 'created' : 'event',
    // Events and input as that version had them: nothing this machine knows.
    event: created ? null : { type: 'ENGINE_READY' },
    ...(created ? { input: { id: actor, wanted: 'whatever that version took' } } : {}),
    state,
    value,
    status: 'active',
    facts,
  };
}

function recovery(over: Partial<RecoveryFacts>): RecoveryFacts {
  return { container_id: null, engine_base: null, managed: false, pid: null, command_url: null, stream_id: null, start_in_flight: null, ...over };
}

test('sessions journaled by a machine with renamed states are recovered from their facts: every stream ended, every engine session stopped', async () => {
  const sim: Simulator = await startSimulator({ port: 0, minReplicas: 2, maxReplicas: 2, startDelayMs: 20, provisionDelayMs: 50, engineReadyDelayMs: 0 });
  closers.push(() => sim.close());
  const [e1, e2] = sim.state().engines;
  const base = (e: typeof e1) => `http://${e!.host}:${e!.port}`;
  const engines = new EngineClient({ noResponseTimeoutMs: 3_000, emptyTimeoutMs: 3_000 });
  const orchestrator = new OrchestratorClient({ baseUrl: sim.url, readTimeoutMs: 3_000 });
  closers.push(() => engines.close(), () => orchestrator.close());

  // Session A was playing on e1, its stream announced and accepted.
  const sourceA: Source = { kind: 'id', value: CONTENT[0]! };
  const playing = await engines.start(base(e1), { source: sourceA, pid: 'pid-a' });
  const streamId = 'acerelay-of-an-older-run';
  const started = {
    containerId: e1!.container_id,
    engine: { host: e1!.host, port: e1!.port },
    stream: { keyType: 'content_id' as const, key: sourceA.value },
    session: { playbackSessionId: playing.playbackSessionId, statUrl: playing.statUrl, commandUrl: playing.commandUrl, isLive: true },
    streamId,
  };
  await orchestrator.streamStarted(started);
  // Session B's start was on the wire at the kill: the engine has it, the journal has no answer.
  const sourceB: Source = { kind: 'id', value: CONTENT[1]! };
  await engines.start(base(e2), { source: sourceB, pid: 'pid-b' });
  expect(sim.state().engines.flatMap((e) => e.sessions).filter((s) => s.stopped_at === null)).toHaveLength(2);

  // The journal that version left: state values today's session machine does not have.
  const dir = tempDataDir();
  const old = Journal.open({ dir, clock: systemClock, logger: silentLogger }).journal;
  const stamp = { machine_version: OTHER_VERSION };
  old.append(entry('s-a', 'session', 's-a', 'finding', 'finding', { ...stamp, recovery: recovery({}) }, true));
  old.append(
    entry('s-a', 'session', 's-a', 'live.watching', { live: 'watching' }, {
      recovery: recovery({ container_id: e1!.container_id, engine_base: base(e1), managed: true, pid: 'pid-a', command_url: playing.commandUrl, stream_id: streamId }),
    }),
    [{ streamId, type: 'stream_started', containerId: e1!.container_id, payload: started }],
  );
  old.append(entry('p-a', 'player', 's-a', 'watching', 'watching', { machine_version: OTHER_VERSION }, true));
  old.append(entry('s-b', 'session', 's-b', 'finding', 'finding', { ...stamp, recovery: recovery({}) }, true));
  old.append(
    entry('s-b', 'session', 's-b', 'launching', 'launching', {
      recovery: recovery({ container_id: e2!.container_id, engine_base: base(e2), managed: true, pid: 'pid-b', start_in_flight: sourceB }),
    }),
  );
  old.flush();
  old.settle(streamId, 'stream_started', 'delivered');
  old.abandon();

  // The next run: this version of acerelay on that journal.
  const { config } = loadConfig([], { ...SCALED_ENV, ACERELAY_ORCH_URL: sim.url, ACERELAY_DATA_DIR: dir });
  const acerelay: Acerelay = await createAcerelay(config, { logger: silentLogger });
  closers.push(() => acerelay.close());
  expect(acerelay.recovery).toMatchObject({ sessions: 2, players: 1, ends: 1, fromFacts: 2 });

  await eventually(() => sim.state().engines.flatMap((e) => e.sessions).every((s) => s.stopped_at !== null), 10_000);
  const sessions = sim.state().engines.flatMap((e) => e.sessions);
  // A's own session, B's (cut by the replacing start) and the replacement, stopped.
  expect(sessions.filter((s) => s.pid === 'pid-a')).toHaveLength(1);
  expect(sessions.filter((s) => s.pid === 'pid-b').length).toBeGreaterThanOrEqual(2);
  expect(sessions.find((s) => s.pid === 'pid-a')!.stop_calls).toBe(1);
  await eventually(() => sim.state().streams.find((s) => s.id === streamId)?.status === 'ended', 10_000);
  const ends = sim.state().events.filter((e) => e.type === 'stream_ended');
  expect(ends.map((e) => [e.stream_id, e.http_status])).toEqual([[streamId, 200]]);
  // Nothing of the old run is left active in the journal.
  expect(acerelay.journal.unfinishedActors()).toEqual([]);
}, 60_000);
