/**
 * Splices a new upstream after an old one for players that stay connected (failover):
 *  - timestamps (PCR, PTS, DTS) of the new upstream are shifted so they continue ~100 ms
 *    after the last ones players got: a live player's buffer simply ran dry for a while;
 *  - the first packet of every PID after the seam carries the discontinuity indicator (in
 *    its own adaptation field, or in an adaptation-only packet sent just before it), which
 *    also keeps continuity counters valid across the seam.
 * Only spliced upstreams pay for this; the first one passes through untouched.
 */
import { NULL_PID, PACKET_SIZE, hasPcr, pidOf } from '../ts/packet.ts';
import { diff33, readPcrBase, readPts, shiftTimestamps, wrap33 } from '../ts/timestamps.ts';
import { markDiscontinuity } from '../ts/discontinuity.ts';

/** Gap between the last old and the first new timestamps, in 90 kHz ticks. */
export const SEAM_GAP_TICKS = 9000;

export interface OutputTail {
  lastPcr: number;
  maxPts: number;
}

/** The last PCR and the highest PTS in what players were sent (newest buffers first). */
export function findTail(newestFirst: Buffer[]): OutputTail | null {
  let lastPcr = -1;
  let maxPts = -1;
  for (const buf of newestFirst) {
    for (let off = buf.length - PACKET_SIZE; off >= 0; off -= PACKET_SIZE) {
      if (lastPcr < 0 && hasPcr(buf, off)) lastPcr = readPcrBase(buf, off);
      const pts = readPts(buf, off);
      if (pts >= 0 && (maxPts < 0 || diff33(maxPts, pts) > 0)) maxPts = pts;
    }
  }
  return lastPcr < 0 && maxPts < 0 ? null : { lastPcr, maxPts };
}

export class SeamRewriter {
  private readonly marked = new Set<number>();
  private offset = 0;

  /** `first` is the new upstream's bytes from its sync point on. */
  constructor(tail: OutputTail | null, first: Buffer) {
    if (!tail) return;
    let firstPcr = -1;
    let minPts = -1;
    for (let off = 0; off + PACKET_SIZE <= first.length; off += PACKET_SIZE) {
      if (firstPcr < 0 && hasPcr(first, off)) firstPcr = readPcrBase(first, off);
      const pts = readPts(first, off);
      if (pts >= 0 && (minPts < 0 || diff33(minPts, pts) < 0)) minPts = pts;
    }
    const candidates: number[] = [];
    if (tail.lastPcr >= 0 && firstPcr >= 0) candidates.push(diff33(firstPcr, wrap33(tail.lastPcr + SEAM_GAP_TICKS)));
    if (tail.maxPts >= 0 && minPts >= 0) candidates.push(diff33(minPts, wrap33(tail.maxPts + SEAM_GAP_TICKS)));
    // The larger shift keeps both the clock and every stream moving forward.
    if (candidates.length > 0) this.offset = Math.max(...candidates);
  }

  get shift(): number {
    return this.offset;
  }

  /** Rewrites one aligned buffer of the new upstream (in place; a new buffer when packets are inserted). */
  process(buf: Buffer): Buffer {
    let inserts: Array<{ at: number; packet: Buffer }> | null = null;
    for (let off = 0; off + PACKET_SIZE <= buf.length; off += PACKET_SIZE) {
      const pid = pidOf(buf, off);
      if (pid === NULL_PID) continue;
      if (this.offset !== 0) shiftTimestamps(buf, off, this.offset);
      if (!this.marked.has(pid)) {
        this.marked.add(pid);
        const extra = markDiscontinuity(buf, off);
        if (extra) (inserts ??= []).push({ at: off, packet: extra });
      }
    }
    if (!inserts) return buf;
    const parts: Buffer[] = [];
    let from = 0;
    for (const { at, packet } of inserts) {
      parts.push(buf.subarray(from, at), packet);
      from = at;
    }
    parts.push(buf.subarray(from));
    return Buffer.concat(parts);
  }
}
