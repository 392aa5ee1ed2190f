/**
 * One engine session: one channel on one engine, shared by all its players.
 *
 * Pure: every side effect is an injected actor or action (see `provideSession` in
 * src/core/session-actors.ts), every wait a named delay on the actor's clock.
 *
 *   acquiring ──engine──▶ starting ──▶ running(connecting → streaming ⇄ lingering) ──▶ stopping ──▶ stopped
 *       │  ▲                 │  ▲            │ upstream failed, players present
 *       │  └─ another engine ┘  └ backoff ┐  ▼
 *       └─provision─▶ provisioning ─▶ engine_check ⇄ engine_backoff      recovering ─▶ starting (same engine, then another)
 *
 * ENGINE_CROWDED (the engine carries more sessions than the maximum, and this one is not
 * among the first there: core/engine-crowding.ts) moves a running session to another engine
 * through `recovering`, as a failover; without players it just stops.
 *
 * Players join and leave with PLAYER_JOINED / PLAYER_LEFT. While no engine session exists,
 * the last player leaving cancels everything (the queue place and any reservation); once an
 * engine session exists it is always stopped, after the linger.
 */
import { assign, fromCallback, fromPromise, setup, type SnapshotFrom } from 'xstate';
import type { EndReason, EngineRef, Source, StartedPlayback } from '../domain/stream.ts';
import type { SessionFailure, SessionPhase, Wait } from '../domain/session.ts';
import type { RecoveryFacts, StateValue } from '../domain/journal.ts';

export interface SessionInput {
  sessionId: string;
  seq: number;
  source: Source;
  params: Record<string, string>;
  key: string;
  firstPlayer: string;
  lingerMs: number;
}

export interface SessionContext {
  sessionId: string;
  seq: number;
  source: Source;
  params: Record<string, string>;
  key: string;
  infohash: string | null;
  players: string[];
  lingerMs: number;
  wait: Wait | null;
  engine: EngineRef | null;
  exclude: string[];
  readyAttempts: number;
  startAttempts: number;
  enginesTried: number;
  /** The engine's answer to the start that is playing (null before, between and after). */
  playback: StartedPlayback | null;
  pid: string | null;
  /** The stream id announced with stream_started and not yet ended; null otherwise. */
  streamId: string | null;
  /** Whether bytes have reached players before: later upstreams are spliced in. */
  everLive: boolean;
  /** Whether the current upstream reached its first PAT + random-access point. */
  synced: boolean;
  failovers: number;
  /** Upstream failures since the last good sync: retry the same engine once, then another. */
  failuresSinceSync: number;
  endReason: EndReason | null;
  lastProblem: string | null;
  failure: SessionFailure | null;
  shuttingDown: boolean;
  /** The first start has taken longer than a player should wait without a byte: hold them. */
  slowStart: boolean;
  /** Recovering to leave a crowded engine: the next start goes to another engine. */
  leavingEngine: boolean;
}

export interface StartOutput {
  /** The started playback. (The key is a stored name: the journal's done events carry it.) */
  engineSession: StartedPlayback;
  streamId: string;
}

/** A provisioned engine, and the `pid` its session will start with. */
export interface ProvisionOutput {
  engine: EngineRef;
  pid: string;
}

export type SessionEvent =
  | { type: 'PLAYER_JOINED'; playerId: string }
  | { type: 'PLAYER_LEFT'; playerId: string }
  | { type: 'SHUTDOWN' }
  | { type: 'BROKER_WAIT'; wait: Wait }
  /** `pid`: fresh for this engine; every start on it uses it, so a retried start replaces its own earlier try. */
  | { type: 'BROKER_ENGINE'; engine: EngineRef; pid: string }
  | { type: 'BROKER_PROVISION'; probe: boolean }
  | { type: 'UPSTREAM_SYNCED' }
  /** `code`: an UpstreamFailureCode (adapters/engine/errors.ts); the machine does not branch on it. */
  | { type: 'UPSTREAM_FAILED'; code: string; message: string }
  /** The engine carries more sessions than the maximum and this one must leave it. */
  | { type: 'ENGINE_CROWDED' };

export interface AcquireInput {
  sessionId: string;
  seq: number;
  infohash: string | null;
  exclude: string[];
  /** Its players already have their 200 (see `playersHeld`). */
  held: boolean;
}

export interface UpstreamInput {
  sessionId: string;
  playback: StartedPlayback;
  /** True when players already received bytes: the new upstream is spliced at a seam. */
  splice: boolean;
}

export interface StopInput {
  engine: EngineRef | null;
  playback: StartedPlayback | null;
}

