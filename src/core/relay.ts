/**
 * The house: joins players to engine sessions and gives the machines their hands.
 *
 * `connect` validates nothing (the route did) but the content-failure memory; it finds the
 * live or lingering session with the player's key (or creates one) and starts a player
 * actor watching it. Session and player machines stay pure; every effect they need is
 * provided here, over ports (broker, engine, upstream reader, stream-event sink, the
 * player's connection), so tests can run the real machines with fakes on virtual time.
 */
import { createActor, fromCallback, fromPromise, waitFor, type ActorRefFrom, type InspectionEvent } from 'xstate';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { AcerelayError } from '../errors.ts';
import { phaseEquals, sessionMachine, sessionPhase, type SessionEvent, type SessionSnapshot, type StartOutput } from '../machines/session.machine.ts';
import type { SessionPhase } from '../domain/session.ts';
import type { StartedPlayback } from '../domain/stream.ts';
import { playerMachine, type PlayerSnapshot } from '../machines/player.machine.ts';
import { stateName } from '../machines/state-name.ts';
import type { BrokerUpdate, EngineBroker } from './engine-broker.ts';
import type { StartRequest } from '../adapters/engine/start.ts';
import type { StreamEventSink } from './stream-event-sink.ts';
import type { PlayerIO } from './player-io.ts';
import { Channel, type ByteTotals } from '../fanout/channel.ts';
import type { PlayerSink } from '../fanout/player-sink.ts';
import { ContentFailures } from './content-failures.ts';
import { randomIds, type IdSource } from './ids.ts';
import { sessionKey, type StreamRequest } from './stream-request.ts';
import { planted } from '../chaos/planted-faults.ts';
import { sessionGuards } from './session-guards.ts';

export interface EnginePort {
  start(engineBase: string, req: StartRequest, signal?: AbortSignal): Promise<StartedPlayback>;
  version(engineBase: string, signal?: AbortSignal): Promise<unknown>;
  stop(commandUrl: string, signal?: AbortSignal): Promise<boolean>;
}

export interface UpstreamArgs {
  sessionId: string;
  channel: Channel;
  playback: StartedPlayback;
  splice: boolean;
}

/** Opens the engine's TS body into the channel; reports UPSTREAM_SYNCED / UPSTREAM_FAILED. Returns a stopper. */
export type UpstreamPort = (args: UpstreamArgs, report: (event: SessionEvent) => void) => () => void;

export interface ActorObserver {
  created(actor: string, machine: 'session' | 'player', session: string, input: unknown): void;
  readonly inspect: (event: InspectionEvent) => void;
}

export interface RelayOptions {
  clock: Clock;
  lingerMs: number;
  holdMaxMs: number;
  queueMax: number;
  bufferBytes: number;
  broker: EngineBroker;
  engine: EnginePort;
  upstream: UpstreamPort;
  events: StreamEventSink;
  ids?: IdSource;
  logger?: Logger;
  /** Makes everything recorded so far durable (the journal's flush); called before an engine start. */
  durable?: () => void;
  /** One hook for every actor: its creation (with input) and its inspection events (journal, inspector). */
  observer?: ActorObserver;
  totals?: ByteTotals;
  /** A session lost its upstream with players attached and restarts it. */
  onFailover?: () => void;
  /** The number of held players went from 0 to 1 (the status feed polls sooner). */
  onFirstHeld?: () => void;
  contentFailureMemoryMs?: number;
}

type SessionActor = ActorRefFrom<typeof sessionMachine>;
type PlayerActor = ActorRefFrom<typeof playerMachine>;

export interface SessionRecord {
  id: string;
  key: string;
  actor: SessionActor;
  channel: Channel;
  createdAt: number;
  keys: Set<string>;
}

export interface PlayerRecord {
  id: string;
  sessionId: string;
  actor: PlayerActor;
  createdAt: number;
}

export class Relay {
  readonly contentFailures: ContentFailures;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byKey = new Map<string, SessionRecord>();
  private readonly players = new Map<string, PlayerRecord>();
  private readonly held = new Set<string>();
  private readonly ids: IdSource;
  private readonly log: Logger;
  private seq = 0;
  private shuttingDown = false;

