/**
 * Event sourcing's other half: a machine's state rebuilt from its journal entries. The
 * recorded input starts the machine; every recorded event (results of invoked actors and
 * delays included) is sent again; actors never run and time never moves, so the state that
 * comes out is the one the events led to.
 */
import { createActor, fromCallback, fromPromise, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import { ManualClock } from '../clock.ts';
import { sessionMachine } from '../machines/session.machine.ts';
import { playerMachine } from '../machines/player.machine.ts';
import type { JournalEntry } from '../domain/journal.ts';
import { sessionGuards } from './session-guards.ts';

const never = fromPromise<never, unknown>(() => new Promise<never>(() => {}));
const idle = fromCallback(() => () => {});

const replayableSession = sessionMachine.provide({
  guards: sessionGuards,
  actors: { acquire: idle, provision: never, probeEngine: never, startEngine: never, readUpstream: idle, stopEngine: never } as never,
});

const replayablePlayer = playerMachine.provide({ actors: { watchSession: idle } as never });

function replay<M extends AnyStateMachine>(machine: M, entries: JournalEntry[]): SnapshotFrom<M> | null {
  const created = entries.find((e) => e.type === 'created');
  if (!created || created.input === undefined) return null;
  // The machine is known only as AnyStateMachine here; input and events come from its own journal.
  const actor = createActor(machine as AnyStateMachine, { input: created.input, clock: new ManualClock(0) } as never);
  actor.start();
  for (const entry of entries) {
    if (entry.seq <= created.seq || entry.type !== 'event' || !entry.event || entry.actor !== created.actor) continue;
    if (actor.getSnapshot().status !== 'active') break;
    actor.send(entry.event as never);
  }
  const snapshot = actor.getSnapshot() as SnapshotFrom<M>;
  actor.stop();
  return snapshot;
}

export function replaySession(entries: JournalEntry[]) {
  return replay(replayableSession, entries);
}

export function replayPlayer(entries: JournalEntry[]) {
  return replay(replayablePlayer, entries);
}
