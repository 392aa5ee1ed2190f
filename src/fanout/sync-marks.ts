/**
 * Where a joining player may start, by offset in the channel's output: written by the
 * open-PES hold-back as it takes packets in (it classifies each one that starts a PES or a
 * section, pes-tail.ts) and read by the replay window as those bytes reach it. The window used
 * to scan the same packets again; on one unpaced stream that second scan was ~7 % of the
 * proxy's CPU.
 *
 * Offsets count the bytes the hold-back has released (and holds), from the channel's start:
 * exactly the bytes the window is appended, in the same order.
 */
/** A valid PAT. */
export const MARK_PAT = 1;
/** The first packet of a video random-access point. */
export const MARK_RAP = 2;
/** With MARK_PAT: the program has no video, so this PAT is a start point by itself. */
export const MARK_RADIO = 4;

export class SyncMarks {
  private readonly offsets: number[] = [];
  private readonly kinds: number[] = [];
  /** Index of the oldest mark not taken yet. */
  private head = 0;

  /** Marks must come in offset order. */
  add(offset: number, flags: number): void {
    this.offsets.push(offset);
    this.kinds.push(flags);
  }

  /** The offset of the oldest mark not taken yet (Infinity: none). */
  get next(): number {
    return this.head < this.offsets.length ? this.offsets[this.head]! : Infinity;
  }

  /** The flags of the mark at `next`. */
  get nextFlags(): number {
    return this.kinds[this.head]!;
  }

  /** Takes the mark at `next`. */
  shift(): void {
    if (++this.head < this.offsets.length) {
      if (this.head >= 256) this.compact();
      return;
    }
    this.offsets.length = this.kinds.length = this.head = 0;
  }

  /**
   * The bytes [from, to) left the output (packets a closing segment drops): their marks go,
   * and the marks after them move down by as much.
   */
  cut(from: number, to: number): void {
    let w = this.head;
    for (let r = this.head; r < this.offsets.length; r++) {
      const at = this.offsets[r]!;
      if (at >= from && at < to) continue;
      this.offsets[w] = at < from ? at : at - (to - from);
      this.kinds[w++] = this.kinds[r]!;
    }
    this.offsets.length = this.kinds.length = w;
    if (w === this.head) this.offsets.length = this.kinds.length = this.head = 0;
  }

  get size(): number {
    return this.offsets.length - this.head;
  }

  private compact(): void {
    // In place: splice would return the taken ones as a new array.
    const keep = this.offsets.length - this.head;
    for (let i = 0; i < keep; i++) {
      this.offsets[i] = this.offsets[i + this.head]!;
      this.kinds[i] = this.kinds[i + this.head]!;
    }
    this.offsets.length = this.kinds.length = keep;
    this.head = 0;
  }
}
