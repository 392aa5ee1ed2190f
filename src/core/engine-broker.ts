/**
 * Hands out engine slots and provisioning rights to sessions, in arrival order.
 *
 * Sessions ask (`request`); the broker answers each with a grant (an engine slot reserved
 * for it, or the right to make one provisioning call) or a Wait (reason + ETA). It re-decides
 * for the whole queue whenever anything changes — a status poll, a session ending, a
 * provisioning call finishing, a probe time arriving — so it is level-triggered: a "ready"
 * that arrives while someone waits is never lost. The queue is strict FIFO: when its head
 * cannot be served, nobody behind it is (capacity is granted in arrival order).
 *
 * A slot is held from the grant until the session releases it; a session has at most one.
 * Engine load counts our slots (reserved or active; by engine id or by the address the
 * session's engine answers at) plus other clients' streams that the orchestrator lists, so no
 * engine is ever given more than `maxPerEngine` sessions.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { FeedState } from '../adapters/status-feed.ts';
import type { EngineInfo, ProvisionResult } from '../adapters/orchestrator/types.ts';
import type { EngineRef } from '../domain/stream.ts';
import type { Wait } from '../domain/session.ts';
import { OrchestratorError, blockAfterProvisioning, heldOver, isOrchestratorFault } from '../adapters/orchestrator/errors.ts';
import { PROVISION_PATIENCE_MS } from '../machines/session.machine.ts';
import { chooseEngine, type EngineCandidate } from './engine-choice.ts';
import { ProvisionGate, reasonForCode } from './provision-gate.ts';

export type Grant = { kind: 'engine'; engine: EngineRef } | { kind: 'provision'; probe: boolean };
export type BrokerUpdate = { type: 'wait'; wait: Wait } | { type: 'granted'; grant: Grant };

export interface AcquireRequest {
  sessionId: string;
  /** Arrival order of the session (its first player); kept across re-requests. */
  seq: number;
  infohash: string | null;
  exclude: readonly string[];
  /** Its players already have their 200 (a retry, a slow start, a recovery). */
  held?: boolean;
  listener: (update: BrokerUpdate) => void;
}

export interface ProvisionPort {
  provision(): Promise<ProvisionResult>;
  /** Where a freshly provisioned container answers (host from `/engines/{id}`). */
  locate(result: ProvisionResult): Promise<{ host: string; port: number }>;
}

export interface BrokerOptions {
  clock: Clock;
  maxPerEngine: number;
  provisionConcurrency: number;
  probeIntervalMs: number;
  /** The single engine (no orchestrator). */
  singleEngineUrl?: string | undefined;
  /** Used only while the orchestrator is unknown, and only when set explicitly. */
  fallbackEngineUrl?: string | undefined;
  orchestrator?: ProvisionPort | undefined;
  /** Called after provisioning so the feed re-reads engines soon. */
  onEnginesChanged?: () => void;
  /** How long an engine that failed a session is ranked with the unhealthy ones. */
  suspectMs?: number;
  /** Sessions on an engine (by origin) whose stop has not landed yet: they still take room. */
  pendingStops?: (origin: string) => number;
  /** When provisioning calls may go out (a ProvisionGate of `provisionConcurrency` and `probeIntervalMs` unless given). */
  gate?: ProvisionGate;
}

interface Pending extends AcquireRequest {
  lastWait: Wait | null;
}

interface Slot {
  engineId: string;
  /**
   * Where the session's engine answers (null until known). The session talks to this address
   * whatever the id: after an orchestrator restart that brings engines back on their ports
   * under new ids, a slot granted by the old id runs on the new container there.
   */
  origin: string | null;
  phase: 'reserved' | 'active';
  infohash: string | null;
  streamId: string | null;
}

interface Ticket {
  inUse: boolean;
  cancelled: boolean;
  probe: boolean;
  /** The session's players were held before the call (it re-asked held, or was told to wait). */
  held: boolean;
  /** Clock time the call went out (null until then). */
  calledAt: number | null;
}

