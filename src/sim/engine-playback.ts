import type http from 'node:http';
import type { TimerHandle } from '../clock.ts';
import type { LiveStream } from '../ts/live-stream.ts';
import type { TimerSet } from './timers.ts';

export interface ReaderOptions {
  /** Destroy the connection once this many body bytes were sent (cut fault). */
  cutAfterBytes: number | null;
  /** Destroy the connection after this long (cut fault). */
  cutAfterMs: number | null;
  held: boolean;
  onBytes: (n: number) => void;
  onClose: () => void;
}

/**
 * The one reader of an engine session: pumps a LiveStream into the HTTP response (200
 * video/mp2t, chunked, no Content-Length) with backpressure, and can be held, cut or ended.
 */
export class PlaybackReader {
  private written = 0;
  private held = false;
  private closed = false;
  private cutTimer: TimerHandle | null = null;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly live: LiveStream,
    private readonly timers: TimerSet,
    private readonly options: ReaderOptions,
  ) {
    res.writeHead(200, { 'content-type': 'video/mp2t', 'cache-control': 'no-cache' });
    res.flushHeaders();
    res.on('close', () => this.closed || this.finish());
    live.on('error', () => this.cut());
    this.setHold(options.held);
  }

  /** Starts pumping (separate from the constructor so the owner can register it first). */
  start(): void {
    if (this.closed) return;
    if (this.options.cutAfterBytes === 0) {
      this.cut();
      return;
    }
    if (this.options.cutAfterMs !== null) this.cutTimer = this.timers.set(() => this.cut(), this.options.cutAfterMs);
    this.live.on('data', (chunk: Buffer) => this.write(chunk));
    this.live.on('end', () => this.end());
  }

  private write(chunk: Buffer): void {
    if (this.closed) return;
    const limit = this.options.cutAfterBytes;
    if (limit !== null && this.written + chunk.length >= limit) {
      const part = chunk.subarray(0, limit - this.written);
      this.written += part.length;
      this.options.onBytes(part.length);
      // Stop pumping, let the last bytes reach the socket, then drop the connection.
      this.live.pause();
      this.live.removeAllListeners('data');
      this.res.write(part, () => this.cut());
      return;
    }
    this.written += chunk.length;
    this.options.onBytes(chunk.length);
    if (!this.res.write(chunk)) {
      this.live.pause();
      this.res.once('drain', () => this.closed || this.live.resume());
    }
  }

  setHold(on: boolean): void {
    if (on === this.held || this.closed) return;
    this.held = on;
    if (on) this.live.hold();
    else this.live.release();
  }

  /** Clean end of body (EOF): stop, supersede, expiry. */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.finish();
  }

  /** Connection destroyed mid-body: the client sees a truncated chunked response. */
  cut(): void {
    if (this.closed) return;
    this.res.socket?.destroy();
    this.res.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clear(this.cutTimer);
    this.live.destroy();
    this.options.onClose();
  }
}