/** An error from an injected actor, as far as the machine reads it (its decisions are provided guards). */
interface ActorFailure {
  message?: string;
}

/** Backoff before each engine-readiness retry after provisioning: 1, 2, 4, 8 s. */
export const ENGINE_READY_BACKOFF_MS = [1000, 2000, 4000, 8000];
/** How long a first start may take before its players are held (200 + keep-alive) rather than left without a byte. */
export const START_PATIENCE_MS = 5_000;
/**
 * How long a provisioning call may take before its players are held. A real orchestrator
 * refuses in 0.03–0.45 s (403, 500): such an answer still reaches the player as a clean error
 * before any byte; a call that takes longer is a real wait.
 */
export const PROVISION_PATIENCE_MS = 2_000;
/** Pause before retrying a start on the same engine. */
export const START_RETRY_BACKOFF_MS = 1000;
/** Start tries on one engine before trying another. */
export const START_TRIES_PER_ENGINE = 2;
/** Engines tried before giving up. */
export const ENGINES_TO_TRY = 3;

const notProvided = (what: string) => () => {
  throw new Error(`session actor "${what}" was not provided`);
};

function failureOf(error: unknown): ActorFailure {
  return (error ?? {}) as ActorFailure;
}

/** A decision about an actor's error that only the adapter raising it can take: provided with the actors. */
const decidedByAdapter = (what: string) => (): boolean => {
  throw new Error(`session guard "${what}" was not provided`);
};

/**
 * Before an engine session exists nothing needs stopping: the last player leaving, or a
 * shutdown, cancels the session where it is (its queue place and any reservation go with it).
 */