const OUR_IDS_KEPT = 10_000;
/** A provisioned engine the orchestrator still does not list after this long is forgotten. */
const PROVISIONED_GRACE_MS = 60_000;

export class EngineBroker {
  private queue: Pending[] = [];
  private readonly slots = new Map<string, Slot>();
  private readonly tickets = new Map<string, Ticket>();
  private readonly provisioned = new Map<string, EngineRef & { at: number }>();
  private readonly suspects = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();
  /**
   * When each listed engine was first seen. The orchestrator may list a new engine before our
   * provisioning call that made it has answered: one that appears while a call is out is
   * presumed to be that call's, and nobody else gets it until the calls are answered.
   */
  private readonly firstSeen = new Map<string, number>();
  /** Stream ids we announced: the orchestrator's lists lag behind, so ours are never "foreign". */
  private readonly ours = new Set<string>();
  private readonly gate: ProvisionGate;
  private feed: FeedState;
  private pumping = false;
  private again = false;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(
    private readonly opts: BrokerOptions,
    initialFeed: FeedState,
  ) {
    this.gate = opts.gate ?? new ProvisionGate(opts.provisionConcurrency, opts.probeIntervalMs);
    this.feed = initialFeed;
  }

  /** A new status poll arrived. */
  updateFeed(feed: FeedState): void {
    this.feed = feed;
    const now = this.opts.clock.now();
    for (const [id, e] of this.provisioned) {
      const listed = feed.engines?.some((x) => x.containerId === id);
      // Listed: the feed knows it now. Still unlisted well after it was made: it died young.
      if (listed || (feed.kind === 'fresh' && now - e.at > PROVISIONED_GRACE_MS)) this.provisioned.delete(id);
    }
    if (feed.kind === 'fresh' && feed.engines) this.rememberEngines(feed.engines.map((e) => e.containerId), now);
    if (feed.kind === 'fresh' && feed.observedAt !== null) this.gate.statusSeen(feed.observedAt);
    this.pump();
  }

  /** Room changed outside the broker's own books (a late stop landed): decide again. */
  capacityChanged(): void {
    this.pump();
  }

  /** Ask for an engine. Any slot the session held is released first. Returns a cancel function. */
  request(req: AcquireRequest): () => void {
    this.dropSlot(req.sessionId);
    this.queue = this.queue.filter((p) => p.sessionId !== req.sessionId);
    const pending: Pending = { ...req, lastWait: null };
    const at = this.queue.findIndex((p) => p.seq > req.seq);
    if (at < 0) this.queue.push(pending);
    else this.queue.splice(at, 0, pending);
    this.pump();
    return () => this.cancel(req.sessionId);
  }

