/**
 * HTTP/1.1 chunked transfer coding, decoded in place: the data of each chunk comes out as
 * views of the bytes read (no copy), the size lines and CRLFs are stepped over. Keeps its
 * place between reads, so a size line or a CRLF may be split anywhere.
 */

/** Longest size line accepted (hex digits and extensions). */
const MAX_LINE = 1024;

const enum State {
  Size,
  Data,
  DataEnd,
  Trailer,
  Done,
}

export class ChunkedBodyError extends Error {
  override name = 'ChunkedBodyError';
  readonly code = 'ENGINE_BAD_CHUNK';
}

export class ChunkedDecoder {
  private state = State.Size;
  /** The size line (or trailer line) read so far. */
  private line = '';
  /** Data bytes left in the current chunk. */
  private left = 0;
  /** CRLF bytes still expected after a chunk's data (2 or 1). */
  private crlfLeft = 0;

  /** Whether the last chunk and the trailer were read: the body is complete. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes `buf`, handing each piece of data to `onData` (a view of `buf`). Throws a
   * ChunkedBodyError on a malformed coding. Bytes after the end of the body are ignored.
   */
  decode(buf: Buffer, onData: (data: Buffer) => void): void {
    let i = 0;
    const len = buf.length;
    while (i < len) {
      switch (this.state) {
        case State.Data: {
          const n = Math.min(this.left, len - i);
          onData(buf.subarray(i, i + n));
          i += n;
          this.left -= n;
          if (this.left === 0) {
            this.state = State.DataEnd;
            this.crlfLeft = 2;
          }
          break;
        }
        case State.DataEnd: {
          const want = this.crlfLeft === 2 ? 0x0d : 0x0a;
          const b = buf[i]!;
          // A bare LF after the data is tolerated (as most clients do).
          if (b === want) this.crlfLeft--;
          else if (b === 0x0a && this.crlfLeft === 2) this.crlfLeft = 0;
          else throw new ChunkedBodyError('chunk data not followed by CRLF');
          i++;
          if (this.crlfLeft === 0) this.state = State.Size;
          break;
        }
        case State.Size:
        case State.Trailer: {
          const nl = buf.indexOf(0x0a, i);
          const end = nl < 0 ? len : nl;
          this.line += buf.toString('latin1', i, end);
          if (this.line.length > MAX_LINE) throw new ChunkedBodyError('chunk size line too long');
          i = nl < 0 ? len : nl + 1;
          if (nl >= 0) this.endOfLine();
          break;
        }
        case State.Done:
          return;
      }
    }
  }

  private endOfLine(): void {
    const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
    this.line = '';
    if (this.state === State.Trailer) {
      if (line === '') this.state = State.Done;
      return;
    }
    const hex = line.split(';', 1)[0]!.trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ChunkedBodyError(`bad chunk size ${JSON.stringify(hex.slice(0, 20))}`);
    const size = parseInt(hex, 16);
    if (size === 0) this.state = State.Trailer;
    else {
      this.left = size;
      this.state = State.Data;
    }
  }
}
