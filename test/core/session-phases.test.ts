/**
 * A session's phase is worked out once for all its players (src/core/session-phases.ts):
 * players are told of a change of phase, once each, and of nothing else — a player joining
 * or leaving is a session snapshot but no news to the others.
 */
import { describe, expect, test } from 'vitest';
import { createActor, createMachine, type ActorRefFrom } from 'xstate';
import { PureWorld } from '../support/pure-world.ts';
import type { SessionPhase } from '../../src/domain/session.ts';
import { SessionPhases } from '../../src/core/session-phases.ts';
import type { sessionMachine } from '../../src/machines/session.machine.ts';

const ID = 'a'.repeat(40);

describe('session phases', () => {
  test('joins and leaves tell no one; each change of phase is told once to each listener, the final one too', async () => {
    const w = new PureWorld();
    const first = w.player(`id=${ID}`);
    await w.advance(1_000);
    const session = w.registry.listSessions()[0]!;
    expect(session.phases.phase.kind).toBe('live');
    const told: string[][] = [[], [], []];
    const stops = told.map((list, i) =>
      session.phases.listen((phase: SessionPhase) => {
        list.push(phase.kind);
        // The first listener leaves on the first news: the others must still hear it.
        if (i === 0) stops[0]!();
      }),
    );
    const crowd = Array.from({ length: 20 }, () => w.player(`id=${ID}`));
    await w.advance(1_000);
    for (const p of crowd) expect(w.state(p)).toBe('streaming');
    for (const p of crowd.slice(0, 10)) w.disconnect(p);
    await w.advance(1_000);
    expect(told).toEqual([[], [], []]);
    // The upstream fails: the channel recovers (a change), then plays again (another).
    w.failUpstream(session.id);
    await w.advance(30_000);
    expect(told[0]).toEqual(['recovering']);
    expect(told[1]).toEqual(['recovering', 'live']);
    expect(told[2]).toEqual(told[1]);
    expect(w.state(first)).toBe('streaming');
    // Everyone leaves; after the linger the session stops (ended from its stopping snapshot on).
    for (const p of [first, ...crowd.slice(10)]) w.disconnect(p);
    await w.advance(60_000);
    expect(w.registry.listSessions()).toEqual([]);
    expect(told[1]).toEqual(['recovering', 'live', 'ended']);
    expect(told[2]).toEqual(told[1]);
  });

  test('a session actor stopped from outside (no snapshot after it) tells its listeners it ended', async () => {
    const w = new PureWorld();
    w.player(`id=${ID}`);
    await w.advance(1_000);
    const session = w.registry.listSessions()[0]!;
    const told: string[] = [];
    session.phases.listen((phase) => told.push(phase.kind));
    // stop() ends the actor with `complete` and no `next`: only the complete handler hears it.
    session.actor.stop();
    expect(told).toEqual(['ended']);
  });

  test('a session actor that fails (a bug in it) tells its players the session ended', () => {
    // Not the session machine, which has no way to fail by design: a machine whose action throws.
    const broken = createMachine({ id: 'broken', on: { BOOM: { actions: () => { throw new Error('a bug'); } } } });
    const actor = createActor(broken) as unknown as ActorRefFrom<typeof sessionMachine>;
    const phases = new SessionPhases(actor);
    const told: string[] = [];
    phases.listen((phase) => told.push(phase.kind));
    actor.start();
    (actor as unknown as { send(e: { type: string }): void }).send({ type: 'BOOM' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(told).toEqual(['ended']);
  });
});