  constructor(private readonly opts: RelayOptions) {
    this.ids = opts.ids ?? randomIds;
    this.log = opts.logger ?? silentLogger;
    this.contentFailures = new ContentFailures(opts.clock, opts.contentFailureMemoryMs);
  }

  /** Players held right now (200 + keep-alive, waiting for an engine). */
  get heldCount(): number {
    return this.held.size;
  }

  get playerCount(): number {
    return this.players.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Adds a player. Throws AcerelayError (before any byte) when it cannot even be queued. */
  connect(req: StreamRequest, io: PlayerIO): PlayerRecord {
    if (this.shuttingDown) throw new AcerelayError('shutting_down');
    const failed = this.contentFailures.check(contentKey(req));
    if (failed) throw new AcerelayError('content_unavailable', failed);
    const playerId = this.ids.player();
    const session = this.join(req, playerId);
    const actor = this.createPlayer(playerId, session, io);
    const record: PlayerRecord = { id: playerId, sessionId: session.id, actor, createdAt: this.opts.clock.now() };
    this.players.set(playerId, record);
    actor.subscribe({
      next: (snap) => this.trackPlayer(playerId, snap),
      complete: () => this.dropPlayer(playerId),
      error: (err) => {
        this.log.error({ err, playerId }, 'player actor failed');
        this.dropPlayer(playerId);
      },
    });
    actor.start();
    return record;
  }

  player(playerId: string): PlayerRecord | undefined {
    return this.players.get(playerId);
  }

  session(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  listSessions(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  listPlayers(): PlayerRecord[] {
    return [...this.players.values()];
  }

  /** The live session for a content (any pass-through parameters), for /ace/status?id=… */
  findByContent(source: StreamRequest['source']): SessionRecord | undefined {
    const exact = this.byKey.get(sessionKey(source, {}));
    if (exact) return exact;
    const prefix = `${source.kind}:${source.value}`;
    for (const s of this.sessions.values()) for (const k of s.keys) if (k === prefix || k.startsWith(`${prefix}?`)) return s;
    return undefined;
  }

  /**
   * Ends every player and session (sessions stop their engine sessions and announce their
   * ends), then waits for the event deliveries. Resolves true when all of it fit in `graceMs`.
   */
  async shutdown(graceMs: number): Promise<boolean> {
    this.shuttingDown = true;
    const deadline = this.opts.clock.now() + graceMs;
    for (const c of [...this.players.values()]) c.actor.send({ type: 'SHUTDOWN' });
    const sessions = [...this.sessions.values()];
    for (const s of sessions) s.actor.send({ type: 'SHUTDOWN' });
    let clean = true;
    await Promise.all(
      sessions.map(async (s) => {
        try {
          await waitFor(s.actor, (snap) => snap.status !== 'active', { timeout: Math.max(1, deadline - this.opts.clock.now()) });
        } catch {
          clean = false;
          s.actor.stop();
        }
      }),
    );
    const flushed = await this.opts.events.flush(Math.max(1, deadline - this.opts.clock.now()));
    return clean && flushed;
  }

  /** As a killed process would: every actor stops where it is, nothing is announced. (Chaos harness.) */
  abandon(): void {
    this.shuttingDown = true;
    for (const c of [...this.players.values()]) c.actor.stop();
    for (const s of [...this.sessions.values()]) s.actor.stop();
  }

  // ——— sessions ———

  private join(req: StreamRequest, playerId: string): SessionRecord {
    const existing = this.byKey.get(req.key);
    if (existing && joinable(existing.actor.getSnapshot())) return existing;
    return this.createSession(req, playerId);
  }

  private createSession(req: StreamRequest, firstPlayer: string): SessionRecord {
    const sessionId = this.ids.session();
    const channel = new Channel({ id: sessionId, bufferBytes: this.opts.bufferBytes, totals: this.opts.totals });
    const log = this.log.child({ session: sessionId, key: req.key });
    const input = {
      sessionId,
      seq: ++this.seq,
      source: req.source,
      params: req.params,
      key: req.key,
      firstPlayer,
      lingerMs: this.opts.lingerMs,
    };
    const actor = createActor(this.provideSession(channel, log), {
      id: sessionId,
      clock: this.opts.clock,
      inspect: this.opts.observer?.inspect,
      input,
    });
    this.opts.observer?.created(sessionId, 'session', sessionId, input);
    const record: SessionRecord = { id: sessionId, key: req.key, actor, channel, createdAt: this.opts.clock.now(), keys: new Set([req.key]) };
    this.sessions.set(sessionId, record);
    this.byKey.set(req.key, record);
    actor.subscribe({
      next: (snap) => this.trackSession(record, snap),
      complete: () => this.dropSession(record),
      error: (err) => {
        log.error({ err }, 'session actor failed');
        this.dropSession(record);
      },
    });
    actor.start();
    return record;
  }

  private trackSession(record: SessionRecord, snap: SessionSnapshot): void {
    const { infohash, params, source } = snap.context;
    if (infohash && source.kind === 'id') {
      // An id is mapped to the engine's infohash once known: infohash= players join too.
      const alias = sessionKey({ kind: 'infohash', value: infohash }, params);
      if (!record.keys.has(alias)) {
        record.keys.add(alias);
        const other = this.byKey.get(alias);
        if (!other || !joinable(other.actor.getSnapshot())) this.byKey.set(alias, record);
      }
    }
  }

  private dropSession(record: SessionRecord): void {
    this.sessions.delete(record.id);
    for (const k of record.keys) if (this.byKey.get(k) === record) this.byKey.delete(k);
    record.channel.close();
  }

  private provideSession(channel: Channel, log: Logger) {
    const { broker, engine, upstream, events, clock } = this.opts;
    const ids = this.ids;
    return sessionMachine.provide({
      guards: sessionGuards,
      actors: {
        acquire: fromCallback(({ input, sendBack }) =>
          broker.request({
            sessionId: input.sessionId,
            seq: input.seq,
            infohash: input.infohash,
            exclude: input.exclude,
            listener: (update) => sendBack(brokerEvent(update, ids.pid)),
          }),
        ),
        provision: fromPromise(async ({ input }) => ({ engine: await broker.provision(input.sessionId), pid: ids.pid() })),
        probeEngine: fromPromise(async ({ input, signal }) => {
          await engine.version(input.engine.base, signal);
        }),
        startEngine: fromPromise(async ({ input, signal }): Promise<StartOutput> => {
          // The transition into `starting` (engine and pid) is written down before the engine
          // hears of it: after a crash, recovery can find and stop a session it never saw start.
          await Promise.resolve();
          this.opts.durable?.();
          const playback = await engine.start(input.engine.base, { source: input.source, pid: input.pid, params: input.params }, signal);
          return { engineSession: playback, streamId: ids.stream() };
        }),
        readUpstream: fromCallback(({ input, sendBack }) =>
          upstream({ sessionId: input.sessionId, channel, playback: input.playback, splice: input.splice }, sendBack),
        ),
        stopEngine: fromPromise(async ({ input }) => {
          const url = input.playback?.commandUrl;
          if (!url) return;
          try {
            await engine.stop(url);
          } catch (err) {
            // The body is closed regardless; an engine that cannot be told ends idle sessions itself.
            log.warn({ err: (err as Error).message }, 'engine stop failed');
          }
        }),
      },
      actions: {
        activateSlot: ({ context }) => broker.activate(context.sessionId, context.streamId, context.infohash),
        releaseSlot: ({ context }) => broker.release(context.sessionId),
        reportEngineFailure: ({ context }) => {
          if (context.engine) broker.reportFailure(context.engine.containerId);
        },
        announceStarted: ({ context }) => {
          const e = context.engine;
          const es = context.playback;
          log.info({ engine: e?.containerId, infohash: context.infohash, stream: context.streamId }, 'engine session started');
          if (!e?.managed || !es || !context.streamId) return;
          events.started(
            {
            containerId: e.containerId,
            engine: { host: e.host, port: e.port },
            stream: { keyType: context.source.kind === 'id' ? 'content_id' : 'infohash', key: context.source.value },
            session: { playbackSessionId: es.playbackSessionId, statUrl: es.statUrl, commandUrl: es.commandUrl, isLive: es.isLive },
            streamId: context.streamId,
            },
            context.sessionId,
          );
        },
        announceEnded: ({ context }, params) => {
          if (params.reason === 'failover') this.opts.onFailover?.();
          if (!context.streamId) return;
          log.info({ stream: context.streamId, reason: params.reason }, 'engine session ended');
          if (!context.engine?.managed) return;
          if (params.reason === 'client_left' && planted('skip-stream-ended-on-linger')) return;
          events.ended({ containerId: context.engine.containerId, streamId: context.streamId, reason: params.reason }, context.sessionId);
        },
        rememberContentFailure: ({ context }) => {
          const message = context.failure?.message ?? 'the engine could not load this content';
          const keys = [`${context.source.kind}:${context.source.value}`];
          if (context.infohash) keys.push(`infohash:${context.infohash}`);
          this.contentFailures.remember(keys, message);
          void clock;
        },
      },
    });
  }

  // ——— players ———

  private createPlayer(playerId: string, session: SessionRecord, io: PlayerIO): PlayerActor {
    const machine = playerMachine.provide({
      actors: {
        watchSession: fromCallback(({ sendBack }) =>
          watchSession(session, playerId, (phase) => sendBack({ type: 'SESSION_PHASE', phase, queueRoom: this.held.size < this.opts.queueMax })),
        ),
      },
      actions: {
        hold: () => io.hold(),
        unhold: () => io.unhold(),
        attachStream: () => io.attach(session.channel),
        finish: ({ context }) => io.finish(context.outcome ?? 'disconnected', context.error),
      },
    });
    const input = { playerId, sessionId: session.id, holdMaxMs: this.opts.holdMaxMs };
    this.opts.observer?.created(playerId, 'player', session.id, input);
    return createActor(machine, { id: playerId, clock: this.opts.clock, inspect: this.opts.observer?.inspect, input });
  }

  private trackPlayer(playerId: string, snap: PlayerSnapshot): void {
    if (snap.matches('held')) {
      if (this.held.size === 0 && !this.held.has(playerId)) {
        this.held.add(playerId);
        this.opts.onFirstHeld?.();
      }
      this.held.add(playerId);
    } else {
      this.held.delete(playerId);
    }
  }

  private dropPlayer(playerId: string): void {
    this.players.delete(playerId);
    this.held.delete(playerId);
  }

  /** State names for /ace/status and the API. */
  describePlayer(c: PlayerRecord): { id: string; session: string; state: string } {
    return { id: c.id, session: c.sessionId, state: stateName(c.actor.getSnapshot().value) };
  }
}

/** Joins the session, forwards its phase to the player, leaves on cleanup. */
function watchSession(session: SessionRecord, playerId: string, onPhase: (phase: SessionPhase) => void): () => void {
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

/** A session a new player may join: alive, and not already stopping its engine session. */
function joinable(snap: SessionSnapshot): boolean {
  return snap.status === 'active' && !snap.matches('stopping') && !snap.matches('failed');
}

function contentKey(req: StreamRequest): string {
  return `${req.source.kind}:${req.source.value}`;
}

/** Broker answers as session events (the `acquire` actor's); `pid` goes with an engine. */
function brokerEvent(update: BrokerUpdate, pid: () => string): SessionEvent {
  if (update.type === 'wait') return { type: 'BROKER_WAIT', wait: update.wait };
  return update.grant.kind === 'engine'
    ? { type: 'BROKER_ENGINE', engine: update.grant.engine, pid: pid() }
    : { type: 'BROKER_PROVISION', probe: update.grant.probe };
}

export type { PlayerSink };