const CANCELLABLE = {
  always: [{ guard: 'noPlayers', target: 'cancelled' }],
  on: { SHUTDOWN: { target: 'cancelled' } },
} as const;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    acquire: fromCallback<SessionEvent, AcquireInput>(notProvided('acquire')),
    provision: fromPromise<ProvisionOutput, { sessionId: string }>(notProvided('provision')),
    probeEngine: fromPromise<void, { engine: EngineRef }>(notProvided('probeEngine')),
    startEngine: fromPromise<StartOutput, { sessionId: string; engine: EngineRef; pid: string; source: Source; params: Record<string, string> }>(
      notProvided('startEngine'),
    ),
    readUpstream: fromCallback<SessionEvent, UpstreamInput>(notProvided('readUpstream')),
    stopEngine: fromPromise<void, StopInput>(notProvided('stopEngine')),
  },
  actions: {
    /** Tells the broker the reservation is now an active session (after stream_started is queued). */
    activateSlot: () => {},
    releaseSlot: () => {},
    /** Tells the broker the current engine failed us (it is ranked last for a while). */
    reportEngineFailure: () => {},
    announceStarted: () => {},
    announceEnded: (_, _params: { reason: EndReason }) => {},
    rememberContentFailure: () => {},
    /** Leaves the current engine for another: it is excluded from this session's next requests. */
    excludeEngine: assign(({ context }, params: { problem?: string }) => ({
      exclude: context.engine ? [...context.exclude, context.engine.containerId] : context.exclude,
      enginesTried: context.enginesTried + 1,
      engine: null,
      ...(params.problem === undefined ? {} : { lastProblem: params.problem }),
    })),
  },
  guards: {
    noPlayers: ({ context }) => context.players.length === 0,
    hasPlayers: ({ context }) => context.players.length > 0,
    shuttingDown: ({ context }) => context.shuttingDown,
    synced: ({ context }) => context.synced,
    /** The provisioning call's failure means "wait" (the orchestrator is blocked or did not answer). */
    provisionShouldWait: decidedByAdapter('provisionShouldWait'),
    /** The orchestrator refused our API key. */
    provisionAuthRefused: decidedByAdapter('provisionAuthRefused'),
    /** The engine cannot load this content. */
    contentFailed: decidedByAdapter('contentFailed'),
    readyTriesLeft: ({ context }) => context.readyAttempts < ENGINE_READY_BACKOFF_MS.length,
    sameEngineTriesLeft: ({ context }) => context.startAttempts + 1 < START_TRIES_PER_ENGINE,
    enginesLeft: ({ context }) => context.enginesTried + 1 < ENGINES_TO_TRY,
    retrySameEngine: ({ context }) => context.failuresSinceSync < 2 && context.engine !== null,
    leavingEngine: ({ context }) => context.leavingEngine,
  },
  delays: {
    linger: ({ context }) => context.lingerMs,
    startPatience: () => START_PATIENCE_MS,
    provisionPatience: () => PROVISION_PATIENCE_MS,
    engineReadyBackoff: ({ context }) => ENGINE_READY_BACKOFF_MS[Math.min(context.readyAttempts, ENGINE_READY_BACKOFF_MS.length - 1)]!,
    startRetryBackoff: () => START_RETRY_BACKOFF_MS,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    seq: input.seq,
    source: input.source,
    params: input.params,
    key: input.key,
    infohash: input.source.kind === 'infohash' ? input.source.value : null,
    players: [input.firstPlayer],
    lingerMs: input.lingerMs,
    wait: null,
    engine: null,
    exclude: [],
    readyAttempts: 0,
    startAttempts: 0,
    enginesTried: 0,
    playback: null,
    pid: null,
    streamId: null,
    everLive: false,
    synced: false,
    failovers: 0,
    failuresSinceSync: 0,
    endReason: null,
    lastProblem: null,
    failure: null,
    shuttingDown: false,
    slowStart: false,
    leavingEngine: false,
  }),
  initial: 'acquiring',
  on: {
    PLAYER_JOINED: {
      actions: assign({
        players: ({ context, event }) => (context.players.includes(event.playerId) ? context.players : [...context.players, event.playerId]),
      }),
    },
    PLAYER_LEFT: {
      actions: assign({ players: ({ context, event }) => context.players.filter((p) => p !== event.playerId) }),
    },
  },
  states: {
    acquiring: {
      invoke: {
        src: 'acquire',
        input: ({ context }) => ({
          sessionId: context.sessionId,
          seq: context.seq,
          infohash: context.infohash,
          exclude: context.exclude,
          held: playersHeld(context),
        }),
      },
      initial: 'choosing',
      states: {
        choosing: {},
        waiting: {},
      },
      always: CANCELLABLE.always,
      on: {
        ...CANCELLABLE.on,
        BROKER_WAIT: { target: '.waiting', actions: assign({ wait: ({ event }) => event.wait }) },
        BROKER_ENGINE: {
          target: 'starting',
          actions: assign({ engine: ({ event }) => event.engine, pid: ({ event }) => event.pid, wait: null, startAttempts: 0 }),
        },
        BROKER_PROVISION: { target: 'provisioning', actions: assign({ wait: null }) },
      },
    },
    provisioning: {
      invoke: {
        src: 'provision',
        input: ({ context }) => ({ sessionId: context.sessionId }),
        onDone: {
          target: 'engine_check',
          actions: assign({ engine: ({ event }) => event.output.engine, pid: ({ event }) => event.output.pid, readyAttempts: 0, startAttempts: 0 }),
        },
        onError: [
          {
            guard: 'provisionShouldWait',
            target: 'acquiring',
            actions: assign({ lastProblem: ({ event }) => failureOf(event.error).message ?? 'provisioning refused' }),
          },
          {
            guard: 'provisionAuthRefused',
            target: 'failed',
            actions: assign({ failure: ({ event }) => ({ code: 'orchestrator_auth' as const, message: failureOf(event.error).message ?? 'provisioning failed' }) }),
          },
          {
            target: 'failed',
            actions: assign({ failure: ({ event }) => ({ code: 'provisioning_failed' as const, message: failureOf(event.error).message ?? 'provisioning failed' }) }),
          },
        ],
      },
      after: { provisionPatience: { actions: assign({ slowStart: true }) } },
      // The call itself finishes in the background; its engine joins the pool unreserved.
      ...CANCELLABLE,
    },
    engine_check: {
      invoke: {
        src: 'probeEngine',
        input: ({ context }) => ({ engine: context.engine! }),
        onDone: { target: 'starting' },
        onError: [
          { guard: 'readyTriesLeft', target: 'engine_backoff' },
          {
            // Counted like any engine tried: a run of new engines that never answer ends.
            guard: 'enginesLeft',
            target: 'acquiring',
            actions: ['reportEngineFailure', { type: 'excludeEngine', params: { problem: 'engine never answered after provisioning' } }],
          },
          {
            target: 'failed',
            actions: ['reportEngineFailure', assign({ failure: { code: 'engine_failed' as const, message: 'no provisioned engine ever answered' } })],
          },
        ],
      },
      ...CANCELLABLE,
    },
    engine_backoff: {
      after: {
        engineReadyBackoff: { target: 'engine_check', actions: assign({ readyAttempts: ({ context }) => context.readyAttempts + 1 }) },
      },
      ...CANCELLABLE,
    },
    starting: {
      invoke: {
        src: 'startEngine',
        input: ({ context }) => ({ sessionId: context.sessionId, engine: context.engine!, pid: context.pid!, source: context.source, params: context.params }),
        onDone: [
          {
            // Shutting down while the start was in flight: the engine session exists, stop it.
            guard: 'shuttingDown',
            target: 'stopping',
            actions: assign({ playback: ({ event }) => event.output.engineSession, endReason: 'shutdown' }),
          },
          {
            target: 'running',
            actions: [
              assign({
                playback: ({ event }) => event.output.engineSession,
                streamId: ({ event }) => event.output.streamId,
                infohash: ({ context, event }) => event.output.engineSession.infohash || context.infohash,
                synced: false,
              }),
              'announceStarted',
              'activateSlot',
            ],
          },
        ],
        onError: [
          {
            guard: 'contentFailed',
            target: 'failed',
            actions: [
              assign({
                failure: ({ event }) => ({ code: 'content_unavailable' as const, message: failureOf(event.error).message ?? 'content unavailable' }),
              }),
              'rememberContentFailure',
            ],
          },
          {
            guard: 'shuttingDown',
            target: 'cancelled',
          },
          {
            guard: 'sameEngineTriesLeft',
            target: 'start_backoff',
            actions: assign({
              startAttempts: ({ context }) => context.startAttempts + 1,
              lastProblem: ({ event }) => failureOf(event.error).message ?? 'start failed',
            }),
          },
          {
            guard: 'enginesLeft',
            target: 'acquiring',
            actions: ['reportEngineFailure', { type: 'excludeEngine', params: ({ event }) => ({ problem: failureOf(event.error).message ?? 'start failed' }) }],
          },
          {
            target: 'failed',
            actions: assign({
              failure: ({ event }) => ({ code: 'engine_failed' as const, message: failureOf(event.error).message ?? 'no engine could start the stream' }),
            }),
          },
        ],
      },
      after: { startPatience: { actions: assign({ slowStart: true }) } },
      on: { SHUTDOWN: { actions: assign({ shuttingDown: true }) } },
    },
    start_backoff: {
      after: { startRetryBackoff: { target: 'starting' } },
      ...CANCELLABLE,
    },
    running: {
      invoke: {
        src: 'readUpstream',
        input: ({ context }) => ({ sessionId: context.sessionId, playback: context.playback!, splice: context.everLive }),
      },
      initial: 'connecting',
      on: {
        UPSTREAM_FAILED: [
          {
            guard: 'hasPlayers',
            target: 'recovering',
            actions: assign({ lastProblem: ({ event }) => `${event.code}: ${event.message}` }),
          },
          {
            target: 'stopping',
            actions: assign({ endReason: 'upstream_failed', lastProblem: ({ event }) => `${event.code}: ${event.message}` }),
          },
        ],
        SHUTDOWN: { target: 'stopping', actions: assign({ endReason: 'shutdown' }) },
        ENGINE_CROWDED: [
          {
            guard: 'hasPlayers',
            target: 'recovering',
            actions: assign({ leavingEngine: true, lastProblem: 'the engine carries more sessions than the maximum' }),
          },
          { target: 'stopping', actions: assign({ endReason: 'client_left' }) },
        ],
      },
      states: {
        connecting: {
          always: [{ guard: 'noPlayers', target: 'lingering' }],
          after: { startPatience: { actions: assign({ slowStart: true }) } },
          on: {
            UPSTREAM_SYNCED: {
              target: 'streaming',
              // A good upstream resets the retry budget for the next failure.
              actions: assign({ synced: true, everLive: true, exclude: [], enginesTried: 0, startAttempts: 0, failuresSinceSync: 0, lastProblem: null, slowStart: false }),
            },
          },
        },
        streaming: {
          always: [{ guard: 'noPlayers', target: 'lingering' }],
        },
        lingering: {
          after: { linger: { target: '#session.stopping', actions: assign({ endReason: 'client_left' }) } },
          on: {
            UPSTREAM_SYNCED: { actions: assign({ synced: true, everLive: true, failuresSinceSync: 0, lastProblem: null }) },
            PLAYER_JOINED: [
              { guard: 'synced', target: 'streaming', actions: assign({ players: ({ context, event }) => [...new Set([...context.players, event.playerId])] }) },
              { target: 'connecting', actions: assign({ players: ({ context, event }) => [...new Set([...context.players, event.playerId])] }) },
            ],
          },
        },
      },
    },
    recovering: {
      entry: [
        { type: 'announceEnded', params: { reason: 'failover' } },
        assign({
          streamId: null,
          failovers: ({ context }) => context.failovers + 1,
          failuresSinceSync: ({ context }) => context.failuresSinceSync + 1,
          synced: false,
        }),
      ],
      invoke: {
        src: 'stopEngine',
        input: ({ context }) => ({ engine: context.engine, playback: context.playback }),
        // Same engine first (a restarted engine comes back without our session), then another.
        onDone: 'after_failure',
        onError: 'after_failure',
      },
      on: { SHUTDOWN: { actions: assign({ shuttingDown: true }) } },
    },
    after_failure: {
      entry: assign({ playback: null }),
      always: [
        { guard: 'shuttingDown', target: 'stopped', actions: assign({ endReason: 'shutdown' }) },
        { guard: 'noPlayers', target: 'stopped', actions: assign({ endReason: 'upstream_failed' }) },
        // Leaving a crowded engine is no failure of it: not reported, and never the last engine tried.
        { guard: 'leavingEngine', target: 'acquiring', actions: [{ type: 'excludeEngine', params: {} }, assign({ leavingEngine: false })] },
        { guard: 'retrySameEngine', target: 'starting', actions: assign({ startAttempts: 0 }) },
        {
          guard: 'enginesLeft',
          target: 'acquiring',
          actions: ['reportEngineFailure', { type: 'excludeEngine', params: {} }],
        },
        {
          target: 'failed',
          actions: assign({ failure: ({ context }) => ({ code: 'engine_failed' as const, message: context.lastProblem ?? 'the stream kept failing' }) }),
        },
      ],
    },
    stopping: {
      invoke: {
        src: 'stopEngine',
        input: ({ context }) => ({ engine: context.engine, playback: context.playback }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped' },
      },
    },
    stopped: {
      type: 'final',
      entry: [
        { type: 'announceEnded', params: ({ context }) => ({ reason: context.endReason ?? 'client_left' }) },
        assign({ streamId: null, playback: null }),
        'releaseSlot',
      ],
    },
    cancelled: {
      type: 'final',
      entry: ['releaseSlot'],
    },
    failed: {
      type: 'final',
      entry: [{ type: 'announceEnded', params: { reason: 'start_failed' } }, assign({ streamId: null }), 'releaseSlot'],
    },
  },
});

