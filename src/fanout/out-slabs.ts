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
const HEX = Buffer.from('0123456789abcdef', 'latin1');

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
  /** The full slabs of the send being put (reused: see put). */
  private readonly full: Slab[] = [];

  /**
   * @param oldestInUse the lowest slab number something may still read (Infinity: none)
   * @param slabBytes slab size (at least a packet and its framing; a size line of 6 hex digits at most)
   */
  constructor(
    private readonly oldestInUse: () => number,
    private readonly slabBytes = SLAB_BYTES,
  ) {
    if (!(slabBytes >= PACKET_SIZE + FRAMING && slabBytes <= 0xffffff)) throw new RangeError(`slab size out of range: ${slabBytes}`);
  }

  /** Bytes held (slabs being filled, retired and spare). */
  get bytes(): number {
    let n = this.current?.buf.length ?? 0;
    for (let i = 0; i < this.retired.length; i++) n += this.retired[i]!.buf.length;
    for (let i = 0; i < this.spare.length; i++) n += this.spare[i]!.buf.length;
    return n;
  }

  /**
   * Copies `pieces` (whole packets, in order; at least one byte) into the slabs and frames
   * them. A send that does not fit what is left of the slab fills it (whole packets) and goes
   * on in the next ones, each part a chunk of its own (`next`): slabs stay full, so memory
   * stays close to the replay window, and a send of any size takes slabs, never memory of its own.
   */
  put(pieces: readonly Buffer[]): OutChunk {
    let total = 0;
    for (let i = 0; i < pieces.length; i++) total += pieces[i]!.length;
    if (total === 0) throw new RangeError('an empty chunk ends a chunked body');
    let slab = (this.current ??= this.fresh());
    const room = slab.buf.length - slab.used - FRAMING;
    if (total <= room) return this.frame(slab, pieces, 0, total);
    const head = room >= MIN_PART ? room - (room % PACKET_SIZE) : 0;
    const first = head > 0 ? this.frame(slab, pieces, 0, head) : null;
    let chain = first;
    let last = first;
    let done = head;
    // The full slabs of this send are retired once the last part is in: until then nothing
    // else knows they hold bytes nobody was sent yet (fresh() would take them back).
    const full = this.full;
    full.push(slab);
    for (;;) {
      slab = this.fresh();
      const left = total - done;
      const fits = slab.buf.length - FRAMING;
      const n = left <= fits ? left : fits - (fits % PACKET_SIZE);
      const part = this.frame(slab, pieces, done, n);
      if (last) last.next = part;
      else chain = part;
      last = part;
      done += n;
      if (done === total) break;
      full.push(slab);
    }
    for (let i = 0; i < full.length; i++) this.retired.push(full[i]!);
    full.length = 0;
    this.current = slab;
    return chain!;
  }

  /** Copies `length` bytes of `pieces` from `skip` on into `slab`, framed as one chunk. */
  private frame(slab: Slab, pieces: readonly Buffer[], skip: number, length: number): OutChunk {
    const buf = slab.buf;
    const at = slab.used + HEAD_ROOM;
    let end = at;
    let left = length;
    for (let i = 0; i < pieces.length && left > 0; i++) {
      const p = pieces[i]!;
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      const n = Math.min(p.length - skip, left);
      end += p.copy(buf, end, skip, skip + n);
      left -= n;
      skip = 0;
    }
    // The size line in hex, written backwards from the data (no string per chunk).
    let from = at - 2;
    buf.writeUInt16BE(CRLF, from);
    for (let v = length; ; v >>>= 4) {
      buf[--from] = HEX[v & 0xf]!;
      if (v < 16) break;
    }
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
        // Kept for reuse, up to a bound: a slow player let go frees many at once.
        if (this.spare.length < MAX_SPARE) this.spare.push(free);
      }
    }
    const reuse = this.spare.pop();
    if (!reuse) return this.make(this.slabBytes);
    reuse.seq = this.nextSeq++;
    reuse.used = 0;
    return reuse;
  }
}
