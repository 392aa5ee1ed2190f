import { NULL_PID, PACKET_SIZE, continuityCounter, hasPayload, pidOf, setContinuityCounter } from './packet.ts';

/**
 * Rewrites continuity counters in place so each PID's run mod 16 over its payload-bearing
 * packets, whatever the source did (a loop restart, a new upstream session). Packets
 * without payload repeat the last value, as 13818-1 requires. A PID seen for the first
 * time keeps its own counter. Null packets are left alone: their counter means nothing.
 */
export class ContinuityRewriter {
  // -1 = PID not seen yet; otherwise the last counter written.
  private readonly last = new Int8Array(8192).fill(-1);

  /** Rewrites the packet at `off` and returns the counter it now carries. */
  rewrite(buf: Uint8Array, off: number): number {
    const pid = pidOf(buf, off);
    if (pid === NULL_PID) return continuityCounter(buf, off);
    const prev = this.last[pid]!;
    let cc: number;
    if (prev < 0) cc = continuityCounter(buf, off);
    else cc = hasPayload(buf, off) ? (prev + 1) & 0x0f : prev;
    setContinuityCounter(buf, off, cc);
    this.last[pid] = cc;
    return cc;
  }

  /** Rewrites every packet of an aligned buffer. */
  rewriteAll(buf: Uint8Array, start = 0, end = buf.length): void {
    for (let off = start; off + PACKET_SIZE <= end; off += PACKET_SIZE) this.rewrite(buf, off);
  }

  /** The last counter written on `pid`, or -1 if none yet. */
  lastCounter(pid: number): number {
    return this.last[pid]!;
  }

  /** Makes the next payload packet on `pid` carry `(cc + 1) & 15`. */
  setLast(pid: number, cc: number): void {
    this.last[pid] = cc & 0x0f;
  }

  reset(): void {
    this.last.fill(-1);
  }
}
