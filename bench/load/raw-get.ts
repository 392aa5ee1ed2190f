/**
 * One endless HTTP GET over a raw TCP socket, the cheapest way for the load client to read
 * many streams: the request is written by hand, the response head parsed once, redirects
 * followed (rebased onto the same host), and the body handed on as payload ranges (chunked
 * framing removed). No Node HTTP parser or stream machinery per chunk.
 */
import net from 'node:net';
import { ChunkedDecoder, type PayloadSink } from './chunked.ts';

export interface RawGetHandlers {
  /** The response head said 200: the body follows. */
  onHeaders?: () => void;
  onPayload: PayloadSink;
  /** The stream ended or failed (error null = clean end of body or our own close). */
  onEnd: (error: string | null) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_REDIRECTS = 3;

export class RawGet {
  private socket: net.Socket | null = null;
  private closed = false;
  private redirects = 0;

  constructor(
    private readonly base: URL,
    private readonly handlers: RawGetHandlers,
  ) {}

  open(path: string): void {
    if (this.closed) return;
    const socket = net.connect(Number(this.base.port), this.base.hostname);
    this.socket = socket;
    socket.setNoDelay(true);
    let head: Buffer | null = Buffer.alloc(0);
    let chunked: ChunkedDecoder | null = null;
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.base.host}\r\nUser-Agent: acerelay-bench\r\nAccept: */*\r\n\r\n`);
    });
    socket.on('data', (data: Buffer) => {
      if (head === null) {
        if (chunked) chunked.push(data, 0, this.handlers.onPayload);
        else this.handlers.onPayload(data, 0, data.length);
        return;
      }
      head = head.length === 0 ? data : Buffer.concat([head, data]);
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.length > 64 * 1024) this.fail('response head too large');
        return;
      }
      const text = head.subarray(0, end).toString('latin1');
      const rest = head;
      head = null;
      const [statusLine = '', ...lines] = text.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      if (status >= 300 && status < 400 && headers.has('location')) {
        socket.removeAllListeners();
        socket.destroy();
        if (++this.redirects > MAX_REDIRECTS) return this.fail('too many redirects');
        // Rebased onto the host we called: through a proxy, the engine's absolute URLs may point past it.
        const loc = new URL(headers.get('location')!, this.base);
        return this.open(loc.pathname + loc.search);
      }
      if (status !== 200) return this.fail(`HTTP ${status}`);
      this.handlers.onHeaders?.();
      if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) chunked = new ChunkedDecoder();
      const bodyAt = end + HEAD_END.length;
      if (bodyAt < rest.length) {
        if (chunked) chunked.push(rest, bodyAt, this.handlers.onPayload);
        else this.handlers.onPayload(rest, bodyAt, rest.length);
      }
    });
    socket.on('error', (err) => this.fail(err.message));
    socket.on('close', () => {
      if (this.socket === socket) this.finish(this.closed ? null : 'closed by the server');
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
    this.handlers.onEnd(null);
  }

  private fail(message: string): void {
    this.socket?.destroy();
    this.finish(message);
  }

  private finish(error: string | null): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onEnd(error);
  }
}