  /** Leave the queue without giving up a slot already granted. */
  cancel(sessionId: string): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((p) => p.sessionId !== sessionId);
    if (this.queue.length !== before) this.pump();
  }

  /** The session is done with its engine (or gave up waiting): free everything it holds. */
  release(sessionId: string): void {
    this.queue = this.queue.filter((p) => p.sessionId !== sessionId);
    this.dropSlot(sessionId);
    this.pump();
  }

  /** stream_started was sent: the reservation is now an active session. */
  activate(sessionId: string, streamId: string | null, infohash: string | null): void {
    const slot = this.slots.get(sessionId);
    if (!slot) return;
    slot.phase = 'active';
    slot.streamId = streamId;
    slot.infohash = infohash ?? slot.infohash;
    if (streamId) this.rememberOurs(streamId);
  }

  /** Whether we announced this stream id (in this run). */
  isOurs(streamId: string): boolean {
    return this.ours.has(streamId);
  }

  /** The engine failed one of our sessions: rank it last for a while. */
  reportFailure(engineId: string): void {
    this.suspects.set(engineId, this.opts.clock.now() + (this.opts.suspectMs ?? 30_000));
    // One we made ourselves that fails before the orchestrator even lists it is not worth keeping.
    this.provisioned.delete(engineId);
  }

  /** Make the one provisioning call this session was granted. */
  async provision(sessionId: string): Promise<EngineRef> {
    const ticket = this.tickets.get(sessionId);
    const port = this.opts.orchestrator;
    if (!ticket || ticket.inUse || !port) throw new Error(`session ${sessionId} holds no provisioning right`);
    ticket.inUse = true;
    ticket.calledAt = this.opts.clock.now();
    try {
      const result = await port.provision();
      // Reserved as soon as its id is known: the feed may list it (and hand it to someone
      // else) while we still ask where it answers.
      if (!ticket.cancelled) this.takeSlot(sessionId, result.containerId, null, null);
      const where = await port.locate(result);
      const engine: EngineRef = {
        containerId: result.containerId,
        base: `http://${formatHost(where.host)}:${where.port}`,
        host: where.host,
        port: where.port,
        health: 'unknown',
        forwarded: false,
        origin: 'provisioned',
        managed: true,
      };
      const slot = this.slots.get(sessionId);
      if (slot && slot.engineId === engine.containerId) slot.origin = originOf(engine.base);
      if (!this.feed.engines?.some((e) => e.containerId === engine.containerId)) {
        this.provisioned.set(engine.containerId, { ...engine, at: this.opts.clock.now() });
      }
      this.gate.end(this.opts.clock.now(), { ok: true });
      // Given up while we asked where it answers: the engine joins the pool unreserved.
      if (ticket.cancelled) this.slots.delete(sessionId);
      this.opts.onEnginesChanged?.();
      return engine;
    } catch (err) {
      // Players held by now (200 sent before the call, or after PROVISION_PATIENCE_MS of it)
      // wait out the orchestrator's own 500 like an unreachable orchestrator; a fast one
      // before any 200 stays a clean failure.
      const now = this.opts.clock.now();
      const held = ticket.held || now - (ticket.calledAt ?? now) >= PROVISION_PATIENCE_MS;
      const failure = held && err instanceof OrchestratorError && isOrchestratorFault(err) ? heldOver(err) : err;
      const block = blockAfterProvisioning(failure);
      this.gate.end(now, { ok: false, block, probe: ticket.probe, running: this.feed.status?.engines.running ?? 0 });
      throw failure;
    } finally {
      this.tickets.delete(sessionId);
      this.pump();
    }
  }

  /** Whether a new channel could start right now (for /readyz). */
  readiness(): { ready: boolean; reason: string | null } {
    const decision = this.decide(null, new Set());
    if ('grant' in decision) return { ready: true, reason: null };
    return { ready: false, reason: decision.wait.reason };
  }

  waiting(): number {
    return this.queue.length;
  }

  describe() {
    const now = this.opts.clock.now();
    return {
      engines: this.view().map((e) => ({
        ...e,
        load: this.load(e),
        suspect: (this.suspects.get(e.containerId) ?? 0) > now,
      })),
      queue: this.queue.map((p) => ({ sessionId: p.sessionId, seq: p.seq, wait: p.lastWait })),
      slots: [...this.slots].map(([sessionId, s]) => ({ sessionId, ...s })),
      provisioning: this.gate.describe(),
      /** Engines the broker keeps something about (bounded by what the orchestrator lists). */
      remembered: { engines: this.firstSeen.size, suspects: this.suspects.size, lastUsed: this.lastUsed.size },
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.queue = [];
  }

  // ——— internals ———

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    const notices: Array<() => void> = [];
    try {
      do {
        this.again = false;
        this.pumpOnce(notices);
      } while (this.again);
    } finally {
      this.pumping = false;
    }
    // Listeners run after the queue is consistent (they may call back into the broker), and
    // after whatever transition caused this pump has finished: a grant that follows a
    // departure is then seen (and journaled) after the departure.
    if (notices.length > 0) queueMicrotask(() => notices.forEach((notify) => notify()));
  }

  private pumpOnce(notices: Array<() => void>): void {
    let nextProbe = Infinity;
    let blocked: Wait | null = null;
    for (const pending of [...this.queue]) {
      let wait: Wait;
      if (blocked) {
        // Strict FIFO: everyone behind a waiting head waits for the same reason.
        wait = blocked;
      } else {
        const decision = this.decide(pending.infohash, new Set(pending.exclude));
        if ('grant' in decision) {
          this.queue = this.queue.filter((p) => p !== pending);
          const { grant } = decision;
          if (grant.kind === 'engine') this.takeSlot(pending.sessionId, grant.engine.containerId, pending.infohash, originOf(grant.engine.base));
          else this.takeTicket(pending.sessionId, grant.probe, pending.held === true || pending.lastWait !== null);
          notices.push(() => pending.listener({ type: 'granted', grant }));
          continue;
        }
        wait = decision.wait;
        blocked = wait;
        if (decision.probeAt !== null) nextProbe = Math.min(nextProbe, decision.probeAt);
      }
      if (!sameWait(pending.lastWait, wait)) {
        pending.lastWait = wait;
        notices.push(() => pending.listener({ type: 'wait', wait }));
      }
    }
    this.armTimer(nextProbe);
  }

  private decide(infohash: string | null, exclude: Set<string>): { grant: Grant } | { wait: Wait; probeAt: number | null } {
    const now = this.opts.clock.now();
    const feed = this.feed;
    if (feed.kind === 'disabled') {
      const engine = this.pick(this.view(), infohash, exclude, Infinity);
      return engine ? { grant: { kind: 'engine', engine } } : { wait: { reason: 'capacity', etaSeconds: null }, probeAt: null };
    }
    if (feed.kind === 'unknown' || !feed.status || feed.observedAt === null) {
      const engine = this.opts.fallbackEngineUrl ? this.pick(this.view(), infohash, exclude, this.opts.maxPerEngine) : null;
      return engine ? { grant: { kind: 'engine', engine } } : { wait: { reason: 'orchestrator', etaSeconds: null }, probeAt: null };
    }
    const status = feed.status;
    const vpnDown =
      status.provisioning.blocked?.code === 'vpn_disconnected' || (status.vpn.enabled && !status.vpn.connected);
    if (!vpnDown) {
      const engine = this.pick(this.view(), infohash, exclude, this.opts.maxPerEngine);
      if (engine) return { grant: { kind: 'engine', engine } };
    }
    if (!this.opts.orchestrator) return { wait: { reason: 'capacity', etaSeconds: null }, probeAt: null };
    const verdict = this.gate.check(now, status, feed.observedAt);
    if (verdict.allowed) return { grant: { kind: 'provision', probe: verdict.probe } };
    const reason = vpnDown ? 'vpn' : verdict.reason ?? reasonForCode(status.provisioning.blocked?.code ?? '');
    return { wait: { reason, etaSeconds: verdict.etaSeconds }, probeAt: verdict.probeAt };
  }

  private pick(view: EngineRef[], infohash: string | null, exclude: Set<string>, max: number): EngineRef | null {
    const now = this.opts.clock.now();
    const callsSince = this.oldestCallOut();
    const candidates: EngineCandidate[] = view
      .filter((e) => (this.firstSeen.get(e.containerId) ?? -Infinity) < callsSince)
      .map((e) => ({
      containerId: e.containerId,
      healthy: e.health !== 'unhealthy' && (this.suspects.get(e.containerId) ?? 0) <= now,
      load: this.load(e),
      forwarded: e.forwarded,
      lastUsedAt: this.lastUsed.get(e.containerId) ?? 0,
      infohashes: this.infohashesOn(e.containerId),
    }));
    const chosen = chooseEngine(candidates, max, exclude, infohash);
    return chosen ? view.find((e) => e.containerId === chosen.containerId)! : null;
  }

  /** The engines we may use now. */
  private view(): EngineRef[] {
    const feed = this.feed;
    if (feed.kind === 'disabled') return this.opts.singleEngineUrl ? [staticEngine(this.opts.singleEngineUrl, 'single')] : [];
    if (feed.kind === 'unknown' || !feed.engines) {
      return this.opts.fallbackEngineUrl ? [staticEngine(this.opts.fallbackEngineUrl, 'fallback')] : [];
    }
    const engines: EngineRef[] = feed.engines.map(fromInfo);
    for (const e of this.provisioned.values()) engines.push(e);
    return engines;
  }

  private load(engine: EngineRef): number {
    let n = this.opts.pendingStops?.(originOf(engine.base)) ?? 0;
    const origin = originOf(engine.base);
    for (const slot of this.slots.values()) if (slot.engineId === engine.containerId || slot.origin === origin) n++;
    const listed = this.feed.engines?.find((e) => e.containerId === engine.containerId)?.streams ?? [];
    for (const id of listed) if (!this.ours.has(id)) n++;
    return n;
  }

  private infohashesOn(engineId: string): Set<string> {
    const out = new Set<string>();
    for (const slot of this.slots.values()) if (slot.engineId === engineId && slot.infohash) out.add(slot.infohash);
    return out;
  }

  private takeSlot(sessionId: string, engineId: string, infohash: string | null, origin: string | null): void {
    this.slots.set(sessionId, { engineId, origin, phase: 'reserved', infohash, streamId: null });
    this.lastUsed.set(engineId, this.opts.clock.now());
  }

  private takeTicket(sessionId: string, probe: boolean, held: boolean): void {
    this.gate.begin();
    this.tickets.set(sessionId, { inUse: false, cancelled: false, probe, held, calledAt: null });
  }

  /** When the oldest provisioning call still out was made (Infinity when none is). */
  private oldestCallOut(): number {
    let oldest = Infinity;
    for (const t of this.tickets.values()) if (t.calledAt !== null && t.calledAt < oldest) oldest = t.calledAt;
    return oldest;
  }

  /**
   * Keeps per-engine memory (first seen, suspicion, last use) for the engines the
   * orchestrator lists and those we made that it does not list yet; the rest are forgotten,
   * so a day of engines coming and going leaves nothing behind.
   */
  private rememberEngines(listed: string[], now: number): void {
    const keep = new Set([...listed, ...this.provisioned.keys()]);
    for (const id of listed) if (!this.firstSeen.has(id)) this.firstSeen.set(id, now);
    for (const map of [this.firstSeen, this.suspects, this.lastUsed]) for (const id of map.keys()) if (!keep.has(id)) map.delete(id);
  }

  private dropSlot(sessionId: string): void {
    this.slots.delete(sessionId);
    const ticket = this.tickets.get(sessionId);
    if (!ticket) return;
    if (ticket.inUse) {
      // The call is out; its engine joins the pool unreserved when it lands.
      ticket.cancelled = true;
    } else {
      this.tickets.delete(sessionId);
      this.gate.end(this.opts.clock.now(), { ok: false, block: null, probe: false });
    }
  }

  private rememberOurs(streamId: string): void {
    this.ours.add(streamId);
    if (this.ours.size > OUR_IDS_KEPT) {
      const oldest = this.ours.values().next().value;
      if (oldest !== undefined) this.ours.delete(oldest);
    }
  }

  private armTimer(at: number): void {
    if (at === this.timerAt) return;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.opts.clock.now()));
  }
}

function originOf(base: string): string {
  try {
    return new URL(base).origin;
  } catch {
    return base;
  }
}

function sameWait(a: Wait | null, b: Wait): boolean {
  return a !== null && a.reason === b.reason && a.etaSeconds === b.etaSeconds;
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function fromInfo(e: EngineInfo): EngineRef {
  return {
    containerId: e.containerId,
    base: `http://${formatHost(e.host)}:${e.port}`,
    host: e.host,
    port: e.port,
    health: e.health,
    forwarded: e.forwarded,
    origin: 'orchestrator',
    managed: true,
  };
}

function staticEngine(url: string, origin: 'single' | 'fallback'): EngineRef {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return {
    containerId: origin,
    base: url.replace(/\/+$/, ''),
    host: u.hostname,
    port,
    health: 'healthy',
    forwarded: false,
    origin,
    managed: false,
  };
}
