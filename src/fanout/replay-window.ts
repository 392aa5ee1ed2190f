/**
 * The short history a joining player starts from: output bytes from the PAT that precedes
 * the most recent video random-access point up to now. Chunks are kept by reference (the
 * same ones every player was sent, with their framing), so the window costs no copy. It does
 * not scan them either: the hold-back that released them marked the PATs and random-access
 * points (sync-marks.ts), by offset in the same output.
 */
import { OutChunk } from './out-chunk.ts';
import { MARK_PAT, MARK_RADIO, MARK_RAP, type SyncMarks } from './sync-marks.ts';

interface Mark {
  /** Index into `chunks` (absolute: counts trimmed chunks too). */
  chunk: number;
  offset: number;
}

export class ReplayWindow {
  private chunks: OutChunk[] = [];
  /** Absolute index of chunks[0]. */
  private base = 0;
  private size = 0;
  /** The last PAT seen, a sync point candidate. */
  private lastPat: Mark | null = null;
  /** Where a joining player starts; null until a PAT + RAP has been seen (or after a reset). */
  private start: Mark | null = null;
  /** Output offset of the next byte appended (every byte ever appended counts, across resets). */
  private at = 0;

  /** `marks`: the start points of the output appended here, found when it was released. */
  constructor(
    private readonly maxBytes: number,
    private readonly marks: SyncMarks,
  ) {}

  /** Whether a joining player can start right now. */
  get ready(): boolean {
    return this.start !== null;
  }

  get bytes(): number {
    return this.size;
  }

  /** The slab number of the oldest chunk kept (out-slabs.ts); Infinity when empty. */
  get oldestSeq(): number {
    for (const c of this.chunks) if (c.seq >= 0) return c.seq;
    return Infinity;
  }

  /**
   * Records output bytes: one part of a send (a send split over slabs comes part by part, in
   * order, each with its `next`). Returns true when this buffer created a new start point (a
   * joiner waiting for one can go now).
   */
  append(chunk: OutChunk): boolean {
    const buf = chunk.data;
    const index = this.base + this.chunks.length;
    const from = this.at;
    this.at += buf.length;
    let moved = false;
    const marks = this.marks;
    for (let mark = marks.next; mark < this.at; mark = marks.next) {
      const flags = marks.nextFlags;
      marks.shift();
      // None lies before this chunk while the channel is open (every byte the hold-back
      // releases comes here); close() drops unsent bytes, and a closed channel appends nothing.
      if (mark < from) continue;
      if (flags & MARK_PAT) {
        this.lastPat = { chunk: index, offset: mark - from };
        // A radio channel has no random-access points: every PAT is one.
        if (flags & MARK_RADIO) {
          this.start = this.lastPat;
          moved = true;
        }
      }
      if (flags & MARK_RAP && this.lastPat) {
        this.start = this.lastPat;
        moved = true;
      }
    }
    this.chunks.push(chunk);
    this.size += buf.length;
    this.trim();
    return moved;
  }

  /**
   * The bytes a joining player is sent first (empty when not ready): the sends from the start
   * point on, each whole (a part's `next` takes the rest of its send with it).
   */
  replay(): OutChunk[] {
    if (!this.start) return [];
    const first = this.start.chunk - this.base;
    const out: OutChunk[] = [];
    // The part written already as the `next` of one before it.
    let covered = null as OutChunk | null;
    for (let i = first; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      if (c === covered) {
        covered = c.next;
        continue;
      }
      if (i === first && this.start.offset > 0) {
        // A joiner starting inside a chunk gets a view of it (framed by its sink, once); the
        // rest of its send, if any, follows as parts of their own.
        out.push(new OutChunk(c.data.subarray(this.start.offset), null, c.seq));
        covered = null;
      } else {
        out.push(c);
        covered = c.next;
      }
    }
    return out;
  }

  /** The newest buffers first (for the seam splicer to find the last timestamps). */
  newestFirst(): Buffer[] {
    return this.chunks.map((c) => c.data).reverse();
  }

  /** Forget everything (a seam: joiners must start at the new upstream's first sync point). */
  reset(): void {
    this.chunks = [];
    this.base = 0;
    this.size = 0;
    this.lastPat = null;
    this.start = null;
  }

  private trim(): void {
    // Nothing before the start point (or before the last PAT, if no start yet) is needed.
    const keepFrom = Math.min(this.start?.chunk ?? Infinity, this.lastPat?.chunk ?? Infinity);
    const target = Number.isFinite(keepFrom) ? keepFrom : this.base + this.chunks.length - 1;
    while (this.base < target && this.chunks.length > 1) this.dropOldest();
    if (this.size > this.maxBytes) {
      // Random-access points too far apart to keep a whole GOP: joiners wait for the next one.
      this.start = null;
      this.lastPat = null;
      while (this.chunks.length > 1) this.dropOldest();
    }
  }

  private dropOldest(): void {
    const c = this.chunks.shift()!;
    this.size -= c.data.length;
    this.base++;
  }
}
