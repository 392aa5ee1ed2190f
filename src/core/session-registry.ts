/**
 * The registry of live sessions and players: admits a player (the content-failure memory,
 * shutdown), joins it to the live or lingering session with its key (an `id` session is also
 * found by its infohash once the engine named it) or creates one, counts the held players,
 * and ends everything at shutdown. The actors' hands are in session-actors.ts and
 * player-actors.ts.
 */
import { createActor, waitFor, type ActorRefFrom, type InspectionEvent } from 'xstate';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { AcerelayError } from '../errors.ts';
import type { sessionMachine, SessionSnapshot } from '../machines/session.machine.ts';
import type { playerMachine, PlayerSnapshot } from '../machines/player.machine.ts';
import { stateName } from '../machines/state-name.ts';
import type { MachineKind } from '../domain/journal.ts';
import type { PlayerIO } from './player-io.ts';
import { Channel, type ByteTotals } from '../fanout/channel.ts';
import { ContentFailures } from './content-failures.ts';
import { randomIds, type IdSource } from './ids.ts';
import { sessionKey, type StreamRequest } from './stream-request.ts';
import { provideSession, type SessionPorts } from './session-actors.ts';
import { providePlayers, type PlayerHands } from './player-actors.ts';
import { SessionPhases } from './session-phases.ts';

/** One hook for every actor: its creation (with input) and its inspection events (journal, inspector). */
export interface ActorObserver {
  created(actor: string, machine: MachineKind, session: string, input: unknown): void;
  readonly inspect: (event: InspectionEvent) => void;
}

export interface RegistryOptions extends Omit<SessionPorts, 'ids' | 'contentFailures'> {
  clock: Clock;
  lingerMs: number;
  holdMaxMs: number;
  queueMax: number;
  bufferBytes: number;
  ids?: IdSource;
  logger?: Logger;
  observer?: ActorObserver;
  totals?: ByteTotals;
  /** The number of held players went from 0 to 1 (the status feed polls sooner). */
  onFirstHeld?: () => void;
  contentFailureMemoryMs?: number;
}

export interface SessionRecord {
  id: string;
  key: string;
  actor: ActorRefFrom<typeof sessionMachine>;
  /** Its phase as players see it, worked out once for all of them. */
  phases: SessionPhases;
  channel: Channel;
  createdAt: number;
  /** Its key, and the aliases players find it by (the infohash of an `id` session). */
  keys: Set<string>;
}

export interface PlayerRecord extends PlayerHands {
  id: string;
  sessionId: string;
  actor: ActorRefFrom<typeof playerMachine>;
  createdAt: number;
  transport: 'ts' | 'hls';
  io: PlayerIO;
}

export class SessionRegistry {
  readonly contentFailures: ContentFailures;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byKey = new Map<string, SessionRecord>();
  private readonly players = new Map<string, PlayerRecord>();
  private readonly held = new Set<string>();
  private readonly ids: IdSource;
  private readonly log: Logger;
  private readonly ports: SessionPorts;
  /** The player machine with its hands, for every player: each finds its record by its id. */
  private readonly playerMachine: ReturnType<typeof providePlayers>;
  private seq = 0;
  private shuttingDown = false;

  constructor(private readonly opts: RegistryOptions) {
    this.ids = opts.ids ?? randomIds;
    this.log = opts.logger ?? silentLogger;
    this.contentFailures = new ContentFailures(opts.clock, opts.contentFailureMemoryMs);
    const { broker, engine, upstream, events, durable, onFailover } = opts;
    this.ports = { broker, engine, upstream, events, durable, onFailover, ids: this.ids, contentFailures: this.contentFailures };
    this.playerMachine = providePlayers(
      (playerId) => this.players.get(playerId),
      () => this.held.size < this.opts.queueMax,
    );
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
    const transport = io.transport ?? 'ts';
    const input = { playerId, sessionId: session.id, holdMaxMs: this.opts.holdMaxMs, ...(transport === 'hls' ? { transport } : {}) };
    this.opts.observer?.created(playerId, 'player', session.id, input);
    const actor = createActor(this.playerMachine, { id: playerId, clock: this.opts.clock, inspect: this.opts.observer?.inspect, input });
    // In the map before the actor starts: its actions find their session and socket here.
    const record: PlayerRecord = { id: playerId, sessionId: session.id, actor, createdAt: this.opts.clock.now(), transport, io, session };
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

  /** State names for /ace/status and the API (an HLS audience with its distinct clients). */
  describePlayer(p: PlayerRecord): { id: string; session: string; state: string; transport: 'ts' | 'hls'; clients?: number } {
    const base = { id: p.id, session: p.sessionId, state: stateName(p.actor.getSnapshot().value), transport: p.transport };
    return p.transport === 'hls' ? { ...base, clients: p.io.clientCount?.() ?? 0 } : base;
  }

  /**
   * Ends every player and session (sessions stop their engine sessions and announce their
   * ends), then waits for the event deliveries. Resolves true when all of it fit in `graceMs`.
   */
  async shutdown(graceMs: number): Promise<boolean> {
    this.shuttingDown = true;
    const deadline = this.opts.clock.now() + graceMs;
    for (const p of [...this.players.values()]) p.actor.send({ type: 'SHUTDOWN' });
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
    for (const p of [...this.players.values()]) p.actor.stop();
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
    const actor = createActor(provideSession(this.ports, channel, log), {
      id: sessionId,
      clock: this.opts.clock,
      inspect: this.opts.observer?.inspect,
      input,
    });
    this.opts.observer?.created(sessionId, 'session', sessionId, input);
    const phases = new SessionPhases(actor);
    const record: SessionRecord = { id: sessionId, key: req.key, actor, phases, channel, createdAt: this.opts.clock.now(), keys: new Set([req.key]) };
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

  // ——— players ———

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
}

/** A session a new player may join: alive, and not already stopping its engine session. */
function joinable(snap: SessionSnapshot): boolean {
  return snap.status === 'active' && !snap.matches('stopping') && !snap.matches('failed');
}

function contentKey(req: StreamRequest): string {
  return `${req.source.kind}:${req.source.value}`;
}
