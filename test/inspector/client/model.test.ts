/** The page's pure rules: StateValue → diagram ids, state at a replay step, the edge taken. */
import { describe, expect, it } from 'vitest';
import { activeIds, actorsAt, eventName, previousOf, statePaths, summarize, takenEdges, type Entry, type StateValue } from '../../../src/inspector/client/model.ts';
import { machineGraph } from '../../../src/inspector/diagram/machine-graph.ts';
import { sessionMachine } from '../../../src/machines/session.machine.ts';
import { playerMachine } from '../../../src/machines/player.machine.ts';

let seq = 0;
function entry(actor: string, machine: Entry['machine'], value: StateValue, event: string | null): Entry {
  return {
    seq: ++seq,
    t: 1000 + seq,
    actor,
    machine,
    session: 's-1',
    type: event === null ? 'created' : 'event',
    event: event === null ? null : { type: event },
    state: typeof value === 'string' ? value : JSON.stringify(value),
    value,
    status: 'active',
    facts: {},
  };
}

describe('statePaths / activeIds', () => {
  it('maps atomic, nested and parallel values to state paths, ancestors first', () => {
    expect(statePaths('stopped')).toEqual(['stopped']);
    expect(statePaths({ running: 'streaming' })).toEqual(['running', 'running.streaming']);
    expect(statePaths({ busy: { left: 'a', right: { inner: 'x' } } })).toEqual(['busy', 'busy.left', 'busy.left.a', 'busy.right', 'busy.right.inner', 'busy.right.inner.x']);
    expect(activeIds('client', { held: 'waiting_vpn' })).toEqual(['client', 'client.held', 'client.held.waiting_vpn']);
  });

  it('every id it produces for a real value exists in the generated graph', () => {
    const g = machineGraph(playerMachine);
    const ids = new Set(g.states.map((s) => s.id));
    for (const v of ['requesting', { held: 'waiting_vpn' }, { held: 'queued_capacity' }, 'streaming', 'ended'] as StateValue[]) {
      for (const id of activeIds(g.machine, v)) expect(ids.has(id), id).toBe(true);
    }
  });
});

describe('replay', () => {
  const s = 's-1';
  const entries = [
    entry(s, 'session', { acquiring: 'choosing' }, null),
    entry(s, 'session', 'starting', 'BROKER_ENGINE'),
    entry('p-1', 'player', 'requesting', null),
    entry(s, 'session', { running: 'connecting' }, 'xstate.done.actor.0.session.starting'),
    entry(s, 'session', { running: 'streaming' }, 'UPSTREAM_SYNCED'),
    entry('p-1', 'player', 'streaming', 'SESSION_PHASE'),
    entry(s, 'session', { running: 'lingering' }, 'PLAYER_LEFT'),
    entry(s, 'session', 'stopping', 'xstate.after.linger.session.running.lingering'),
  ];

  it('knows each actor state at a step', () => {
    const at = actorsAt(entries, 3);
    expect(at.get(s)?.value).toEqual({ running: 'connecting' });
    expect(at.get('p-1')?.value).toBe('requesting');
    expect(actorsAt(entries, 1).has('p-1')).toBe(false);
    expect(previousOf(entries, 5)?.value).toBe('requesting');
    expect(previousOf(entries, 0)).toBeNull();
  });

  it('finds the edge a step took, also for eventless (always) transitions', () => {
    const g = machineGraph(sessionMachine);
    const took = (i: number) => takenEdges(g, previousOf(entries, i)?.value ?? null, entries[i]!);
    expect(took(0)).toEqual([]);
    expect(took(1)).toEqual(['session.acquiring->session.starting']);
    expect(took(3)).toEqual(['session.starting->session.running']);
    expect(took(4)).toEqual(['session.running.connecting->session.running.streaming']);
    // PLAYER_LEFT only changes context; the `always [noPlayers]` edge moved the state.
    expect(took(6)).toEqual(['session.running.streaming->session.running.lingering']);
    expect(took(7)).toEqual(['session.running.lingering->session.stopping']);
  });

  it('names events for the timeline', () => {
    const g = machineGraph(sessionMachine);
    expect(eventName('xstate.after.linger.session.running.lingering', g.eventLabels)).toBe('after linger');
    expect(eventName('BROKER_ENGINE', g.eventLabels)).toBe('BROKER_ENGINE');
    expect(eventName(undefined, g.eventLabels)).toBe('created');
    expect(summarize({ type: 'SESSION_PHASE', phase: { kind: 'waiting', wait: { reason: 'vpn', etaSeconds: 60 } }, queueRoom: true })).toBe(
      'phase.kind=waiting phase.wait.reason=vpn phase.wait.etaSeconds=60 queueRoom=true',
    );
  });
});
