/**
 * One player connection. Pure: the socket work (200 + keep-alive, attaching to the fan-out,
 * error answers, resets) is injected as actions (see `providePlayers` in
 * src/core/player-actors.ts); HOLD_MAX is a named delay on the actor's clock.
 *
 *   requesting ──live──▶ streaming ⇄ recovering
 *       │                    │            │ HOLD_MAX
 *       ├─wait, ETA ≤ HOLD_MAX, room─▶ held(waiting_vpn | circuit_wait | queued_capacity | waiting_orchestrator | waiting_engine)
 *       └─wait, otherwise ─▶ ended (refused: 503 + Retry-After, before any byte)
 *
 * The hold-or-refuse decision is made once, from the first wait the session reports; a held
 * player is never refused afterwards, only admitted or aborted (socket reset) at HOLD_MAX.
 */
import { and, assign, fromCallback, setup, type SnapshotFrom } from 'xstate';
import type { SessionPhase, Wait, WaitReason } from '../domain/session.ts';
import { retryAfterSeconds, type ErrorCode } from '../errors.ts';

export type PlayerOutcome =
  /** The player went away (or was done). */
  | 'disconnected'
  /** 503 before any byte. */
  | 'refused'
  /** An error answer before any byte (or a reset after bytes). */
  | 'failed'
  /** Held past HOLD_MAX, or lost mid-stream beyond recovery: socket reset. */
  | 'aborted'
  /** Too slow or half-open: socket reset. */
  | 'dropped'
  | 'shutdown';

export interface PlayerError {
  code: ErrorCode;
  message: string;
  retryAfter: number | null;
}

export interface PlayerInput {
  playerId: string;
  sessionId: string;
  holdMaxMs: number;
  /** `hls`: a channel's HLS audience (journal and inspector show it; the machine does not read it). */
  transport?: 'ts' | 'hls';
}

export interface PlayerContext {
  playerId: string;
  sessionId: string;
  holdMaxMs: number;
  phase: SessionPhase | null;
  outcome: PlayerOutcome | null;
  error: PlayerError | null;
  dropReason: string | null;
}

export type PlayerEvent =
  /** `queueRoom`: whether the held-player queue had room when the phase was sent (kept in the event so replay decides alike). */
  | { type: 'SESSION_PHASE'; phase: SessionPhase; queueRoom: boolean }
  | { type: 'DISCONNECTED' }
  | { type: 'DROPPED'; reason: string }
  | { type: 'SHUTDOWN' };

/** The held state a player shows for each reason it waits. */
export const HELD_STATE_FOR: Record<WaitReason, 'waiting_vpn' | 'circuit_wait' | 'queued_capacity' | 'waiting_orchestrator'> = {
  vpn: 'waiting_vpn',
  circuit: 'circuit_wait',
  capacity: 'queued_capacity',
  // Waiting for someone else's provisioning call is waiting for capacity.
  provisioning: 'queued_capacity',
  orchestrator: 'waiting_orchestrator',
};

const REFUSAL_CODE: Record<WaitReason, ErrorCode> = {
  vpn: 'vpn_disconnected',
  circuit: 'circuit_open',
  capacity: 'capacity_exhausted',
  provisioning: 'capacity_exhausted',
  orchestrator: 'orchestrator_unavailable',
};

function phaseOf(event: PlayerEvent): SessionPhase | null {
  return event.type === 'SESSION_PHASE' ? event.phase : null;
}

function waitOf(event: PlayerEvent): Wait | null {
  const phase = phaseOf(event);
  return phase?.kind === 'waiting' ? phase.wait : null;
}

/** Whether the phase asks the player to wait (held, or refused). */
function isWaitPhase(phase: SessionPhase | null): boolean {
  return phase?.kind === 'waiting' || phase?.kind === 'slow' || phase?.kind === 'recovering';
}

const REASONS = ['vpn', 'circuit', 'capacity', 'provisioning', 'orchestrator'] as const;

/** From a held state to the one for the event's wait reason (named guards: they read well in the diagram). */
const heldTargets = (prefix: string) => [
  ...REASONS.map((reason) => ({
    guard: { type: 'waitIs' as const, params: { reason } },
    target: `${prefix}${HELD_STATE_FOR[reason]}`,
  })),
  { target: `${prefix}waiting_engine` },
];

function refusalMessage(code: ErrorCode, wait: Wait | null): string {
  const eta = wait?.etaSeconds;
  const when = eta != null && eta > 0 ? ` (expected in ~${Math.ceil(eta)} s, longer than this proxy holds players)` : '';
  switch (code) {
    case 'vpn_disconnected':
      return `the VPN is down${when}`;
    case 'circuit_open':
      return `the orchestrator's provisioning circuit breaker is open${when}`;
    case 'orchestrator_unavailable':
      return 'the orchestrator cannot be reached';
    default:
      return `every engine is busy and no more can be provisioned now${when}`;
  }
}