export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

export function sessionPhase(snapshot: SessionSnapshot): SessionPhase {
  const { context } = snapshot;
  if (snapshot.matches('failed')) {
    return { kind: 'failed', failure: context.failure ?? { code: 'engine_failed', message: 'the stream failed' } };
  }
  if (snapshot.status !== 'active' || snapshot.matches('stopping') || snapshot.matches('stopped') || snapshot.matches('cancelled')) {
    return { kind: 'ended' };
  }
  if (snapshot.matches({ running: 'streaming' }) || (snapshot.matches({ running: 'lingering' }) && context.synced)) return { kind: 'live' };
  if (context.everLive) return { kind: 'recovering' };
  if (snapshot.matches({ acquiring: 'waiting' }) && context.wait) return { kind: 'waiting', wait: context.wait };
  if (snapshot.matches('engine_check') || snapshot.matches('engine_backoff') || snapshot.matches('start_backoff')) return { kind: 'slow' };
  if (playersHeld(context)) return { kind: 'slow' };
  return { kind: 'starting' };
}

/**
 * Whether the session's players have had their 200 whatever its state: any retry, a
 * provisioning call slower than PROVISION_PATIENCE_MS, a start slower than START_PATIENCE_MS,
 * or bytes already sent. (A wait in `acquiring` holds them too; the broker sees that itself.)
 */
