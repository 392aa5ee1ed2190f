/**
 * The channel's outgoing bytes, copied once into a few reused slabs with their HTTP/1.1
 * chunk framing around them: every player gets a view of the same framed bytes (one socket
 * write each, no framing per player), and in a steady stream nothing is allocated per send.
 *
 * Allocating a buffer per send (the joined frame, then its framing) made V8 collect garbage
 * for the external memory it saw growing, and the replay window kept those buffers alive
 * long enough to be promoted first: the collector was the largest cost of a many-channel
 * relay and of one fast stream. A slab is reused only when nothing can still read it: the
 * replay window no longer covers it and no player's socket has unsent bytes in it (the
 * caller says which slab is the oldest still in use; see Channel).
 */
import { OutChunk } from './out-chunk.ts';

/** Slab size: a few sends of a 4 Mbit/s channel, small next to its replay window. */
export const SLAB_BYTES = 64 * 1024;
/** Room for the chunk-size line before the data: up to 6 hex digits + CRLF. */
const HEAD_ROOM = 8;
const CRLF = 0x0d0a;

interface Slab {
  buf: Buffer;
  seq: number;
  used: number;
}

export class OutSlabs {
  private current: Slab | null = null;
  /** Slabs filled earlier, oldest first: free once older than the oldest slab in use. */
  private readonly retired: Slab[] = [];
  private spare: Slab | null = null;
  private nextSeq = 0;

  /**
   * @param oldestInUse the lowest slab number something may still read (Infinity: none)
   * @param slabBytes slab size; a send that does not fit an empty slab gets memory of its own
   */
  constructor(
    private readonly oldestInUse: () => number,
    private readonly slabBytes = SLAB_BYTES,
  ) {}

  /** Bytes held (slabs being filled, retired and spare; sends with memory of their own). */
  get bytes(): number {
    let n = (this.current?.buf.length ?? 0) + (this.spare?.buf.length ?? 0);
    for (const s of this.retired) n += s.buf.length;
    return n;
  }

  /** Copies `pieces` (whole packets, in order; at least one byte) into a slab and frames them. */
  put(pieces: readonly Buffer[]): OutChunk {
    let total = 0;
    for (const p of pieces) total += p.length;
    if (total === 0) throw new RangeError('an empty chunk ends a chunked body');
    const need = HEAD_ROOM + total + 2;
    let slab = this.current;
    if (!slab || slab.buf.length - slab.used < need) {
      if (slab) this.retired.push(slab);
      // Larger than a slab (large engine writes, a burst): memory of its own, retired when
      // full like any slab, never reused. Larger slabs would hold more than the window needs.
      slab = this.current = need > this.slabBytes ? this.make(need) : this.fresh();
    }
    const buf = slab.buf;
    const at = slab.used + HEAD_ROOM;
    let end = at;
    for (const p of pieces) end += p.copy(buf, end);
    const head = total.toString(16);
    const from = at - head.length - 2;
    buf.write(head, from, 'latin1');
    buf.writeUInt16BE(CRLF, at - 2);
    buf.writeUInt16BE(CRLF, end);
    slab.used = end + 2;
    return new OutChunk(buf.subarray(at, end), buf.subarray(from, end + 2), slab.seq);
  }

  private make(bytes: number): Slab {
    return { buf: Buffer.allocUnsafeSlow(bytes), seq: this.nextSeq++, used: 0 };
  }

  /** A slab to fill: one nothing reads any more (retired or spare), or a new one. */
  private fresh(): Slab {
    if (this.retired.length > 0) {
      const oldest = this.oldestInUse();
      while (this.retired.length > 0 && this.retired[0]!.seq < oldest) {
        const free = this.retired.shift()!;
        // One spare is kept (the window's start moves by a GOP at a time and frees several
        // at once); the rest, and sends that had memory of their own, go to the collector.
        if (!this.spare && free.buf.length === this.slabBytes) this.spare = free;
      }
    }
    const reuse = this.spare;
    if (!reuse) return this.make(this.slabBytes);
    this.spare = null;
    reuse.seq = this.nextSeq++;
    reuse.used = 0;
    return reuse;
  }
}
