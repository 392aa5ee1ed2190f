/**
 * The head of an HTTP/1.x response, parsed from the bytes a playback socket read: status
 * line and header fields up to the empty line. Only what playback needs is kept.
 */

/** Longest head accepted: an engine's is a few hundred bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;

export interface ResponseHead {
  version: '1.0' | '1.1';
  status: number;
  /** Lower-cased names; a repeated field keeps its first value. */
  headers: Record<string, string>;
}

export type BodyFraming = { kind: 'chunked' } | { kind: 'length'; bytes: number } | { kind: 'close' };

export class ResponseHeadError extends Error {
  override name = 'ResponseHeadError';
  readonly code = 'ENGINE_BAD_HEAD';
}

/**
 * Finds the end of the head in `buf` (the offset just past CRLF CRLF, or LF LF), or -1 when
 * it is not all there yet.
 */
export function headEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = buf.indexOf('\n\n', 0, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  return lf >= 0 ? lf + 2 : -1;
}

export function parseHead(text: string): ResponseHead {
  const lines = text.split(/\r?\n/);
  const status = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!status) throw new ResponseHeadError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseHeadError(`malformed header line: ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  return { version: status[1] === '0' ? '1.0' : '1.1', status: Number(status[2]), headers };
}

/** How the body is delimited (RFC 9112 §6.3): chunked wins over a length; neither runs to the close. */
export function framingOf(head: ResponseHead): BodyFraming {
  const te = head.headers['transfer-encoding'];
  if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) return { kind: 'chunked' };
  const cl = head.headers['content-length'];
  if (te === undefined && cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new ResponseHeadError(`bad content-length: ${JSON.stringify(cl.slice(0, 30))}`);
    return { kind: 'length', bytes: Number(cl) };
  }
  return { kind: 'close' };
}
