/**
 * The player machine's hands: watching its session (the session's phase as SESSION_PHASE
 * events) and the player's socket (PlayerIO).
 */
import { fromCallback, type ActorRefFrom } from 'xstate';
import { phaseEquals, type sessionMachine } from '../machines/session.machine.ts';
import { playerMachine, type PlayerEvent } from '../machines/player.machine.ts';
import type { SessionPhase } from '../domain/session.ts';
import type { Channel } from '../fanout/channel.ts';
import type { PlayerIO } from './player-io.ts';
import type { SessionPhases } from './session-phases.ts';

/** The session a player watches: its actor, its phase, and the channel its bytes come from. */
export interface WatchedSession {
  actor: ActorRefFrom<typeof sessionMachine>;
  phases: SessionPhases;
  channel: Channel;
}

/** What one player's actor acts on: the session it watches and its socket. */
export interface PlayerHands {
  session: WatchedSession;
  io: PlayerIO;
}

/**
 * The player machine with its hands, provided once for all the players of a registry:
 * `hands` finds a player's session and socket by its id. One machine for all, because
 * providing builds the machine's whole state tree again: one per player cost ~23 KiB of heap
 * per player for as long as it stayed, and ~0.2 ms of CPU per join. `queueRoom` says whether
 * the held-player queue has room when a phase is sent (it goes in the event, so a replay
 * decides alike).
 */
export function providePlayers(hands: (playerId: string) => PlayerHands | undefined, queueRoom: () => boolean) {
  const of = (playerId: string): PlayerHands => {
    const found = hands(playerId);
    // Only a registry that forgot a player before its actor stopped gets here.
    if (!found) throw new Error(`player ${playerId}: no session or socket to act on`);
    return found;
  };
  return playerMachine.provide({
    actors: {
      watchSession: fromCallback<PlayerEvent, { playerId: string; sessionId: string }>(({ sendBack, input }) =>
        watchSession(of(input.playerId).session, input.playerId, (phase) => sendBack({ type: 'SESSION_PHASE', phase, queueRoom: queueRoom() })),
      ),
    },
    actions: {
      hold: ({ context }) => of(context.playerId).io.hold(),
      unhold: ({ context }) => of(context.playerId).io.unhold(),
      attachStream: ({ context }) => {
        const { io, session } = of(context.playerId);
        io.attach(session.channel);
      },
      finish: ({ context }) => of(context.playerId).io.finish(context.outcome ?? 'disconnected', context.error),
    },
  });
}

/** Joins the session, forwards its phase to the player, leaves on cleanup. */
function watchSession(session: WatchedSession, playerId: string, onPhase: (phase: SessionPhase) => void): () => void {
  const actor = session.actor;
  // SessionPhases tells only changes, but a player that starts listening while the others are
  // being told of a phase hears it twice (from `forward` below and from that round): once is news.
  let last: SessionPhase | null = null;
  const forward = (phase: SessionPhase) => {
    if (phaseEquals(last, phase)) return;
    last = phase;
    onPhase(phase);
  };
  if (actor.getSnapshot().status === 'active') actor.send({ type: 'PLAYER_JOINED', playerId });
  const stop = session.phases.listen(forward);
  forward(session.phases.phase);
  return () => {
    stop();
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'PLAYER_LEFT', playerId });
  };
}
