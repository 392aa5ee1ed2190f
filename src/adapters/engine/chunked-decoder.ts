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
  /** Bytes of the current size or trailer line read so far. */
  private lineBytes = 0;
  /** The size line's value so far, its hex digits seen, and whether it is past them (`;ext`, spaces, CR). */
  private size = 0;
  private digits = 0;
  private sizeDone = false;
  /** Whether the current trailer line has any byte but CR. */
  private trailerText = false;
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
          // Byte by byte, without a string: an engine writing small chunks has a size line per
          // few packets, and a string and a regular expression each was garbage per chunk.
          const b = buf[i++]!;
          if (++this.lineBytes > MAX_LINE) throw new ChunkedBodyError('chunk size line too long');
          if (b === 0x0a) this.endOfLine();
          else if (this.state === State.Trailer) {
            if (b !== 0x0d) this.trailerText = true;
          } else if (!this.sizeDone) {
            const d = hexValue(b);
            if (d >= 0) {
              if (++this.digits > 12) throw new ChunkedBodyError('chunk size too large');
              this.size = this.size * 16 + d;
            } else if ((b === 0x20 || b === 0x09) && this.digits === 0) {
              // Leading whitespace: tolerated.
            } else if (b === 0x3b || b === 0x20 || b === 0x09 || b === 0x0d) this.sizeDone = true;
            else throw new ChunkedBodyError(`bad chunk size byte 0x${b.toString(16)}`);
          }
          break;
        }
        case State.Done:
          return;
      }
    }
  }

  private endOfLine(): void {
    this.lineBytes = 0;
    if (this.state === State.Trailer) {
      // An empty line ends the body; trailer fields are stepped over.
      if (!this.trailerText) this.state = State.Done;
      this.trailerText = false;
      return;
    }
    const { size, digits } = this;
    this.size = this.digits = 0;
    this.sizeDone = false;
    if (digits === 0) throw new ChunkedBodyError('chunk size line without a size');
    if (size === 0) this.state = State.Trailer;
    else {
      this.left = size;
      this.state = State.Data;
    }
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}
