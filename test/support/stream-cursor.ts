/**
 * Walks a recorded stream in upstream writes of any size, as an engine cuts it (anywhere, even
 * mid-packet), starting over at its end: a write never spans the end; the one that finds the
 * end writes nothing and starts over.
 */
export class StreamCursor {
  private at = 0;

  constructor(private readonly data: Buffer) {}

  /** The next `bytes` of the stream (fewer at its end; null at the end, and it starts over). */
  take(bytes: number): Buffer | null {
    const n = Math.min(bytes, this.data.length - this.at);
    if (n <= 0) {
      this.at = 0;
      return null;
    }
    this.at += n;
    return this.data.subarray(this.at - n, this.at);
  }

  /** Goes on from `offset` (wrapped into the stream): a new upstream starting anywhere. */
  seek(offset: number): void {
    this.at = offset % this.data.length;
  }
}
