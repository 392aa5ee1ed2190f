/**
 * One player's end of a channel: whole TS packets go in, the socket's own buffer is the
 * backlog. The HTTP layer implements it over the response's socket.
 */
import type { OutChunk } from './out-chunk.ts';

export interface PlayerSink {
  readonly id: string;
  /**
   * Queues whole packets for the player (`chunk.data`, then those of each part after it:
   * `chunk.next`). Never blocks. The same chunk goes to every player of the channel: a sink
   * may leave its framing of it in `chunk.framed`.
   */
  write(chunk: OutChunk): void;
  /** Bytes written but not yet taken by the player's socket. */
  backlog(): number;
  /** Bytes the socket has taken so far (written minus backlog): grows while the player reads. */
  flushed(): number;
  /** Ends this player alone (socket reset), saying why. Idempotent. */
  drop(reason: 'slow' | 'memory' | 'stalled'): void;
  /**
   * Calls `fn` once the socket has taken the whole backlog (at once when it is empty); a
   * later call replaces an earlier `fn`. A sink without it never holds the upstream back.
   */
  whenDrained?(fn: () => void): void;
  /** The channel splices a new upstream after this write (failover, restart): the HLS segmenter cuts here. */
  seam?(): void;
  /** Not a player's socket (the HLS segmenter): its bytes are not counted as sent to players. */
  readonly internal?: boolean;
}
