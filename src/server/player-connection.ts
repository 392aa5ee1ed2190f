/**
 * One player's HTTP response, as the player machine's hands (PlayerIO) and as the fan-out's
 * sink (PlayerSink). Headers go out once — at the first hold or the first media byte, never
 * before either — and every later problem ends the socket with a reset, never a clean end
 * (a clean end looks like a finished recording to a player).
 *
 * Once the headers are in the socket, the body goes to the socket itself, framed once per
 * channel send (chunked-body.ts) rather than by `res.write` per player: the response never
 * ends (a reset does), so nothing of Node's own body handling is needed after the head.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from '../clock.ts';
import type { Channel } from '../fanout/channel.ts';
import type { PlayerSink } from '../fanout/player-sink.ts';
import type { OutChunk } from '../fanout/out-chunk.ts';
import { CRLF, chunkHead, frameChunk } from './chunked-body.ts';
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
  /** The socket the body goes to once the head is in it (null: through `res`, framed by Node). */
  private body: Socket | null = null;
  /** Whether the body is chunked (HTTP/1.1) or runs to the end of the connection (HTTP/1.0). */
  private chunked = true;
  /** Corked until the end of this turn (see write). */
  private corked = false;

  private readonly uncork = (): void => {
    this.corked = false;
    this.body?.uncork();
  };

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
    res.on('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    const fn = this.drained;
    this.drained = null;
    fn?.();
  };

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

  write(chunk: OutChunk): void {
    if (this.finished) return;
    if (this.mediaBytes === 0) this.deps.metrics.ttfb.observe((this.deps.clock.now() - this.openedAt) / 1000);
    this.mediaBytes += chunk.length;
    const body = this.body;
    if (body) {
      if (body.destroyed) return;
      if (chunk.next) {
        // A send split over slabs: all its parts in one writev.
        const cork = !this.corked;
        if (cork) body.cork();
        for (let part: OutChunk | null = chunk; part; part = part.next) this.put(body, part);
        if (cork) body.uncork();
      } else if (!this.chunked || chunk.framed) {
        this.put(body, chunk);
      } else {
        // Not framed (a joiner's first, partial chunk of the replay window): framed around it.
        // What one turn writes leaves in one writev at the end of it, as `res.write` would do.
        const head = chunkHead(chunk.length);
        this.written += head.length + chunk.length + 2;
        if (!this.corked) {
          this.corked = true;
          body.cork();
          process.nextTick(this.uncork);
        }
        body.write(head);
        body.write(chunk.data);
        body.write(CRLF);
      }
      return;
    }
    // Node frames each part itself (a response not yet given its socket: pipelined behind another).
    for (let part: OutChunk | null = chunk; part; part = part.next) {
      this.written += part.data.length;
      this.res.write(part.data);
    }
  }

  /** One chunk that needs no framing of its own (in a slab, or an HTTP/1.0 body). */
  private put(body: Socket, chunk: OutChunk): void {
    const wire = this.chunked ? chunk.framed! : chunk.data;
    this.written += wire.length;
    body.write(wire);
  }

  backlog(): number {
    // A finished player holds nothing: its socket is destroyed at the finish, and a response
    // that never got its socket (pipelined behind an endless one) keeps its queue's count for
    // ever — counted, it would pin the channel's slabs for the rest of the channel's life.
    if (this.finished) return 0;
    // The response's own queue is empty once the body goes to the socket; a destroyed
    // socket sends nothing more (its queue is neither memory to count nor bytes to wait for).
    if (this.body) return this.body.destroyed ? 0 : this.body.writableLength;
    return this.res.writableLength;
  }

  flushed(): number {
    return this.written - this.res.writableLength;
  }

  whenDrained(fn: () => void): void {
    // 'drain' follows a write the socket could not take at once; an empty backlog has had it.
    if (this.backlog() === 0) fn();
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
    if (this.finished || this.backlog() >= 64 * 1024) return;
    const body = this.body;
    if (body) {
      if (body.destroyed) return;
      const wire = this.chunked ? framedNulls(nulls) : nulls;
      this.written += wire.length;
      body.write(wire);
      return;
    }
    this.written += nulls.length;
    this.res.write(nulls);
  }

  private headers(): void {
    if (this.res.headersSent || this.finished) return;
    this.res.writeHead(200, STREAM_HEADERS);
    // Send the headers now: a held player sees 200 at once, not with the first packet.
    this.res.flushHeaders();
    const socket = this.res.socket;
    // The head is in the socket and the response holds nothing of its own (it would, queued
    // behind a pipelined response): from here on the body goes to the socket directly.
    if (socket && !socket.destroyed && this.res.writableLength === socket.writableLength) {
      this.body = socket;
      this.chunked = this.res.chunkedEncoding;
      socket.on('drain', this.onDrain);
    }
  }

  private reset(): void {
    const socket = this.res.socket ?? this.req.socket;
    // RST, not FIN: the player must see an error, not the end of a recording.
    if (socket && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
    else this.res.destroy();
  }
}

/** Keep-alive sends the same few null packets every time: framed once. */
let nullsIn: Buffer | null = null;
let nullsFramed: Buffer | null = null;

function framedNulls(nulls: Buffer): Buffer {
  if (nulls !== nullsIn) {
    nullsIn = nulls;
    nullsFramed = frameChunk(nulls);
  }
  return nullsFramed!;
}
