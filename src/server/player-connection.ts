/**
 * One player's HTTP response, as the player machine's hands (PlayerIO) and as the fan-out's
 * sink (PlayerSink). Headers go out once — at the first hold or the first media byte, never
 * before either — and every later problem ends the socket with a reset, never a clean end
 * (a clean end looks like a finished recording to a player).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.ts';
import type { Channel } from '../fanout/channel.ts';
import type { PlayerSink } from '../fanout/player-sink.ts';
import type { PlayerIO } from '../core/player-io.ts';
import type { PlayerError, PlayerEvent, PlayerOutcome } from '../machines/player.machine.ts';
import type { KeepAlive, StreamingTarget } from './keep-alive.ts';
import type { SinkMonitor } from './sink-monitor.ts';
import type { Metrics } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { sendError } from './error-reply.ts';
import { AcerelayError } from '../errors.ts';

export interface ConnectionDeps {
  clock: Clock;
  keepAlive: KeepAlive;
  monitor: SinkMonitor;
  metrics: Metrics;
  log: Logger;
  /** TCP keep-alive probe delay for player sockets (finds half-open ones). */
  tcpKeepAliveMs?: number;
}

export const STREAM_HEADERS = {
  'content-type': 'video/mp2t',
  'cache-control': 'no-cache, no-store',
  'x-content-type-options': 'nosniff',
};

let nextSink = 0;

export class PlayerConnection implements PlayerIO, PlayerSink, StreamingTarget {
  readonly id = `c${++nextSink}`;
  private send: (event: PlayerEvent) => void = () => {};
  private channel: Channel | null = null;
  private finished = false;
  private mediaBytes = 0;
  /** Every byte handed to the response (media and keep-alive). */
  private written = 0;
  private drained: (() => void) | null = null;
  private readonly openedAt: number;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly deps: ConnectionDeps,
  ) {
    this.openedAt = deps.clock.now();
    const socket = req.socket;
    socket.setKeepAlive(true, deps.tcpKeepAliveMs ?? 15_000);
    socket.setNoDelay(true);
    // 'close' without a finish of ours: the player went away.
    res.on('close', () => {
      if (!this.finished) this.send({ type: 'DISCONNECTED' });
    });
    // One listener for the life of the response; the channel's waiter is swapped in and out.
    res.on('drain', () => {
      const fn = this.drained;
      this.drained = null;
      fn?.();
    });
  }

  /** The registry's id for this player (for log lines). */
  private playerId: string | null = null;

  /** Connects the connection to its player actor once the registry created it. */
  bind(send: (event: PlayerEvent) => void, playerId?: string): void {
    this.send = send;
    this.playerId = playerId ?? null;
    if (this.res.destroyed || this.req.socket.destroyed) send({ type: 'DISCONNECTED' });
  }

  get bytesSent(): number {
    return this.mediaBytes;
  }

  // ——— PlayerIO ———

  hold(): void {
    this.headers();
    this.deps.keepAlive.add(this);
  }

  unhold(): void {
    this.deps.keepAlive.delete(this);
  }

  attach(channel: Channel): void {
    if (this.finished) return;
    this.headers();
    this.channel = channel;
    channel.attach(this);
    const now = this.deps.clock.now();
    this.deps.monitor.add(this, now);
    this.deps.keepAlive.watch(this, now);
  }

  /** Off the fan-out, the stall watch and the monitor (at the end: the socket itself is finished next). */
  private detach(): void {
    this.channel?.detach(this);
    this.deps.monitor.delete(this);
    this.deps.keepAlive.unwatch(this);
    this.channel = null;
  }

  finish(outcome: PlayerOutcome, error: PlayerError | null): void {
    if (this.finished) return;
    this.finished = true;
    const level = outcome === 'disconnected' || outcome === 'shutdown' ? 'info' : 'warn';
    this.deps.log[level](
      { player: this.playerId ?? this.id, outcome, error: error?.code ?? null, reason: error?.message ?? null, bytes: this.mediaBytes, ms: this.deps.clock.now() - this.openedAt },
      'player ended',
    );
    this.unhold();
    this.detach();
    if (outcome === 'disconnected' || this.res.destroyed) {
      this.res.destroy();
      return;
    }
    if (!this.res.headersSent) {
      const err = error
        ? new AcerelayError(error.code, error.message, error.retryAfter)
        : new AcerelayError(outcome === 'shutdown' ? 'shutting_down' : 'engine_failed');
      sendError(this.res, err);
      return;
    }
    // Shutdown too: a player (or recorder) must not take our stop for the end of the stream.
    this.reset();
  }

  // ——— PlayerSink ———

  write(packets: Buffer): void {
    if (this.finished) return;
    if (this.mediaBytes === 0) this.deps.metrics.ttfb.observe((this.deps.clock.now() - this.openedAt) / 1000);
    this.mediaBytes += packets.length;
    this.written += packets.length;
    this.res.write(packets);
  }

  backlog(): number {
    return this.res.writableLength;
  }

  flushed(): number {
    return this.written - this.res.writableLength;
  }

  whenDrained(fn: () => void): void {
    // 'drain' follows a write the socket could not take at once; an empty backlog has had it.
    if (this.res.writableLength === 0) fn();
    else this.drained = fn;
  }

  drop(reason: 'slow' | 'memory' | 'stalled'): void {
    if (this.finished) return;
    this.deps.metrics.slowDrops.inc({ reason });
    this.deps.log.warn({ player: this.playerId ?? this.id, reason, backlog: this.backlog() }, 'player dropped');
    this.send({ type: 'DROPPED', reason });
  }

  // ——— keep-alive ———

  keepAlive(nulls: Buffer): void {
    // A held player that does not even read the keep-alive gets no more of it.
    if (!this.finished && this.res.writableLength < 64 * 1024) {
      this.written += nulls.length;
      this.res.write(nulls);
    }
  }

  private headers(): void {
    if (this.res.headersSent || this.finished) return;
    this.res.writeHead(200, STREAM_HEADERS);
    // Send the headers now: a held player sees 200 at once, not with the first packet.
    this.res.flushHeaders();
  }

  private reset(): void {
    const socket = this.res.socket ?? this.req.socket;
    // RST, not FIN: the player must see an error, not the end of a recording.
    if (socket && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
    else this.res.destroy();
  }
}
