/**
 * One channel's HLS viewers as one player (PlayerIO): the player machine decides hold, refuse,
 * attach and the end as for any player; here those mean
 *  - hold: the playlist requests wait (no socket to keep alive);
 *  - attach: the segmenter starts taking the channel's bytes (from its join point);
 *  - finish: the window is dropped; waiting playlist requests get the error, if any (the other
 *    clients get it from HlsEndings on their next request).
 * It has no socket to watch, so it leaves (DISCONNECTED, like a closed socket) once no playlist
 * or segment request came for the idle time. Its window counts in ACERELAY_MEMORY_MAX.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.ts';
import type { Channel } from '../fanout/channel.ts';
import { HlsSegmenter, type HlsSegment } from '../fanout/hls-segmenter.ts';
import { renderPlaylist } from '../fanout/hls-playlist.ts';
import type { PlayerIO } from '../core/player-io.ts';
import type { SessionPhase } from '../domain/session.ts';
import type { PlayerError, PlayerEvent, PlayerOutcome } from '../machines/player.machine.ts';
import { AcerelayError } from '../errors.ts';
import type { SinkMonitor, WatchedSink } from './sink-monitor.ts';
import type { Logger } from '../log.ts';

export interface HlsSettings {
  segmentMs: number;
  /** Segments listed in the playlist. */
  window: number;
  idleMs: number;
  firstWaitMs: number;
}

export interface AudienceDeps {
  clock: Clock;
  monitor: SinkMonitor;
  log: Logger;
  settings: HlsSettings;
  /** A window was dropped for ACERELAY_MEMORY_MAX (metrics). */
  onDrop?: (reason: 'memory' | 'stalled') => void;
}

/** How a playlist request's wait for the first segment ended. */
export type FirstSegment = { kind: 'ready' } | { kind: 'ended'; error: AcerelayError } | { kind: 'timeout' };

/**
 * Segments stay fetchable this many more after they leave the playlist: RFC 8216 §6.2.2 wants
 * a removed segment available for its duration plus the playlist's.
 */
export const KEPT_AFTER_WINDOW_EXTRA = 1;

export class HlsAudience implements PlayerIO {
  readonly transport = 'hls' as const;
  readonly segmenter: HlsSegmenter;
  /** The URL part that names this audience's segments: a hash of its session key and session id. */
  token = '';
  playerId: string | null = null;
  sessionId: string | null = null;
  lastRequestAt: number;
  private send: (event: PlayerEvent) => void = () => {};
  private phase: () => SessionPhase | null = () => null;
  private channel: Channel | null = null;
  private ended: AcerelayError | null = null;
  private finished = false;
  /** Playlist requests waiting for the first segment → their client. */
  private readonly waiters = new Map<(r: FirstSegment) => void, string | undefined>();
  /** Set by an end with an error: the clients that were part of the audience and did not get it. */
  private untold: string[] | null = null;
  /** Distinct clients (address + user agent) → when last seen. */
  private readonly clients = new Map<string, number>();
  private readonly memory: WatchedSink;
  private readonly keep: number;
  segmentsServed = 0;
  bytesServed = 0;

  constructor(
    readonly key: string,
    private readonly deps: AudienceDeps,
    private readonly onEnd: (audience: HlsAudience) => void,
  ) {
    const { settings, clock } = deps;
    this.lastRequestAt = clock.now();
    this.keep = settings.window * 2 + KEPT_AFTER_WINDOW_EXTRA;
    this.segmenter = new HlsSegmenter({
      id: `hls:${key}`,
      targetMs: settings.segmentMs,
      keep: this.keep,
      now: () => clock.now(),
      onSegment: () => this.resolveWaiters({ kind: 'ready' }),
    });
    this.memory = {
      backlog: () => this.segmenter.bytes,
      flushed: () => 0,
      drop: (reason) => {
        this.deps.onDrop?.(reason);
        this.deps.log.warn({ player: this.playerId, reason, window_bytes: this.segmenter.bytes }, 'HLS window dropped');
        this.send({ type: 'DROPPED', reason });
      },
    };
  }

  /** Connects it to its player actor once the registry created it. */
  bind(send: (event: PlayerEvent) => void, playerId: string, sessionId: string, phase: () => SessionPhase | null): void {
    this.send = send;
    this.phase = phase;
    this.playerId = playerId;
    this.sessionId = sessionId;
    this.token = createHash('sha256').update(`${this.key}\n${sessionId}`).digest('base64url').slice(0, 22);
  }