export function playersHeld(context: SessionContext): boolean {
  return context.everLive || context.lastProblem !== null || context.exclude.length > 0 || context.slowStart;
}

/**
 * What a crash recovery needs of this session, in words that do not depend on this machine's
 * states (journaled as `facts.recovery`, so a later version of the machine can act on them).
 */
export function recoveryFacts(value: StateValue, context: SessionContext): RecoveryFacts {
  const { engine, playback, pid } = context;
  // A start goes out from `starting` (and again after `start_backoff`): until its answer is in, the engine may hold a session.
  const startSent = value === 'starting' || value === 'start_backoff';
  return {
    container_id: engine?.containerId ?? null,
    engine_base: engine?.base ?? null,
    managed: engine?.managed ?? false,
    pid: pid ?? null,
    command_url: playback?.commandUrl ?? null,
    stream_id: context.streamId ?? null,
    start_in_flight: startSent && !playback && engine && pid ? context.source : null,
  };
}

export function phaseEquals(a: SessionPhase | null, b: SessionPhase): boolean {
  if (!a || a.kind !== b.kind) return false;
  if (a.kind === 'waiting' && b.kind === 'waiting') return a.wait.reason === b.wait.reason && a.wait.etaSeconds === b.wait.etaSeconds;
  return true;
}

