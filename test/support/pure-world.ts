/**
 * A world without I/O for the machines: the real registry, broker and machines on a
 * ManualClock, with an orchestrator status, engines, provisioning and upstreams that the
 * test scripts. Every actor transition lands in `trace` as [t, actor, state, event].
 */
import { BehaviorSubject } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import { ManualClock } from '../../src/clock.ts';
import { EngineBroker } from '../../src/core/engine-broker.ts';
import { SessionRegistry, type ActorObserver } from '../../src/core/session-registry.ts';
import type { EnginePort, UpstreamPort } from '../../src/core/session-actors.ts';
import { countingIds } from '../../src/core/ids.ts';
import type { FeedState } from '../../src/adapters/status-feed.ts';
import type { EngineInfo, OrchestratorStatus, ProvisionResult, StreamEndedEvent, StreamStartedEvent } from '../../src/adapters/orchestrator/types.ts';
import { ProvisionError } from '../../src/adapters/orchestrator/errors.ts';
import { EngineContentError, EngineUnreachableError, type UpstreamFailureCode } from '../../src/adapters/engine/errors.ts';
import type { StartedPlayback } from '../../src/domain/stream.ts';
import type { PlayerIO } from '../../src/core/player-io.ts';
import type { PlayerError, PlayerOutcome } from '../../src/machines/player.machine.ts';
import type { SessionEvent } from '../../src/machines/session.machine.ts';
import { parseStreamRequest } from '../../src/core/stream-request.ts';

export const T0 = 1_700_000_000_000;

export function healthyStatus(over: Partial<OrchestratorStatus['provisioning']> = {}, vpnConnected = true): OrchestratorStatus {
  return {
    status: 'healthy',
    engines: { total: 1, running: 1, healthy: 1, unhealthy: 0 },
    streams: { active: 0, total: 0 },
    capacity: { total: 1, used: 0, available: 1, maxReplicas: 10, minReplicas: 1 },
    vpn: { enabled: true, connected: vpnConnected, health: vpnConnected ? 'healthy' : 'unhealthy', forwardedPort: 43210 },
    provisioning: { canProvision: true, circuitBreakerState: 'closed', lastFailure: null, blockedReason: null, blocked: null, ...over },
    timestamp: null,
  };
}

export function engineInfo(id: string, port: number, streams: string[] = []): EngineInfo {
  return { containerId: id, containerName: id, host: '10.0.0.1', port, streams, health: 'healthy', forwarded: false, firstSeen: null, lastSeen: null, lastStreamUsage: null };
}

export interface RecordedPlayer {
  id: string;
  events: string[];
  outcome: PlayerOutcome | null;
  error: PlayerError | null;
}

interface PendingUpstream {
  sessionId: string;
  report: (e: SessionEvent) => void;
  alive: boolean;
}

export class PureWorld {
  readonly clock = new ManualClock(T0);
  readonly trace: Array<[number, string, string, string]> = [];
  readonly started: StreamStartedEvent[] = [];
  readonly ended: StreamEndedEvent[] = [];
  readonly provisionCalls: number[] = [];
  readonly engineStarts: Array<{ engine: string; pid: string }> = [];
  readonly stops: string[] = [];
  readonly feed$: BehaviorSubject<FeedState>;
  readonly broker: EngineBroker;
  readonly registry: SessionRegistry;
  readonly upstreams: PendingUpstream[] = [];
  /** Script: what the next provisioning calls do. */
  provisionScript: Array<{ delayMs: number; fail?: Error; engine?: EngineInfo }> = [];
  /** Engine base URLs that refuse (unreachable) until cleared. */
  readonly downEngines = new Set<string>();
  /** Content that fails to load. */
  readonly deadContent = new Set<string>();
  startDelayMs = 300;
  syncDelayMs = 100;
  private nextEngine = 1;

  constructor(
    opts: {
      status?: OrchestratorStatus;
      engines?: EngineInfo[];
      holdMaxMs?: number;
      queueMax?: number;
      maxPerEngine?: number;
      lingerMs?: number;
      provisionConcurrency?: number;
      /** Also sees every actor (e.g. an InspectionHub feeding a journal). */
      observer?: ActorObserver;
    } = {},
  ) {
    this.feed$ = new BehaviorSubject<FeedState>(this.fresh(opts.status ?? healthyStatus(), opts.engines ?? [engineInfo('e1', 6001)]));
    this.broker = new EngineBroker(
      {
        clock: this.clock,
        maxPerEngine: opts.maxPerEngine ?? 1,
        provisionConcurrency: opts.provisionConcurrency ?? 2,
        probeIntervalMs: 30_000,
        orchestrator: {
          provision: () => this.provision(),
          locate: async (r: ProvisionResult) => ({ host: '10.0.0.9', port: r.hostHttpPort ?? 0 }),
        },
      },
      this.feed$.getValue(),
    );
    this.feed$.subscribe((f) => this.broker.updateFeed(f));
    const engine: EnginePort = {
      start: (base, req) => this.after(this.startDelayMs, () => {
        if (this.downEngines.has(base)) throw new EngineUnreachableError(`${base} refused`);
        if (this.deadContent.has(req.source.value)) throw new EngineContentError('engine: failed to load content');
        this.engineStarts.push({ engine: base, pid: req.pid });
        const session: StartedPlayback = {
          playbackUrl: `${base}/ace/r/x/${req.pid}`,
          statUrl: `${base}/ace/stat/x/${req.pid}`,
          commandUrl: `${base}/ace/cmd/x/${req.pid}`,
          infohash: req.source.kind === 'infohash' ? req.source.value : `ih-${req.source.value}`,
          playbackSessionId: `ps-${req.pid}`,
          isLive: true,
        };
        return session;
      }),
      version: (base) => this.after(50, () => {
        if (this.downEngines.has(base)) throw new EngineUnreachableError(`${base} refused`);
        return {};
      }),
      stop: async (url) => {
        this.stops.push(url);
        return true;
      },
    };
    const upstream: UpstreamPort = ({ sessionId }, report) => {
      const u: PendingUpstream = { sessionId, report, alive: true };
      this.upstreams.push(u);
      const h = this.clock.setTimeout(() => u.alive && report({ type: 'UPSTREAM_SYNCED' }), this.syncDelayMs);
      return () => {
        u.alive = false;
        this.clock.clearTimeout(h);
      };
    };
    this.registry = new SessionRegistry({
      clock: this.clock,
      lingerMs: opts.lingerMs ?? 10_000,
      holdMaxMs: opts.holdMaxMs ?? 60_000,
      queueMax: opts.queueMax ?? 100,
      bufferBytes: 4 << 20,
      broker: this.broker,
      engine,
      upstream,
      events: {
        started: (e) => this.started.push(e),
        ended: (e) => this.ended.push(e),
        flush: async () => true,
      },
      ids: countingIds(),
      observer: {
        created: (actor, machine, session, input) => opts.observer?.created(actor, machine, session, input),
        inspect: (ev) => {
          this.record(ev);
          opts.observer?.inspect(ev);
        },
      },
    });
  }

