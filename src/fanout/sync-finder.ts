/**
 * Holds back a new upstream's bytes until the first place a player can start decoding: a
 * PAT followed by a video random-access point (real engines do not start on a keyframe).
 * For a program without video, the first PAT after its PMT is enough.
 */
import { PACKET_PAT, PACKET_RAP, ProgramTracker } from '../ts/program-tracker.ts';
import { PACKET_SIZE } from '../ts/packet.ts';

export class SyncFinder {
  private readonly tracker = new ProgramTracker();
  /** Bytes from the last PAT on, across earlier buffers. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private seenPat = false;
  /** Bytes dropped before the sync point. */
  skipped = 0;

  constructor(private readonly maxPendingBytes: number) {}

  /** Whether a kept view lies in `memory`. */
  holds(memory: ArrayBufferLike): boolean {
    for (const p of this.parts) if (p.buffer === memory) return true;
    return false;
  }

  /** Returns the bytes from the sync point on once found (including the rest of `buf`), else null. */
  push(buf: Buffer): Buffer | null {
    let patAt = -1;
    for (let off = 0; off + PACKET_SIZE <= buf.length; off += PACKET_SIZE) {
      const flags = this.tracker.classify(buf, off);
      if (flags & PACKET_PAT) {
        this.skipped += this.partsBytes;
        this.parts = [];
        this.partsBytes = 0;
        this.seenPat = true;
        patAt = off;
        const program = this.tracker.program;
        if (program && program.videoPid < 0) return buf.subarray(off);
      }
      if (flags & PACKET_RAP && this.seenPat) {
        const from = patAt >= 0 ? buf.subarray(patAt) : buf;
        return this.parts.length === 0 ? from : Buffer.concat([...this.parts, from]);
      }
    }
    if (!this.seenPat) {
      this.skipped += buf.length;
      return null;
    }
    const tail = patAt >= 0 ? buf.subarray(patAt) : buf;
    this.parts.push(tail);
    this.partsBytes += tail.length;
    if (this.partsBytes > this.maxPendingBytes) {
      // No random-access point in sight: start over at the next PAT.
      this.skipped += this.partsBytes;
      this.parts = [];
      this.partsBytes = 0;
      this.seenPat = false;
    }
    return null;
  }
}
