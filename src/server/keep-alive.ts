/**
 * Keep-alive for held players: a few TS null packets at a low rate (376 bytes every 500 ms,
 * ~750 B/s), so sockets and players stay open without a probing player exhausting its probe
 * size on filler. One ticker serves every held player.
 */
import { nullPackets } from '../ts/packet.ts';

export interface KeepAliveTarget {
  keepAlive(nulls: Buffer): void;
}

export const KEEPALIVE_PACKETS = 2;

export class KeepAlive {
  private readonly targets = new Set<KeepAliveTarget>();
  private readonly nulls = nullPackets(KEEPALIVE_PACKETS);

  add(t: KeepAliveTarget): void {
    this.targets.add(t);
  }

  delete(t: KeepAliveTarget): void {
    this.targets.delete(t);
  }

  get size(): number {
    return this.targets.size;
  }

  tick(): void {
    for (const t of this.targets) t.keepAlive(this.nulls);
  }
}
