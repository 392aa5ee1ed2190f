/**
 * The inspector's data: live actors from the registry, history from the journal (or the hub's
 * memory), the orchestrator as the status feed sees it, and every state change live over SSE.
 */
import type { FastifyInstance } from 'fastify';
import type { SessionRegistry } from '../../core/session-registry.ts';
import type { InspectionHub } from '../../core/inspection-hub.ts';
import type { JournalEntry } from '../../domain/journal.ts';
import type { SessionHistory } from '../../core/session-history.ts';
import type { StatusFeed } from '../../adapters/status-feed.ts';
import type { EngineBroker } from '../../core/engine-broker.ts';
import type { Clock } from '../../clock.ts';
import { AcerelayError } from '../../errors.ts';
import { describeSession } from '../describe.ts';
import { liveSessionView } from '../inspector-view.ts';
import { requireToken } from '../auth.ts';
import type { SinkMonitor } from '../sink-monitor.ts';
import type { OrchestratorAuth } from '../../core/orchestrator-auth.ts';
import { SseViewers, sseMessage } from '../sse-viewers.ts';

export interface ApiDeps {
  registry: SessionRegistry;
  hub: InspectionHub;
  history: SessionHistory;
  feed: StatusFeed;
  broker: EngineBroker;
  clock: Clock;
  adminToken: string | undefined;
  mode: 'orchestrator' | 'single-engine';
  /** Demo only: the simulator's control URL, for the inspector's fault buttons. */
  simControlUrl?: string | undefined;
  /** Counts /api/events backlogs with the players' (write stall, ACERELAY_MEMORY_MAX). */
  monitor?: SinkMonitor;
  /** Whether the orchestrator accepts our API key (absent in single-engine mode). */
  auth?: OrchestratorAuth | null;
}

/** Retry-After of a 503 too_many_clients: a viewer's tab is soon closed. */
const SSE_RETRY_AFTER_S = 10;

export function orchestratorView(deps: ApiDeps) {
  const feed = deps.feed.current();
  const now = deps.clock.now();
  const s = feed.status;
  return {
    mode: deps.mode,
    feed: {
      kind: feed.kind,
      observed_at: feed.observedAt,
      age_ms: feed.observedAt === null ? null : now - feed.observedAt,
      polled_at: feed.polledAt,
      error: feed.error,
      failures: feed.failures,
    },
    status: s
      ? {
          status: s.status,
          vpn: s.vpn,
          breaker: s.provisioning.circuitBreakerState,
          can_provision: s.provisioning.canProvision,
          blocked: s.provisioning.blocked,
          capacity: s.capacity,
          engines: s.engines,
          streams: s.streams,
        }
      : null,
    broker: deps.broker.describe(),
    auth: deps.auth ? { ok: deps.auth.problem === null, status: deps.auth.problem?.status ?? null, since: deps.auth.problem?.since ?? null, message: deps.auth.problem?.message ?? null } : null,
    held: deps.registry.heldCount,
    clients: deps.registry.playerCount,
    sessions: deps.registry.sessionCount,
    sim_control: deps.simControlUrl ?? null,
  };
}

export function apiRoutes(deps: ApiDeps) {
  return async (app: FastifyInstance) => {
    const guard = requireToken(deps.adminToken);
    const { registry, hub, history } = deps;

    app.get('/api/sessions', { preHandler: guard }, async (req) => {
      const limit = Math.min(500, Math.max(1, Number((req.query as { limit?: string }).limit ?? 50) || 50));
      return {
        // describeSession plus the StateValues and ages the inspector draws from.
        live: registry.listSessions().map((s) => liveSessionView(registry, hub, s)),
        finished: history.list(limit),
      };
    });

    app.get('/api/sessions/:id', { preHandler: guard }, async (req) => {
      const { id } = req.params as { id: string };
      const live = registry.session(id);
      if (live) return { live: true, ...describeSession(registry, live), machine: 'session', value: live.actor.getSnapshot().value };
      const entries = history.entries(id);
      const last = [...entries].reverse().find((e) => e.actor === id);
      if (!last) throw new AcerelayError('not_found', `no session ${id}`);
      return { live: false, id, machine: 'session', state: last.state, value: last.value, facts: last.facts, started_at: entries[0]?.t ?? null, ended_at: last.t };
    });

    app.get('/api/sessions/:id/events', { preHandler: guard }, async (req) => {
      const { id } = req.params as { id: string };
      const entries = history.entries(id);
      const merged = entries.length > 0 ? entries : hub.entriesOfSession(id);
      if (merged.length === 0 && !registry.session(id)) throw new AcerelayError('not_found', `no session ${id}`);
      return { session: id, entries: merged };
    });

    app.get('/api/orchestrator', { preHandler: guard }, async () => orchestratorView(deps));

    const viewers = new SseViewers({
      monitor: deps.monitor,
      now: () => deps.clock.now(),
      subscribe: (broadcast) => {
        const unsubscribe = hub.subscribe((entry: JournalEntry) => broadcast('entry', entry));
        const feedSub = deps.feed.state$.subscribe(() => broadcast('orchestrator', orchestratorView(deps)));
        return () => {
          unsubscribe();
          feedSub.unsubscribe();
        };
      },
    });
    app.addHook('onClose', async () => viewers.close());

    app.get('/api/events', { preHandler: guard }, (_req, reply) => {
      if (viewers.full) throw new AcerelayError('too_many_clients', undefined, SSE_RETRY_AFTER_S);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      viewers.open(res, sseMessage('hello', { now: deps.clock.now(), orchestrator: orchestratorView(deps) }));
    });
  };
}
