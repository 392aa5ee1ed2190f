/**
 * One player's end of a channel: whole TS packets go in, the socket's own buffer is the
 * backlog. The HTTP layer implements it over a ServerResponse.
 */
export interface PlayerSink {
  readonly id: string;
  /** Queues whole packets for the player. Never blocks. */
  write(packets: Buffer): void;
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
