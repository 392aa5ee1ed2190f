/**
 * A session's phase as its players see it (live, waiting, slow, failed…), worked out once
 * per session snapshot and passed to the players only when it changed. Each player used to
 * subscribe to the session actor and work the phase out for itself on every snapshot: a
 * join is a snapshot (PLAYER_JOINED), so with n players on a channel each join cost n phase
 * computations, and 1000 players joining spent over a second of CPU on it alone.
 */
import type { ActorRefFrom } from 'xstate';
import { phaseEquals, sessionPhase, type sessionMachine } from '../machines/session.machine.ts';
import type { SessionPhase } from '../domain/session.ts';

export type PhaseListener = (phase: SessionPhase) => void;

export class SessionPhases {
  private current: SessionPhase;
  private readonly listeners = new Set<PhaseListener>();

  constructor(actor: ActorRefFrom<typeof sessionMachine>) {
    this.current = sessionPhase(actor.getSnapshot());
    actor.subscribe({
      next: (snap) => this.update(sessionPhase(snap)),
      // A session stopped from outside (stop(): shutdown) completes with no snapshot after
      // it. One that failed (a bug in it) errors: it is not active, so its players are told it
      // ended. Before this observer had an error handler, players' own observers had none,
      // and XState reported the error as uncaught: the process crashed.
      complete: () => this.update(sessionPhase(actor.getSnapshot())),
      error: () => this.update(sessionPhase(actor.getSnapshot())),
    });
  }

  /** The phase of the session's latest snapshot. */
  get phase(): SessionPhase {
    return this.current;
  }

  /** Calls `listener` with each new phase from now on; returns what stops that. */
  listen(listener: PhaseListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(phase: SessionPhase): void {
    if (phaseEquals(this.current, phase)) return;
    this.current = phase;
    // A Set may lose members while iterated: a player that ends on this phase stops listening
    // while the others are being told, and they still are.
    for (const listener of this.listeners) listener(phase);
  }
}
