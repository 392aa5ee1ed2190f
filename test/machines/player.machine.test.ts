/**
 * The player machine alone: its session is a stub that sends nothing (the test sends the
 * phases), its socket actions are recorded, HOLD_MAX runs on XState's SimulatedClock. Hold or
 * refuse, which held state for which wait, admission, abort — decided by the machine alone.
 */
import { describe, expect, test } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { playerMachine } from '../../src/machines/player.machine.ts';
import { stateName } from '../../src/machines/state-name.ts';
import type { SessionPhase, Wait, WaitReason } from '../../src/domain/session.ts';

const HOLD_MAX_MS = 60_000;

function world() {
  const clock = new SimulatedClock();
  const io: string[] = [];
  const machine = playerMachine.provide({
    actors: { watchSession: fromCallback(() => () => {}) },
    actions: {
      hold: () => io.push('hold'),
      unhold: () => io.push('unhold'),
      attachStream: () => io.push('attach'),
      finish: ({ context }) => io.push(`finish:${context.outcome}`),
    },
  });
  const actor = createActor(machine, { clock, input: { playerId: 'p1', sessionId: 's1', holdMaxMs: HOLD_MAX_MS } });
  actor.start();
  const phase = (p: SessionPhase, queueRoom = true) => actor.send({ type: 'SESSION_PHASE', phase: p, queueRoom });
  const wait = (reason: WaitReason, etaSeconds: number | null): SessionPhase => ({ kind: 'waiting', wait: { reason, etaSeconds } as Wait });
  return { clock, io, actor, phase, wait, state: () => stateName(actor.getSnapshot().value), context: () => actor.getSnapshot().context };
}

describe('player machine', () => {
  test('live at once: streams; goes away: ended, disconnected', () => {
    const w = world();
    expect(w.state()).toBe('requesting');
    w.phase({ kind: 'live' });
    expect(w.state()).toBe('streaming');
    w.actor.send({ type: 'DISCONNECTED' });
    expect(w.state()).toBe('ended');
    expect(w.io).toEqual(['attach', 'finish:disconnected']);
  });

  const held: Array<[SessionPhase | WaitReason, string]> = [
    ['vpn', 'waiting_vpn'],
    ['circuit', 'circuit_wait'],
    ['capacity', 'queued_capacity'],
    ['provisioning', 'queued_capacity'],
    ['orchestrator', 'waiting_orchestrator'],
    [{ kind: 'slow' }, 'waiting_engine'],
  ];
  for (const [why, name] of held) {
    test(`held for ${typeof why === 'string' ? `a ${why} wait` : 'a slow start'}: ${name}, then admitted when live`, () => {
      const w = world();
      w.phase(typeof why === 'string' ? w.wait(why, 30) : why);
      expect(w.state()).toBe(name);
      w.phase({ kind: 'live' });
      expect(w.state()).toBe('streaming');
      expect(w.io).toEqual(['hold', 'unhold', 'attach']);
    });
  }

  test('a held player follows the wait: vpn → circuit → capacity, and is never refused once held', () => {
    const w = world();
    w.phase(w.wait('vpn', 60));
    w.phase(w.wait('circuit', 3_600));
    expect(w.state()).toBe('circuit_wait');
    w.phase(w.wait('capacity', null), false);
    expect(w.state()).toBe('queued_capacity');
    expect(w.context().outcome).toBeNull();
  });

  test('an ETA beyond HOLD_MAX is refused before any byte: 503 code for the reason, Retry-After the ETA', () => {
    const w = world();
    w.phase(w.wait('circuit', 600));
    expect(w.state()).toBe('ended');
    expect(w.context().outcome).toBe('refused');
    expect(w.context().error).toMatchObject({ code: 'circuit_open', retryAfter: 600 });
    expect(w.io).toEqual(['finish:refused']);
  });

  test('a wait within HOLD_MAX with the queue full is refused queue_full', () => {
    const w = world();
    w.phase(w.wait('capacity', null), false);
    expect(w.context().error).toMatchObject({ code: 'queue_full', retryAfter: 30 });
  });

  test('held until HOLD_MAX: aborted (a reset, no error answer)', () => {
    const w = world();
    w.phase(w.wait('vpn', 60));
    w.clock.increment(HOLD_MAX_MS - 1);
    expect(w.state()).toBe('waiting_vpn');
    w.clock.increment(1);
    expect(w.state()).toBe('ended');
    expect(w.context()).toMatchObject({ outcome: 'aborted', error: null });
    expect(w.io).toEqual(['hold', 'unhold', 'finish:aborted']);
  });

  test('a stream that recovers within HOLD_MAX goes on; one that does not is aborted', () => {
    const w = world();
    w.phase({ kind: 'live' });
    w.phase({ kind: 'recovering' });
    expect(w.state()).toBe('recovering');
    w.clock.increment(HOLD_MAX_MS / 2);
    w.phase({ kind: 'live' });
    expect(w.state()).toBe('streaming');
    w.phase({ kind: 'recovering' });
    w.clock.increment(HOLD_MAX_MS);
    expect(w.context().outcome).toBe('aborted');
    expect(w.io).toEqual(['attach', 'hold', 'unhold', 'attach', 'hold', 'unhold', 'finish:aborted']);
  });

  test('the session failing ends the player with its failure', () => {
    const w = world();
    w.phase({ kind: 'failed', failure: { code: 'content_unavailable', message: 'failed to load content' } });
    expect(w.context()).toMatchObject({ outcome: 'failed', error: { code: 'content_unavailable', retryAfter: null } });
  });

  test('dropped (slow, half-open) and shutdown end it with that outcome', () => {
    for (const [event, outcome] of [
      [{ type: 'DROPPED', reason: 'slow' }, 'dropped'],
      [{ type: 'SHUTDOWN' }, 'shutdown'],
    ] as const) {
      const w = world();
      w.phase({ kind: 'live' });
      w.actor.send(event);
      expect(w.context().outcome).toBe(outcome);
    }
  });
});
