/**
 * Prometheus metrics: the orchestrator seed's names (mirrored from the status feed) and
 * acerelay's own. One registry per acerelay instance (tests run several in one process).
 * Gauges that describe current state are computed at scrape time from their sources.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeedState } from './adapters/status-feed.ts';
import type { ByteTotals } from './fanout/channel.ts';

export interface MetricSources {
  feed: () => FeedState;
  sessionsByState: () => Record<string, number>;
  players: () => number;
  queueDepth: () => number;
  totals: ByteTotals;
  /** Whether the orchestrator accepts our API key (absent without an orchestrator). */
  orchestratorAuthOk?: () => boolean;
  /** Reads of slow engine streams that waited for the shared read tick (read-pacer.ts). */
  readsPaced?: () => number;
  /** HLS: distinct clients seen within the idle time, and the bytes every window holds. */
  hls?: () => { clients: number; windowBytes: number };
}

export class Metrics {
  readonly registry = new Registry();
  readonly provisions: Counter<'result'>;
  readonly provisioningBlocked: Counter<'code'>;
  readonly failovers: Counter;
  readonly slowDrops: Counter<'reason'>;
  readonly ttfb: Histogram;
  readonly orchestratorEvents: Counter<'type' | 'result'>;
  readonly journalErrors: Counter;
  readonly journalAvailable: Gauge;
  readonly hlsSegments: Counter;

  constructor(private sources: MetricSources | null = null) {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: 'orchestrator_status',
      help: 'The orchestrator status last seen (1 for the current one; "unknown" while unreachable)',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        const feed = self.sources?.feed();
        if (!feed || feed.kind === 'disabled') return;
        this.set({ status: feed.kind === 'fresh' && feed.status ? feed.status.status : 'unknown' }, 1);
      },
    });
    new Gauge({
      name: 'provisioning_can_provision',
      help: 'Whether the orchestrator said it can provision (last good status)',
      registers,
      collect() {
        const s = self.sources?.feed().status;
        this.set(s?.provisioning.canProvision ? 1 : 0);
      },
    });
    new Gauge({
      name: 'circuit_breaker_state',
      help: "The orchestrator's provisioning circuit breaker (1 for the current state)",
      labelNames: ['type', 'state'],
      registers,
      collect() {
        this.reset();
        const s = self.sources?.feed().status;
        if (s) this.set({ type: 'general', state: s.provisioning.circuitBreakerState }, 1);
      },
    });
    new Gauge({
      name: 'capacity_used',
      help: "The orchestrator's capacity.used",
      registers,
      collect() {
        this.set(self.sources?.feed().status?.capacity.used ?? 0);
      },
    });
    new Gauge({
      name: 'capacity_total',
      help: "The orchestrator's capacity.total",
      registers,
      collect() {
        this.set(self.sources?.feed().status?.capacity.total ?? 0);
      },
    });
    new Gauge({
      name: 'acerelay_sessions',
      help: 'Engine sessions by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(self.sources?.sessionsByState() ?? {})) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'acerelay_clients',
      help: 'Connected players: TS players, held ones included, and distinct HLS clients',
      registers,
      collect() {
        this.set(self.sources?.players() ?? 0);
      },
    });
    new Gauge({
      name: 'acerelay_hls_clients',
      help: 'Distinct HLS clients (address + user agent) seen within ACERELAY_HLS_IDLE, over every channel',
      registers,
      collect() {
        this.set(self.sources?.hls?.().clients ?? 0);
      },
    });
    new Gauge({
      name: 'acerelay_hls_window_bytes',
      help: "Bytes held in the channels' HLS windows (they count in ACERELAY_MEMORY_MAX)",
      registers,
      collect() {
        this.set(self.sources?.hls?.().windowBytes ?? 0);
      },
    });
    new Gauge({
      name: 'acerelay_orchestrator_auth_ok',
      help: 'Whether the orchestrator accepts our API key (0 after a 401/403 on a protected call, until one is accepted)',
      registers,
      collect() {
        this.reset();
        const ok = self.sources?.orchestratorAuthOk?.();
        if (ok !== undefined) this.set(ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'acerelay_queue_depth',
      help: 'Players held waiting for an engine',
      registers,
      collect() {
        this.set(self.sources?.queueDepth() ?? 0);
      },
    });
    new Counter({
      name: 'acerelay_bytes_in_total',
      help: 'Bytes read from engines',
      registers,
      collect() {
        this.reset();
        this.inc(self.sources?.totals.bytesIn ?? 0);
      },
    });
    new Counter({
      name: 'acerelay_engine_reads_paced_total',
      help: 'Reads of slow engine streams that waited for the shared 50 ms read tick instead of the next engine write',
      registers,
      collect() {
        this.reset();
        this.inc(self.sources?.readsPaced?.() ?? 0);
      },
    });
    new Counter({
      name: 'acerelay_bytes_out_total',
      help: 'Bytes written to players (stream data, keep-alive excluded)',
      registers,
      collect() {
        this.reset();
        this.inc(self.sources?.totals.bytesOut ?? 0);
      },
    });
    this.provisions = new Counter({ name: 'acerelay_provision_total', help: 'Provisioning calls by result', labelNames: ['result'], registers });
    this.provisioningBlocked = new Counter({
      name: 'acerelay_provisioning_blocked_total',
      help: 'Times provisioning was found blocked, by orchestrator code',
      labelNames: ['code'],
      registers,
    });
    this.failovers = new Counter({ name: 'acerelay_failovers_total', help: 'Mid-stream restarts of an engine session', registers });
    this.slowDrops = new Counter({
      name: 'acerelay_slow_client_drops_total',
      help: 'Players dropped for a full backlog, a stalled socket or the memory cap',
      labelNames: ['reason'],
      registers,
    });
    this.ttfb = new Histogram({
      name: 'acerelay_time_to_first_byte_seconds',
      help: 'From request to the first media byte (keep-alive excluded)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.orchestratorEvents = new Counter({
      name: 'acerelay_orchestrator_events_total',
      help: 'stream_started / stream_ended deliveries by result',
      labelNames: ['type', 'result'],
      registers,
    });
    this.hlsSegments = new Counter({ name: 'acerelay_hls_segments_served_total', help: 'HLS segments served (their bytes count in acerelay_bytes_out_total)', registers });
    this.journalErrors = new Counter({ name: 'acerelay_journal_errors_total', help: 'Journal writes, and attempts to open it, that failed', registers });
    this.journalAvailable = new Gauge({
      name: 'acerelay_journal_available',
      help: 'Whether the journal is open (0: it cannot be opened; streaming goes on without crash recovery, retried with backoff)',
      registers,
    });
  }

  attach(sources: MetricSources): void {
    this.sources = sources;
  }
}
