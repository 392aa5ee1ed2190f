/**
 * The composition root: builds one acerelay from a Config. Adapters (orchestrator, engine,
 * status feed) → broker → session registry (machines) → Fastify. Nothing else constructs these.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';
import { OrchestratorClient } from './adapters/orchestrator/client.ts';
import { EngineClient } from './adapters/engine/client.ts';
import { createStatusFeed, disabledFeed, type FeedState, type StatusFeed } from './adapters/status-feed.ts';
import { EngineBroker } from './core/engine-broker.ts';
import { SessionRegistry } from './core/session-registry.ts';
import { createUpstreamReader } from './core/upstream-reader.ts';
import { StopJanitor } from './core/stop-janitor.ts';
import { Outbox, type EventPort } from './core/event-outbox.ts';
import type { ProvisionGate } from './core/provision-gate.ts';
import type { BrokerPort } from './core/session-actors.ts';
import { StreamReconciler } from './core/stream-reconciler.ts';
import { OrphanReaper, type StatVerdict } from './core/orphan-reaper.ts';
import { moveCrowdedSessions } from './core/engine-crowding.ts';
import { instanceIds } from './core/ids.ts';
import { isSessionGone } from './adapters/engine/errors.ts';
import { OrchestratorAuth } from './core/orchestrator-auth.ts';
import { isAuthRefusal, type OrchestratorError } from './adapters/orchestrator/errors.ts';
import { JournalWriter } from './core/journal-writer.ts';
import { Journal } from './adapters/journal/journal.ts';
import { JournalKeeper } from './adapters/journal/journal-keeper.ts';
import { recoverAfterRestart, type RecoveryReport } from './core/crash-recovery.ts';
import { noStreamEvents, type StreamEventSink } from './core/stream-event-sink.ts';
import { Metrics } from './metrics.ts';
import { MAX_WAIT_MS, SEND_MIN_BYTES, type ByteTotals } from './fanout/channel.ts';
import { KeepAlive } from './server/keep-alive.ts';
import { SinkMonitor } from './server/sink-monitor.ts';
import { buildServer } from './server/app.ts';
import type { Readiness } from './server/routes/status.ts';
import { stateName } from './machines/state-name.ts';
import { InspectionHub } from './core/inspection-hub.ts';
import { journalOrMemoryHistory, type SessionHistory } from './core/session-history.ts';
import { apiRoutes } from './server/routes/api.ts';
import { inspectorRoutes } from './server/routes/inspector.ts';
import { requireToken } from './server/auth.ts';
import { HlsAudiences } from './server/hls-audiences.ts';

export interface Acerelay {
  app: FastifyInstance;
  hub: InspectionHub;
  /** Open, or still being tried (`journal.available`); writes wait in memory meanwhile. */
  journal: Journal;
  /** What the start (or a late opening of the journal) found of an earlier run (sessions stopped, ends resumed…). */
  readonly recovery: RecoveryReport | null;
  registry: SessionRegistry;
  broker: EngineBroker;
  feed: StatusFeed;
  metrics: Metrics;
  /** Every player's and /api/events viewer's backlog and every HLS window (write stall, ACERELAY_MEMORY_MAX). */
  monitor: SinkMonitor;
  /** The channels' HLS audiences. */
  hls: HlsAudiences;
  orchestrator: OrchestratorClient | null;
  /** Ends the streams of instances that died (null without an orchestrator). */
  orphans: OrphanReaper | null;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: no new players, every session stopped and announced, then the sockets. */
  close(): Promise<boolean>;
  /** Stops like `kill -9` would, inside this process: no goodbyes, no final writes. (Chaos harness.) */
  crash(): Promise<void>;
}

export interface RuntimeOptions {
  logger: Logger;
  clock?: Clock;
  /** Demo: the simulator's control URL (the inspector offers its fault switches). */
  simControlUrl?: string;
  /** Longest pause between stream-event retries (30 s; the chaos harness shortens it). */
  outboxMaxBackoffMs?: number;
  /** Changes to ports before they are wired (the chaos harness's planted faults); production sets none. */
  ports?: PortHooks;
}

/**
 * Ports changed before they are wired, as undici's `Dispatcher.compose` wraps a dispatcher.
 * The chaos harness plants its deliberate bugs through these (src/chaos/planted-faults.ts), in
 * its own acerelay only: two harness runs in one process never share one.
 */