export const playerMachine = setup({
  types: {
    context: {} as PlayerContext,
    events: {} as PlayerEvent,
    input: {} as PlayerInput,
  },
  actors: {
    /** Joins the session, forwards its phase changes as SESSION_PHASE, leaves it on stop. */
    watchSession: fromCallback<PlayerEvent, { playerId: string; sessionId: string }>(() => {
      throw new Error('player actor "watchSession" was not provided');
    }),
  },
  actions: {
    recordPhase: assign({ phase: ({ event }) => phaseOf(event) }),
    recordFailure: assign(({ event }) => {
      const phase = phaseOf(event);
      const error: PlayerError =
        phase?.kind === 'failed'
          ? { code: phase.failure.code, message: phase.failure.message, retryAfter: null }
          : { code: 'engine_failed', message: 'the stream ended', retryAfter: null };
      return { outcome: 'failed' as const, error };
    }),
    refuseWait: assign(({ event }) => {
      const wait = waitOf(event);
      const code = wait ? REFUSAL_CODE[wait.reason] : 'capacity_exhausted';
      return { outcome: 'refused' as const, error: { code, message: refusalMessage(code, wait), retryAfter: retryAfterSeconds(wait?.etaSeconds) } };
    }),
    refuseQueueFull: assign(({ event }) => {
      const wait = waitOf(event);
      return {
        outcome: 'refused' as const,
        error: { code: 'queue_full' as const, message: 'too many players are already waiting', retryAfter: retryAfterSeconds(wait?.etaSeconds) },
      };
    }),
    /** 200 + keep-alive null packets (idempotent: headers go out once). */
    hold: () => {},
    /** Stop keep-alive. */
    unhold: () => {},
    /** 200 if not sent yet, then the fan-out from the replay window. */
    attachStream: () => {},
    /** The end: an error answer, a reset, or a close, depending on outcome and what was sent. */
    finish: () => {},
  },
  guards: {
    isLive: ({ event }) => phaseOf(event)?.kind === 'live',
    isOver: ({ event }) => phaseOf(event)?.kind === 'failed' || phaseOf(event)?.kind === 'ended',
    isWait: ({ event }) => isWaitPhase(phaseOf(event)),
    etaWithinHoldMax: ({ context, event }) => {
      const eta = waitOf(event)?.etaSeconds ?? null;
      return eta === null || eta * 1000 <= context.holdMaxMs;
    },
    /** The event reports a wait for this reason. */
    waitIs: ({ event }, params: { reason: Wait['reason'] }) => waitOf(event)?.reason === params.reason,
    /** The player was held for a wait with this reason. */
    heldFor: ({ context }, params: { reason: Wait['reason'] }) => context.phase?.kind === 'waiting' && context.phase.wait.reason === params.reason,
    /** Whether the held-player queue (ACERELAY_QUEUE_MAX) had room. */
    queueHasRoom: ({ event }) => event.type === 'SESSION_PHASE' && event.queueRoom,
  },
  delays: {
    holdMax: ({ context }) => context.holdMaxMs,
  },
}).createMachine({
  // A stored name: the journal's delay events carry it (`xstate.after.holdMax.client.held`).
  id: 'client',
  context: ({ input }) => ({
    playerId: input.playerId,
    sessionId: input.sessionId,
    holdMaxMs: input.holdMaxMs,
    phase: null,
    outcome: null,
    error: null,
    dropReason: null,
  }),
  invoke: {
    src: 'watchSession',
    input: ({ context }) => ({ playerId: context.playerId, sessionId: context.sessionId }),
  },
  initial: 'requesting',
  on: {
    DISCONNECTED: { target: '.ended', actions: assign({ outcome: 'disconnected' }) },
    DROPPED: { target: '.ended', actions: assign({ outcome: 'dropped', dropReason: ({ event }) => event.reason }) },
    SHUTDOWN: { target: '.ended', actions: assign({ outcome: 'shutdown' }) },
  },
  states: {
    requesting: {
      on: {
        SESSION_PHASE: [
          { guard: 'isLive', target: 'streaming', actions: 'recordPhase' },
          { guard: 'isOver', target: 'ended', actions: ['recordPhase', 'recordFailure'] },
          {
            guard: and(['isWait', 'etaWithinHoldMax', 'queueHasRoom']),
            target: 'held',
            actions: 'recordPhase',
          },
          { guard: and(['isWait', 'etaWithinHoldMax']), target: 'ended', actions: ['recordPhase', 'refuseQueueFull'] },
          { guard: 'isWait', target: 'ended', actions: ['recordPhase', 'refuseWait'] },
          { actions: 'recordPhase' },
        ],
      },
    },
    held: {
      entry: 'hold',
      exit: 'unhold',
      after: { holdMax: { target: 'ended', actions: assign({ outcome: 'aborted', error: null }) } },
      initial: 'routing',
      states: {
        // Picks the substate for the wait that put the player here.
        routing: {
          always: [
            ...REASONS.map((reason) => ({ guard: { type: 'heldFor' as const, params: { reason } }, target: HELD_STATE_FOR[reason] })),
            { target: 'waiting_engine' },
          ],
        },
        waiting_vpn: {},
        circuit_wait: {},
        queued_capacity: {},
        waiting_orchestrator: {},
        waiting_engine: {},
      },
      on: {
        SESSION_PHASE: [
          { guard: 'isLive', target: 'streaming', actions: 'recordPhase' },
          { guard: 'isOver', target: 'ended', actions: ['recordPhase', 'recordFailure'] },
          ...heldTargets('.').map((t) => ({ ...t, actions: 'recordPhase' as const })),
        ],
      },
    },
    streaming: {
      entry: 'attachStream',
      on: {
        SESSION_PHASE: [
          { guard: 'isLive', actions: 'recordPhase' },
          { guard: 'isOver', target: 'ended', actions: ['recordPhase', 'recordFailure'] },
          { target: 'recovering', actions: 'recordPhase' },
        ],
      },
    },
    recovering: {
      entry: ['hold'],
      exit: 'unhold',
      after: { holdMax: { target: 'ended', actions: assign({ outcome: 'aborted', error: null }) } },
      on: {
        SESSION_PHASE: [
          { guard: 'isLive', target: 'streaming', actions: 'recordPhase' },
          { guard: 'isOver', target: 'ended', actions: ['recordPhase', 'recordFailure'] },
          { actions: 'recordPhase' },
        ],
      },
    },
    ended: {
      type: 'final',
      entry: 'finish',
    },
  },
});

export type PlayerSnapshot = SnapshotFrom<typeof playerMachine>;
