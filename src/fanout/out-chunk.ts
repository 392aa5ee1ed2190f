/**
 * Bytes the channel sends to its players, made once per send and shared by every sink: the
 * packets (`data`) and, when they sit in one of the channel's slabs (out-slabs.ts), the same
 * bytes framed as one HTTP/1.1 chunk (`framed`), so each player's socket takes one write of
 * a buffer nobody had to build for it.
 */
export class OutChunk {
  /**
   * The rest of the same send when it did not fit the slab it began in: the next slab's
   * bytes, framed as a chunk of their own, and so on (a chain of any length; all its parts
   * go to a socket in one writev).
   */
  next: OutChunk | null = null;

  /**
   * @param data whole TS packets
   * @param framed `<hex size>\r\n<data>\r\n` around the same bytes, or null (a sink frames it)
   * @param seq the slab holding it (out-slabs.ts), or -1 when it holds its own memory
   */
  constructor(
    readonly data: Buffer,
    public framed: Buffer | null = null,
    readonly seq = -1,
  ) {}

  /** Packet bytes of the send (this part and every one after it). */
  get length(): number {
    let n = this.data.length;
    for (let part = this.next; part; part = part.next) n += part.data.length;
    return n;
  }
}
