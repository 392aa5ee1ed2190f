/**
 * The player machine's hands: watching its session (the session's phase as SESSION_PHASE
 * events) and the player's socket (PlayerIO), provided per player.
 */
import { fromCallback, type ActorRefFrom } from 'xstate';
import { phaseEquals, sessionPhase, type sessionMachine, type SessionSnapshot } from '../machines/session.machine.ts';
import { playerMachine } from '../machines/player.machine.ts';
import type { SessionPhase } from '../domain/session.ts';
import type { Channel } from '../fanout/channel.ts';
import type { PlayerIO } from './player-io.ts';

/** The session a player watches: its actor, and the channel its bytes come from. */
export interface WatchedSession {
  actor: ActorRefFrom<typeof sessionMachine>;
  channel: Channel;
}

/**
 * The player machine with its hands. `queueRoom` says whether the held-player queue has room
 * when a phase is sent (it goes in the event, so a replay decides alike).
 */
export function providePlayer(session: WatchedSession, playerId: string, io: PlayerIO, queueRoom: () => boolean) {
  return playerMachine.provide({
    actors: {
      watchSession: fromCallback(({ sendBack }) => watchSession(session, playerId, (phase) => sendBack({ type: 'SESSION_PHASE', phase, queueRoom: queueRoom() }))),
    },
    actions: {
      hold: () => io.hold(),
      unhold: () => io.unhold(),
      attachStream: () => io.attach(session.channel),
      finish: ({ context }) => io.finish(context.outcome ?? 'disconnected', context.error),
    },
  });
}

/** Joins the session, forwards its phase to the player, leaves on cleanup. */
function watchSession(session: WatchedSession, playerId: string, onPhase: (phase: SessionPhase) => void): () => void {
  const actor = session.actor;
  let last: SessionPhase | null = null;
  const forward = (snap: SessionSnapshot) => {
    const phase = sessionPhase(snap);
    if (phaseEquals(last, phase)) return;
    last = phase;
    onPhase(phase);
  };
  if (actor.getSnapshot().status === 'active') actor.send({ type: 'PLAYER_JOINED', playerId });
  const sub = actor.subscribe({ next: forward, complete: () => forward(actor.getSnapshot()) });
  forward(actor.getSnapshot());
  return () => {
    sub.unsubscribe();
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'PLAYER_LEFT', playerId });
  };
}
