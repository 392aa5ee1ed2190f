/**
 * Keep-alive null packets (PID 0x1FFF), a few at a low rate (376 bytes every 500 ms,
 * ~750 B/s), so sockets and players stay open without a probing player exhausting its probe
 * size on filler. One ticker serves:
 *  - held players (waiting, or recovering after a failure), from the first tick;
 *  - streaming players whose media stopped (an upstream stall, before the session gives up on
 *    it at EMPTY_TIMEOUT) once they have had no media byte for STALL_KEEPALIVE_AFTER_MS: a
 *    stall looks like a short freeze, not a dead socket, to players that give up early.
 */
import { nullPackets } from '../ts/packet.ts';

export interface KeepAliveTarget {
  keepAlive(nulls: Buffer): void;
}

/** A streaming player, as far as the stall keep-alive needs it. */
export interface StreamingTarget extends KeepAliveTarget {
  /** Media bytes written so far (keep-alive excluded). */
  readonly bytesSent: number;
  /** Bytes written but not yet taken by the socket. */
  backlog(): number;
}

export const KEEPALIVE_PACKETS = 2;
/** Media silence after which a streaming player gets keep-alive too. */
export const STALL_KEEPALIVE_AFTER_MS = 5_000;

interface Quiet {
  seen: number;
  since: number;
}

export class KeepAlive {
  private readonly targets = new Set<KeepAliveTarget>();
  private readonly streaming = new Map<StreamingTarget, Quiet>();
  private readonly nulls = nullPackets(KEEPALIVE_PACKETS);

  constructor(private readonly stallAfterMs = STALL_KEEPALIVE_AFTER_MS) {}

  /** A held player: keep-alive on every tick. */
  add(t: KeepAliveTarget): void {
    this.targets.add(t);
  }

  delete(t: KeepAliveTarget): void {
    this.targets.delete(t);
  }

  /** A streaming player: keep-alive only while its media is silent. */
  watch(t: StreamingTarget, now: number): void {
    if (!this.streaming.has(t)) this.streaming.set(t, { seen: t.bytesSent, since: now });
  }

  unwatch(t: StreamingTarget): void {
    this.streaming.delete(t);
  }

  get size(): number {
    return this.targets.size;
  }

  tick(now: number): void {
    for (const t of this.targets) t.keepAlive(this.nulls);
    for (const [t, quiet] of this.streaming) {
      // Sampled here, not per write: the byte path stays free of clock reads.
      if (t.bytesSent !== quiet.seen) {
        quiet.seen = t.bytesSent;
        quiet.since = now;
        continue;
      }
      // Held as well (recovering): it has its keep-alive already.
      if (this.targets.has(t) || now - quiet.since < this.stallAfterMs) continue;
      // Only into an empty backlog: a player that does not take its bytes gets none of these,
      // so the write-stall and memory drops still see it stuck. The channel writes whole
      // packets, so nulls always fall between packets.
      if (t.backlog() === 0) t.keepAlive(this.nulls);
    }
  }
}
