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
import { PACKET_SIZE } from '../ts/packet.ts';

/** Slab size: a few sends of a 4 Mbit/s channel, small next to its replay window. */
export const SLAB_BYTES = 64 * 1024;
/** Emptied slabs kept for reuse at most: a GOP of 4 Mbit/s and then some. */
const MAX_SPARE = 12;
/** Room for the chunk-size line before the data: up to 6 hex digits + CRLF. */
const HEAD_ROOM = 8;
/** A chunk's framing: the size line's room and the CRLF after the data. */
const FRAMING = HEAD_ROOM + 2;
/** The least worth sending as the first part of a split send. */
const MIN_PART = 8 * PACKET_SIZE;
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
  /** Emptied slabs, kept for the window to grow into again (it shrinks by a GOP at a time). */
  private readonly spare: Slab[] = [];
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
    let n = this.current?.buf.length ?? 0;
    for (const s of this.retired) n += s.buf.length;
    for (const s of this.spare) n += s.buf.length;
    return n;
  }

  /**
   * Copies `pieces` (whole packets, in order; at least one byte) into the slabs and frames
   * them. A send that does not fit what is left of the slab fills it (whole packets) and goes
   * on in the next one, as a second chunk (`next`): slabs stay full, so memory stays close
   * to the replay window. A send larger than a whole slab gets memory of its own.
   */
  put(pieces: readonly Buffer[]): OutChunk {
    let total = 0;
    for (const p of pieces) total += p.length;
    if (total === 0) throw new RangeError('an empty chunk ends a chunked body');
    this.current ??= this.fresh();
    const room = this.current.buf.length - this.current.used - FRAMING;
    if (total <= room) return this.frame(this.current, pieces, 0, total);
    const head = room >= MIN_PART ? room - (room % PACKET_SIZE) : 0;
    const first = head > 0 ? this.frame(this.current, pieces, 0, head) : null;
    const rest = total - head;
    // Larger than a slab (large engine writes, a burst): memory of its own, retired at once.
    // (The full slab is retired after the next is found: it holds `first`, sent to nobody yet.)
    const into = rest + FRAMING > this.slabBytes ? this.make(rest + FRAMING) : this.fresh();
    this.retired.push(this.current);
    if (into.buf.length === this.slabBytes) this.current = into;
    else {
      this.current = null;
      this.retired.push(into);
    }
    const second = this.frame(into, pieces, head, rest);
    if (!first) return second;
    first.next = second;
    return first;
  }

  /** Copies `length` bytes of `pieces` from `skip` on into `slab`, framed as one chunk. */
  private frame(slab: Slab, pieces: readonly Buffer[], skip: number, length: number): OutChunk {
    const buf = slab.buf;
    const at = slab.used + HEAD_ROOM;
    let end = at;
    let left = length;
    for (const p of pieces) {
      if (left === 0) break;
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      const n = Math.min(p.length - skip, left);
      end += p.copy(buf, end, skip, skip + n);
      left -= n;
      skip = 0;
    }
    const size = length.toString(16);
    const from = at - size.length - 2;
    buf.write(size, from, 'latin1');
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
        // Kept for reuse (up to a bound: a slow player let go frees many at once); sends
        // that had memory of their own go to the collector.
        if (this.spare.length < MAX_SPARE && free.buf.length === this.slabBytes) this.spare.push(free);
      }
    }
    const reuse = this.spare.pop();
    if (!reuse) return this.make(this.slabBytes);
    reuse.seq = this.nextSeq++;
    reuse.used = 0;
    return reuse;
  }
}