  fresh(status: OrchestratorStatus, engines: EngineInfo[]): FeedState {
    const now = this.clock.now();
    return { kind: 'fresh', status, engines, observedAt: now, polledAt: now, error: null, failures: 0 };
  }

  /** A new status poll arrives now. */
  poll(status: OrchestratorStatus, engines = this.feed$.getValue().engines ?? []): void {
    this.feed$.next(this.fresh(status, engines));
  }

  /** The orchestrator stops answering. */
  pollFails(error = 'ORCH_UNREACHABLE'): void {
    const prev = this.feed$.getValue();
    this.feed$.next({ ...prev, kind: 'unknown', polledAt: this.clock.now(), error, failures: prev.failures + 1 });
  }

  player(query: string): RecordedPlayer {
    const params = Object.fromEntries(new URLSearchParams(query));
    const rec: RecordedPlayer = { id: '', events: [], outcome: null, error: null };
    const io: PlayerIO = {
      hold: () => rec.events.push('hold'),
      unhold: () => rec.events.push('unhold'),
      attach: () => rec.events.push('attach'),
      finish: (outcome, error) => {
        rec.events.push(`finish:${outcome}`);
        rec.outcome = outcome;
        rec.error = error;
      },
    };
    const player = this.registry.connect(parseStreamRequest(params), io);
    rec.id = player.id;
    return rec;
  }

  disconnect(p: RecordedPlayer): void {
    this.registry.player(p.id)?.actor.send({ type: 'DISCONNECTED' });
  }

  state(p: RecordedPlayer): string {
    const c = this.registry.player(p.id);
    return c ? this.registry.describePlayer(c).state : 'gone';
  }

  /** Fails the newest live upstream of a session. */
  failUpstream(sessionId: string, code: UpstreamFailureCode = 'ENGINE_EOF'): void {
    const u = [...this.upstreams].reverse().find((x) => x.sessionId === sessionId && x.alive);
    if (!u) throw new Error(`no live upstream for ${sessionId}`);
    u.report({ type: 'UPSTREAM_FAILED', code, message: 'test' });
  }

  async advance(ms: number): Promise<void> {
    await this.clock.advanceAsync(ms);
  }

  /** The trace with times relative to the start, for snapshots. */
  rel(): string[] {
    return this.trace.map(([t, actor, state, event]) => `${((t - T0) / 1000).toFixed(1).padStart(6)}s ${actor.padEnd(3)} ${state.padEnd(34)} ${event}`);
  }

  private async provision(): Promise<ProvisionResult> {
    this.provisionCalls.push(this.clock.now());
    const step = this.provisionScript.shift() ?? { delayMs: 500 };
    return this.after(step.delayMs, () => {
      if (step.fail) throw step.fail;
      const id = `pe${this.nextEngine++}`;
      const info = step.engine ?? engineInfo(id, 7000 + this.nextEngine);
      const feed = this.feed$.getValue();
      // The orchestrator lists it from now on (seen at the next poll).
      this.pendingEngines.push(info);
      void feed;
      return { containerId: info.containerId, containerName: info.containerName, hostHttpPort: info.port, containerHttpPort: info.port };
    });
  }

  readonly pendingEngines: EngineInfo[] = [];

  private after<T>(ms: number, fn: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.clock.setTimeout(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      }, ms);
    });
  }

  private record(ev: InspectionEvent): void {
    if (ev.type !== '@xstate.snapshot') return;
    const snap = ev.snapshot as { value?: unknown };
    // Machines only: invoked promise/callback actors have no state value.
    if (!('value' in snap)) return;
    const actor = (ev.actorRef as unknown as { id: string }).id;
    const state = stateString(snap.value);
    const last = [...this.trace].reverse().find((r) => r[1] === actor);
    if (last && last[2] === state) return;
    this.trace.push([this.clock.now(), actor, state, eventName((ev.event as { type: string }).type)]);
  }
}

/** `xstate.after.linger.session…` → `after:linger`, `xstate.done.actor.0.session.starting` → `done`. */
function eventName(type: string): string {
  const after = /^xstate\.after\.(\w+)\./.exec(type);
  if (after) return `after:${after[1]}`;
  if (type.startsWith('xstate.done.actor')) return 'done';
  if (type.startsWith('xstate.error.actor')) return 'error';
  return type === 'xstate.init' ? 'init' : type;
}

function stateString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}.${stateString(v)}`)
      .join(',');
  }
  return String(value);
}
