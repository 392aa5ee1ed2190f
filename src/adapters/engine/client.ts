/**
 * The engine contract as one object: a shared connection pool and the timeouts from
 * configuration. One client serves every engine; calls name the engine by its base URL.
 */
import { Agent, type Dispatcher } from 'undici';
import { startSession, type StartRequest } from './start.ts';
import { openPlayback } from './playback.ts';
import type { EngineBody } from './engine-body.ts';
import { ReadPacer, type ReadPacing } from './read-pacer.ts';
import { getStat } from './stat.ts';
import { stopSession } from './stop.ts';
import { getVersion } from './version.ts';
import type { Clock } from '../../clock.ts';

export interface EngineClientOptions {
  /** Start call and playback headers (ACERELAY_NO_RESPONSE_TIMEOUT). */
  noResponseTimeoutMs: number;
  /** Longest silence in a playback body (ACERELAY_EMPTY_TIMEOUT). */
  emptyTimeoutMs: number;
  /** Stat, stop and version calls. */
  controlTimeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Whose time the deadlines run on (the system's by default). */
  clock?: Clock;
  /** Slow playback bodies read once a tick (read-pacer.ts); none: every read as the bytes come. */
  readPacing?: ReadPacing;
}

export class EngineClient {
  private readonly own: Agent | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly controlTimeoutMs: number;
  /** Playback bodies still open: they have sockets of their own, outside the pool. */
  private readonly bodies = new Set<EngineBody>();
  /** One read tick for every playback body: the slow ones all read in the same turn. */
  private readonly pacer: ReadPacer | undefined;

  constructor(private readonly options: EngineClientOptions) {
    // Engines live behind a VPN container and come and go: short connect timeout, no limit
    // on connections (each playback body holds one for its whole life).
    this.own = options.dispatcher ? undefined : new Agent({ keepAliveTimeout: 5_000, connect: { timeout: 5_000 } });
    this.dispatcher = options.dispatcher ?? this.own!;
    this.controlTimeoutMs = options.controlTimeoutMs ?? 5_000;
    this.pacer = options.readPacing ? new ReadPacer(options.readPacing) : undefined;
  }

  /** Reads of slow playback bodies that waited for the read tick, so far (0 without pacing). */
  get readsPaced(): number {
    return this.pacer?.parks ?? 0;
  }

  start(engineBase: string, req: StartRequest, signal?: AbortSignal) {
    return startSession(engineBase, req, { timeoutMs: this.options.noResponseTimeoutMs, signal, dispatcher: this.dispatcher, clock: this.options.clock });
  }

  playback(playbackUrl: string, signal?: AbortSignal) {
    return openPlayback(playbackUrl, {
      headersTimeoutMs: this.options.noResponseTimeoutMs,
      bodyTimeoutMs: this.options.emptyTimeoutMs,
      signal,
      clock: this.options.clock,
      pacer: this.pacer,
      onBody: (body) => {
        this.bodies.add(body);
        body.once('close', () => this.bodies.delete(body));
      },
    });
  }

  stat(statUrl: string, signal?: AbortSignal) {
    return getStat(statUrl, { timeoutMs: this.controlTimeoutMs, signal, dispatcher: this.dispatcher, clock: this.options.clock });
  }

  stop(commandUrl: string, signal?: AbortSignal) {
    return stopSession(commandUrl, { timeoutMs: this.controlTimeoutMs, signal, dispatcher: this.dispatcher, clock: this.options.clock });
  }

  version(engineBase: string, signal?: AbortSignal) {
    return getVersion(engineBase, { timeoutMs: this.controlTimeoutMs, signal, dispatcher: this.dispatcher, clock: this.options.clock });
  }

  async close(): Promise<void> {
    await this.own?.close();
  }

  /** Drops every connection at once (open playback bodies included). */
  async destroy(): Promise<void> {
    for (const body of this.bodies) body.destroy();
    await this.own?.destroy();
  }
}
