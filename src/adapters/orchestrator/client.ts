/**
 * The orchestrator contract as one object, bound to a base URL, key, connection pool and
 * timeouts. Everything else in acerelay talks to the orchestrator through this.
 */
import { Agent, type Dispatcher } from 'undici';
import type { OrchestratorHttpOptions } from './http.ts';
import { getStatus } from './status.ts';
import { getEngine, listEngines } from './engines.ts';
import { listStreams } from './streams.ts';
import { provision, type ProvisionRequest } from './provision.ts';
import { sendStreamEnded, sendStreamStarted } from './events.ts';
import { getHealthStatus, getVpnStatus } from './diagnostics.ts';
import type { StreamEndedEvent, StreamStartedEvent } from './types.ts';
import type { Clock } from '../../clock.ts';

export interface OrchestratorClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** Reads (status, engines, streams): short, so a stalled orchestrator reads as "unknown" soon. */
  readTimeoutMs?: number;
  /** Provisioning blocks until the container runs (up to ~25 s in the field). */
  provisionTimeoutMs?: number;
  /** Stream events. */
  eventTimeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Whose time the deadlines run on (the system's by default). */
  clock?: Clock;
  /** Labels added to every stream_started (the instance that sends it). */
  streamLabels?: Record<string, string>;
}

export class OrchestratorClient {
  readonly baseUrl: string;
  private readonly http: OrchestratorHttpOptions;
  private readonly ownDispatcher: Agent | undefined;
  private readonly provisionTimeoutMs: number;
  private readonly eventTimeoutMs: number;
  private readonly streamLabels: Record<string, string>;

  constructor(options: OrchestratorClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.ownDispatcher = options.dispatcher ? undefined : new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
    this.http = {
      baseUrl: this.baseUrl,
      apiKey: options.apiKey,
      dispatcher: options.dispatcher ?? this.ownDispatcher,
      timeoutMs: options.readTimeoutMs ?? 5_000,
      clock: options.clock,
    };
    this.provisionTimeoutMs = options.provisionTimeoutMs ?? 60_000;
    this.eventTimeoutMs = options.eventTimeoutMs ?? 10_000;
    this.streamLabels = { ...options.streamLabels };
  }

  status(options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    return getStatus(this.http, options);
  }

  engines(options: { signal?: AbortSignal } = {}) {
    return listEngines(this.http, options);
  }

  engine(containerId: string, options: { signal?: AbortSignal } = {}) {
    return getEngine(this.http, containerId, options);
  }

  streams(filter: { status?: 'started' | 'ended'; containerId?: string } = {}, options: { signal?: AbortSignal } = {}) {
    return listStreams(this.http, filter, options);
  }

  provision(req: ProvisionRequest = {}, options: { signal?: AbortSignal } = {}) {
    return provision(this.http, req, { timeoutMs: this.provisionTimeoutMs, signal: options.signal });
  }

  streamStarted(ev: StreamStartedEvent, options: { signal?: AbortSignal } = {}) {
    return sendStreamStarted(this.http, ev, { timeoutMs: this.eventTimeoutMs, ...options }, this.streamLabels);
  }

  streamEnded(ev: StreamEndedEvent, options: { signal?: AbortSignal } = {}) {
    return sendStreamEnded(this.http, ev, { timeoutMs: this.eventTimeoutMs, ...options });
  }

  vpnStatus() {
    return getVpnStatus(this.http);
  }

  healthStatus() {
    return getHealthStatus(this.http);
  }

  async close(): Promise<void> {
    await this.ownDispatcher?.close();
  }

  async destroy(): Promise<void> {
    await this.ownDispatcher?.destroy();
  }
}