  /** The ETA of the wait the session reports, if it waits. */
  waitEtaSeconds(): number | null {
    const phase = this.phase();
    return phase?.kind === 'waiting' ? phase.wait.etaSeconds : null;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** A playlist or segment request from `client` (address + user agent). */
  touch(client: string): void {
    const now = this.deps.clock.now();
    this.lastRequestAt = now;
    this.clients.set(client, now);
  }

  clientCount(): number {
    const since = this.deps.clock.now() - this.deps.settings.idleMs;
    for (const [client, seen] of this.clients) if (seen < since) this.clients.delete(client);
    return this.clients.size;
  }

  /** Leaves like a closed socket when nobody asked for anything within the idle time. */
  sweep(now: number): void {
    // A playlist request still waiting for the first segment is a viewer present.
    if (this.waiters.size > 0) this.lastRequestAt = now;
    if (!this.finished && now - this.lastRequestAt >= this.deps.settings.idleMs) {
      this.deps.log.info({ player: this.playerId, idle_ms: now - this.lastRequestAt }, 'HLS viewers gone quiet');
      this.send({ type: 'DISCONNECTED' });
    }
  }

  /**
   * Resolves when a segment is complete (at once if one is), the audience ended, or `ms` passed.
   * `signal`: the request went away (the waiter is dropped). `client`: whose request it is.
   */
  firstSegment(ms: number, signal?: AbortSignal, client?: string): Promise<FirstSegment> {
    if (this.ended) return Promise.resolve({ kind: 'ended', error: this.ended });
    if (this.segmenter.window.length > 0) return Promise.resolve({ kind: 'ready' });
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (r: FirstSegment) => {
        this.waiters.delete(done);
        // Its answer is the viewer's latest sign of life.
        this.lastRequestAt = Math.max(this.lastRequestAt, this.deps.clock.now());
        if (timer !== undefined) this.deps.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const onAbort = () => done({ kind: 'timeout' });
      this.waiters.set(done, client);
      timer = this.deps.clock.setTimeout(() => done({ kind: 'timeout' }), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  playlist(query: string): string {
    const { segmenter } = this;
    return renderPlaylist({
      window: segmenter.window,
      listed: this.deps.settings.window,
      targetS: this.deps.settings.segmentMs / 1000,
      longestS: segmenter.longestS,
      uri: (seq) => `hls/${this.token}/${seq}.ts${query ? `?${query}` : ''}`,
    });
  }

  /** A segment by sequence number: found, gone (left the window), or not there yet. */
  segment(seq: number): HlsSegment | 'gone' | 'unknown' {
    const window = this.segmenter.window;
    const found = this.segmenter.segment(seq);
    if (found) return found;
    return window.length > 0 && seq < window[0]!.seq ? 'gone' : 'unknown';
  }

  /** How long a segment stays fetchable, in seconds (its Cache-Control max-age). */
  get keptForS(): number {
    return Math.max(1, Math.floor((this.keep * this.deps.settings.segmentMs) / 1000));
  }

  // ——— PlayerIO ———

  hold(): void {}

  unhold(): void {}

  attach(channel: Channel): void {
    if (this.finished || this.channel) return;
    this.channel = channel;
    channel.attach(this.segmenter);
    this.deps.monitor.add(this.memory, this.deps.clock.now(), 'window');
  }

  finish(outcome: PlayerOutcome, error: PlayerError | null): void {
    if (this.finished) return;
    this.finished = true;
    this.channel?.detach(this.segmenter);
    this.channel = null;
    this.deps.monitor.delete(this.memory);
    this.segmenter.close();
    this.ended = error
      ? new AcerelayError(error.code, error.message, error.retryAfter)
      : new AcerelayError(outcome === 'shutdown' ? 'shutting_down' : outcome === 'disconnected' || outcome === 'dropped' ? 'stream_not_ready' : 'engine_failed');
    const level = outcome === 'disconnected' || outcome === 'shutdown' ? 'info' : 'warn';
    this.deps.log[level]({ player: this.playerId, outcome, error: error?.code ?? null, segments: this.segmentsServed, bytes: this.bytesServed }, 'HLS audience ended');
    if (outcome === 'refused' || outcome === 'failed' || outcome === 'aborted') {
      // "The clients that were part of it": those it counts (address + user agent seen within
      // the idle time, as /ace/status counts them), but for those whose playlist request is
      // answered right now. A window dropped for memory, the idle end and a shutdown are not
      // remembered: their viewers' next request starts a new audience, as before.
      const told = new Set(this.waiters.values());
      const since = this.deps.clock.now() - this.deps.settings.idleMs;
      this.untold = [...this.clients].filter(([client, seen]) => seen >= since && !told.has(client)).map(([client]) => client);
    }
    this.resolveWaiters({ kind: 'ended', error: this.ended });
    this.onEnd(this);
  }

  /** How it ended, if with an error, and who has not been told. */
  get errorEnd(): { error: AcerelayError; untold: string[] } | null {
    return this.ended && this.untold ? { error: this.ended, untold: this.untold } : null;
  }

  private resolveWaiters(r: FirstSegment): void {
    for (const w of [...this.waiters.keys()]) w(r);
  }
}
