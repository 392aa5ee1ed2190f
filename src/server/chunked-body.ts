/**
 * HTTP/1.1 chunked framing (RFC 9112 §7.1) for a player's body, written to the socket by
 * PlayerConnection itself: Node's `res.write` frames per call, in four writes and a tick.
 * Chunks in a channel's slabs come framed already (out-slabs.ts); these are for the rest.
 */

export const CRLF = Buffer.from('\r\n', 'latin1');

/** The chunk-size line for `size` bytes of data (`<hex>\r\n`). */
export function chunkHead(size: number): Buffer {
  return Buffer.from(`${size.toString(16)}\r\n`, 'latin1');
}

/** `data` framed as one chunk of a chunked body, in one buffer (empty data would end the body: never framed). */
export function frameChunk(data: Buffer): Buffer {
  if (data.length === 0) throw new RangeError('an empty chunk ends a chunked body');
  const head = data.length.toString(16);
  const out = Buffer.allocUnsafe(head.length + 2 + data.length + 2);
  let at = out.write(head, 0, 'latin1');
  at += CRLF.copy(out, at);
  at += data.copy(out, at);
  CRLF.copy(out, at);
  return out;
}