export interface PortHooks {
  /** The broker as sessions use it. */
  broker?: (broker: BrokerPort) => BrokerPort;
  /** Makes the provisioning gate (a subclass may change how a block is probed). */
  gate?: (concurrency: number, probeIntervalMs: number) => ProvisionGate;
  /** Where sessions' stream events go (the journal writer, which hands them to the outbox). */
  streamEvents?: (sink: StreamEventSink) => StreamEventSink;
  /** The orchestrator as the outbox delivers stream events to it. */
  orchestratorEvents?: (port: EventPort) => EventPort;
}

const HOUSEKEEPING_MS = 500;
const PRUNE_EVERY_MS = 3_600_000;
/** The label naming the instance in every stream_started and provisioning call. */
export const INSTANCE_LABEL = 'acerelay.instance';
/**
 * After a stream_started lands, the status is read again this much later: a start another
 * instance made on the same engine in the same moment has landed by then (engine-crowding.ts).
 */
const CROWDING_RECHECK_MS = 3_000;

export async function createAcerelay(config: Config, opts: RuntimeOptions): Promise<Acerelay> {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger;
  const metrics = new Metrics();
  // The journal: history, the outbox's store, and what a restart recovers from. While it
  // cannot be opened acerelay still streams (history in memory) and the keeper keeps trying.
  const journal = new Journal({
    dir: config.dataDir,
    clock,
    logger: log.child({ part: 'journal' }),
    retentionMs: config.journalRetentionMs,
    maxBytes: config.journalMaxBytes,
    onWriteError: () => metrics.journalErrors.inc(),
  });
  const journalKeeper = new JournalKeeper({
    journal,
    clock,
    logger: log.child({ part: 'journal' }),
    onFailure: () => metrics.journalErrors.inc(),
    onAvailability: (open) => metrics.journalAvailable.set(open ? 1 : 0),
  });
  journalKeeper.open();
  const hub = new InspectionHub(clock, journal.maxSeq());
  const history: SessionHistory = journalOrMemoryHistory(journal, hub);
  const totals: ByteTotals = { bytesIn: 0, bytesOut: 0 };

  const orchestrator = config.orchUrl
    ? new OrchestratorClient({
        baseUrl: config.orchUrl,
        apiKey: config.orchApiKey,
        readTimeoutMs: config.statusTimeoutMs,
        clock,
        streamLabels: { [INSTANCE_LABEL]: config.instance },
      })
    : null;
  const auth = orchestrator ? new OrchestratorAuth(clock, log, config.orchApiKey !== undefined) : null;
  // A slow stream's bytes wait for a read tick in the kernel instead of for company in the
  // channel: the same wait and the same send's worth (read-pacer.ts).
  const engineClient = new EngineClient({
    noResponseTimeoutMs: config.noResponseTimeoutMs,
    emptyTimeoutMs: config.emptyTimeoutMs,
    clock,
    readPacing: { tickMs: MAX_WAIT_MS, sendBytes: SEND_MIN_BYTES },
  });
  // Its retried stops free room on their engine when they land: the broker re-decides then.
  let onStopLanded = () => {};
  const janitor = new StopJanitor(engineClient, clock, { log, store: journal, onSettled: () => onStopLanded() });
  // The engine as the sessions and the recovery use it: stops are retried until they land.
  const enginePort = {
    start: engineClient.start.bind(engineClient),
    version: engineClient.version.bind(engineClient),
    stop: (url: string) => janitor.stop(url),
  };

  // The registry is created below; the feed asks it how many players are held.
  let registry: SessionRegistry | null = null;
  const feed: StatusFeed = orchestrator
    ? createStatusFeed({
        source: orchestrator,
        clock,
        intervalMs: config.statusIntervalMs,
        degradedIntervalMs: config.statusIntervalDegradedMs,
        heldIntervalMs: config.statusIntervalHeldMs,
        timeoutMs: config.statusTimeoutMs,
        held: () => registry?.heldCount ?? 0,
      })
    : disabledFeed();

  const broker = new EngineBroker(
    {
      clock,
      maxPerEngine: config.maxStreamsPerEngine,
      pendingStops: (origin) => janitor.pendingOn(origin),
      provisionConcurrency: config.provisionConcurrency,
      probeIntervalMs: config.probeIntervalMs,
      gate: opts.ports?.gate?.(config.provisionConcurrency, config.probeIntervalMs),
      singleEngineUrl: orchestrator ? undefined : config.engineUrl,
      fallbackEngineUrl: orchestrator ? config.engineUrl : undefined,
      orchestrator: orchestrator
        ? {
            provision: async () => {
              try {
                const r = await orchestrator.provision({ labels: { 'acerelay.provisioned': 'true', [INSTANCE_LABEL]: config.instance } });
                metrics.provisions.inc({ result: 'ok' });
                auth?.accepted();
                return r;
              } catch (err) {
                const code = (err as { reason?: string }).reason;
                metrics.provisions.inc({ result: 'failed' });
                if (code) metrics.provisioningBlocked.inc({ code });
                if (isAuthRefusal(err)) auth?.refused(err as OrchestratorError);
                throw err;
              }
            },
            locate: async (r) => {
              const info = await orchestrator.engine(r.containerId).catch(() => null);
              if (info) return { host: info.host, port: info.port };
              // Not listed yet: the engine's published port on the orchestrator's host.
              return { host: new URL(orchestrator.baseUrl).hostname, port: r.hostHttpPort ?? 6878 };
            },
          }
        : undefined,
      onEnginesChanged: () => feed.kick(),
    },
    feed.current(),
  );
  onStopLanded = () => broker.capacityChanged();

  // The timers below stop with the process (stopTimers).
  let recheck: TimerHandle | undefined;
  let timersStopped = false;
  const outbox = orchestrator
    ? new Outbox({
        port: hooked(opts.ports?.orchestratorEvents, {
          streamStarted: (ev) => orchestrator.streamStarted(ev),
          streamEnded: (ev) => orchestrator.streamEnded(ev),
          startedStreams: async () => new Map((await orchestrator.streams({ status: 'started' })).map((s) => [s.id, s.containerId])),
        }),
        clock,
        logger: log.child({ part: 'outbox' }),
        persistence: journal,
        maxBackoffMs: opts.outboxMaxBackoffMs,
        onResult: (type, result) => {
          metrics.orchestratorEvents.inc({ type, result });
          // Another instance may have chosen the same engine at the same moment: look now, and
          // again once its stream_started has surely landed too (engine-crowding.ts).
          if (type === 'stream_started' && result === 'ok') {
            feed.kick();
            if (recheck === undefined && !timersStopped) {
              recheck = clock.setTimeout(() => {
                recheck = undefined;
                feed.kick();
              }, CROWDING_RECHECK_MS);
            }
          }
        },
        onAuthFailure: (err) => auth?.refused(err),
        onAuthOk: () => auth?.accepted(),
      })
    : null;
  // Filled in once the registry exists: the stream ids our live sessions run.
  let runningStreams = (): Set<string> => new Set();
  const reconciler = outbox
    ? new StreamReconciler({
        outbox,
        clock,
        logger: log.child({ part: 'reconcile' }),
        isOurs: (id) => broker.isOurs(id) || journal.knowsStream(id),
        running: () => runningStreams(),
      })
    : null;

  // Filled in once the registry exists: our sessions that crowd an engine leave it.
  let moveCrowded = (_engines: NonNullable<FeedState['engines']>): void => {};
  let lastBlocked: string | null = null;
  let lastFresh: FeedState = feed.current();
  let lastKind = lastFresh.kind;
  const feedSub = feed.state$.subscribe((state) => {
    broker.updateFeed(state);
    if (state.kind === 'fresh' && state.engines) moveCrowded(state.engines);
    const code = state.kind === 'fresh' ? state.status?.provisioning.blocked?.code ?? null : null;
    if (code && code !== lastBlocked) metrics.provisioningBlocked.inc({ code });
    lastBlocked = code;
    if (reconciler && shouldReconcile(lastKind, lastFresh, state, clock.now() - reconciler.lastRunAt)) void reconciler.check();
    lastKind = state.kind;
    if (state.kind === 'fresh') lastFresh = state;
  });
  const journalWriter = new JournalWriter(hub, journal, outbox);
  const events: StreamEventSink = hooked(opts.ports?.streamEvents, orchestrator ? journalWriter : noStreamEvents);

  const recover = () =>
    recoverAfterRestart({
      journal,
      nextSeq: () => hub.nextSeq(),
      writer: journalWriter,
      outbox,
      janitor,
      clock,
      logger: log,
      announce: orchestrator !== null,
    });
  let recovery: RecoveryReport | null = journal.available ? await recover() : null;
  // Opened late: numbers continue past the file's, and an earlier run it shows is recovered now.
  journalKeeper.onLateOpen(() => {
    hub.skipTo(journal.maxSeq());
    recover().then(
      (r) => (recovery = r),
      (err: Error) => log.error({ err: err.message }, 'crash recovery after the journal opened failed'),
    );
  });

  registry = new SessionRegistry({
    clock,
    lingerMs: config.lingerMs,
    holdMaxMs: config.holdMaxMs,
    queueMax: config.queueMax,
    bufferBytes: config.bufferBytes,
    broker: hooked(opts.ports?.broker, broker),
    ids: instanceIds(config.instance),
    engine: enginePort,
    upstream: createUpstreamReader({
      engine: engineClient,
      clock,
      emptyTimeoutMs: config.emptyTimeoutMs,
      noResponseTimeoutMs: config.noResponseTimeoutMs,
      logger: log,
    }),
    events,
    logger: log,
    totals,
    observer: hub,
    durable: () => journal.flush(),
    // A held player wants fresh news: poll now, then on the faster cadence.
    onFirstHeld: () => feed.kick(),
    onFailover: () => metrics.failovers.inc(),
  });
  const theRegistry = registry;
  runningStreams = () => {
    const ids = new Set<string>();
    for (const s of theRegistry.listSessions()) {
      const id = s.actor.getSnapshot().context.streamId;
      if (id) ids.add(id);
    }
    return ids;
  };
  const ours = (id: string) => broker.isOurs(id) || journal.knowsStream(id);
  moveCrowded = (engines) => void moveCrowdedSessions(theRegistry, engines, config.maxStreamsPerEngine, ours, log);

  // Streams of an instance that died and never came back: ended by whoever finds them.
  const reaper =
    orchestrator && outbox
      ? new OrphanReaper({
          list: async () => (await orchestrator.streams({ status: 'started' })).map((s) => ({ id: s.id, containerId: s.containerId, statUrl: s.statUrl })),
          engines: () => feed.current().engines ?? [],
          stat: (url) => engineClient.stat(url).then((): StatVerdict => 'alive', (err: unknown): StatVerdict => (isSessionGone(err) ? 'gone' : 'unknown')),
          isOurs: (id) => outbox.has(id) || ours(id) || runningStreams().has(id),
          end: (s) => outbox.enqueue({ streamId: s.id, type: 'stream_ended', containerId: s.containerId, payload: { containerId: s.containerId, streamId: s.id, reason: 'proxy_restart' } }),
          clock,
          logger: log.child({ part: 'orphans' }),
          confirmMs: config.orphanCheckIntervalMs,
        })
      : null;
  let reaping: TimerHandle | undefined;
  const reap = () => {
    reaping = undefined;
    void reaper!.check().finally(() => {
      if (!timersStopped) reaping = clock.setTimeout(reap, config.orphanCheckIntervalMs);
    });
  };
  if (reaper) reaping = clock.setTimeout(reap, config.orphanCheckIntervalMs);

  const keepAlive = new KeepAlive();
  const monitor = new SinkMonitor(config.writeStallTimeoutMs, config.memoryMaxBytes);
  const hls = new HlsAudiences(registry, {
    clock,
    monitor,
    log: log.child({ part: 'hls' }),
    onDrop: (reason) => metrics.slowDrops.inc({ reason }),
    settings: { segmentMs: config.hlsSegmentMs, window: config.hlsWindow, idleMs: config.hlsIdleMs, firstWaitMs: config.hlsFirstWaitMs },
  });
  let housekeeping: TimerHandle | undefined;
  const tick = () => {
    keepAlive.tick(clock.now());
    hls.sweep(clock.now());
    monitor.check(clock.now());
    theRegistry.contentFailures.sweep();
    housekeeping = clock.setTimeout(tick, HOUSEKEEPING_MS);
  };
  housekeeping = clock.setTimeout(tick, HOUSEKEEPING_MS);
  let pruning: TimerHandle | undefined;
  const prune = () => {
    journal.prune();
    pruning = clock.setTimeout(prune, PRUNE_EVERY_MS);
  };
  pruning = clock.setTimeout(prune, PRUNE_EVERY_MS);

  metrics.attach({
    feed: () => feed.current(),
    sessionsByState: () => {
      const out: Record<string, number> = {};
      for (const s of theRegistry.listSessions()) {
        const name = stateName(s.actor.getSnapshot().value);
        out[name] = (out[name] ?? 0) + 1;
      }
      return out;
    },
    players: () => theRegistry.playerCount - hls.audiences + hls.clients,
    hls: () => ({ clients: hls.clients, windowBytes: hls.windowBytes }),
    queueDepth: () => theRegistry.heldCount,
    totals,
    readsPaced: () => engineClient.readsPaced,
    ...(auth ? { orchestratorAuthOk: () => auth.problem === null } : {}),
  });

  const readiness: Readiness = {
    check: async () => {
      // Streams are served without it, but a crash now would leave them running to nobody.
      const missing = journalKeeper.missing;
      if (missing) return { code: 'journal_unavailable', reason: `journal unavailable (${missing.error})`, etaSeconds: Math.max(1, missing.retryInMs / 1000) };
      if (!orchestrator) {
        try {
          await engineClient.version(config.engineUrl!);
          return null;
        } catch (err) {
          return { reason: `the engine does not answer: ${(err as Error).message}`, etaSeconds: null };
        }
      }
      const state = feed.current();
      if (state.kind !== 'fresh') return { reason: `orchestrator status unknown: ${state.error ?? 'no answer yet'}`, etaSeconds: null };
      if (auth?.problem) return { reason: `orchestrator_auth: the orchestrator answered ${auth.problem.status} to a protected call; check ACERELAY_ORCH_APIKEY`, etaSeconds: null };
      const r = broker.readiness();
      return r.ready ? null : { reason: r.reason ?? 'blocked', etaSeconds: state.status?.provisioning.blocked?.etaSeconds ?? null };
    },
  };

  // What the API and the inspector show.
  const views = {
    registry,
    hub,
    history,
    feed,
    broker,
    clock,
    auth,
    adminToken: config.adminToken,
    mode: orchestrator ? ('orchestrator' as const) : ('single-engine' as const),
    simControlUrl: opts.simControlUrl,
  };
  const app = await buildServer({
    registry,
    readiness,
    connection: { clock, keepAlive, monitor, metrics, log },
    metrics,
    logger: log,
    metricsGuard: requireToken(config.adminToken),
    hls: { audiences: hls, totals, onSegment: () => metrics.hlsSegments.inc() },
    plugins: [
      apiRoutes({ ...views, monitor }),
      inspectorRoutes(views),
    ],
  });

  let closing: Promise<boolean> | null = null;
  const stopTimers = () => {
    timersStopped = true;
    if (housekeeping !== undefined) clock.clearTimeout(housekeeping);
    if (pruning !== undefined) clock.clearTimeout(pruning);
    if (reaping !== undefined) clock.clearTimeout(reaping);
    if (recheck !== undefined) clock.clearTimeout(recheck);
  };
  return {
    app,
    hub,
    journal,
    get recovery() {
      return recovery;
    },
    registry,
    broker,
    feed,
    metrics,
    monitor,
    hls,
    orchestrator,
    orphans: reaper,
    async listen() {
      const address = await app.listen({ host: config.listen.host ?? '::', port: config.listen.port });
      return address.replace('[::]', '127.0.0.1').replace('[::1]', '127.0.0.1');
    },
    close() {
      closing ??= (async () => {
        // Stop accepting first; live players are ended by the registry.
        app.server.close();
        const clean = await theRegistry.shutdown(config.shutdownGraceMs);
        stopTimers();
        app.server.closeAllConnections();
        await app.close();
        feedSub.unsubscribe();
        feed.close();
        broker.close();
        outbox?.close();
        janitor.close();
        journalWriter.close();
        journalKeeper.close();
        journal.close();
        await Promise.allSettled([engineClient.close(), orchestrator?.close()]);
        return clean;
      })();
      return closing;
    },
    async crash() {
      if (closing) return;
      closing = Promise.resolve(false);
      // Nothing more reaches the journal: what a killed process never wrote stays unwritten.
      journalWriter.close();
      journalKeeper.close();
      journal.abandon();
      outbox?.close();
      janitor.close();
      stopTimers();
      feedSub.unsubscribe();
      feed.close();
      broker.close();
      theRegistry.abandon();
      app.server.closeAllConnections();
      app.server.close();
      await Promise.allSettled([engineClient.destroy(), orchestrator?.destroy()]);
    },
  };
}

function hooked<T>(hook: ((port: T) => T) | undefined, port: T): T {
  return hook ? hook(port) : port;
}

/** How often the orchestrator's stream list is compared with ours when nothing else asks for it. */
export const RECONCILE_EVERY_MS = 5 * 60_000;

/**
 * Compare the orchestrator's stream list with ours when it may have forgotten (it answers again
 * after being unreachable, or an engine id we knew is gone: a restart brings engines back under
 * new ids) and now and then regardless.
 */
function shouldReconcile(lastKind: FeedState['kind'], before: FeedState, now: FeedState, sinceLastMs: number): boolean {
  if (now.kind !== 'fresh' || !now.engines) return false;
  if (lastKind !== 'fresh' || before.kind !== 'fresh' || !before.engines) return true;
  const listed = new Set(now.engines.map((e) => e.containerId));
  if (before.engines.some((e) => !listed.has(e.containerId))) return true;
  return sinceLastMs >= RECONCILE_EVERY_MS;
}
