/**
 * Counts the payload of an HTTP/1.1 chunked body without copying it: chunk-size lines and
 * CRLFs are skipped, payload ranges are handed on as (buf, start, end). Framing is a few
 * bytes per chunk, so the per-byte cost stays in the caller's hands.
 */
export type PayloadSink = (buf: Buffer, start: number, end: number) => void;

const enum State {
  Size,
  SizeExt,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Done,
}

export class ChunkedDecoder {
  private state = State.Size;
  private size = 0;
  private left = 0;
  /** True once the terminating zero-size chunk was read. */
  get done(): boolean {
    return this.state === State.Done;
  }

  push(buf: Buffer, start: number, sink: PayloadSink): void {
    let i = start;
    const len = buf.length;
    while (i < len) {
      switch (this.state) {
        case State.Size: {
          const c = buf[i++]!;
          const digit = hexValue(c);
          if (digit >= 0) this.size = this.size * 16 + digit;
          else if (c === 0x0d) this.state = State.SizeLf;
          else this.state = State.SizeExt; // ';' extensions: ignored up to CR
          break;
        }
        case State.SizeExt:
          if (buf[i++] === 0x0d) this.state = State.SizeLf;
          break;
        case State.SizeLf:
          i++;
          if (this.size === 0) {
            this.state = State.Done;
            return;
          }
          this.left = this.size;
          this.size = 0;
          this.state = State.Data;
          break;
        case State.Data: {
          const n = Math.min(this.left, len - i);
          sink(buf, i, i + n);
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          i++;
          this.state = State.DataLf;
          break;
        case State.DataLf:
          i++;
          this.state = State.Size;
          break;
        case State.Done:
          return;
      }
    }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
