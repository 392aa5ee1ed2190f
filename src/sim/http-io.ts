import type http from 'node:http';

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...extraHeaders,
  });
  res.end(text);
}

export function sendText(res: http.ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** The body as text; null when the request had none. */
export function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size === 0 ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function requestUrl(req: http.IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://sim.invalid');
}

/** True once the client has gone away (or the socket was destroyed under it). */
export function clientGone(res: http.ServerResponse): boolean {
  return res.destroyed || res.socket === null || res.socket.destroyed;
}

const ARRIVED = Symbol('arrivedAt');

/** Notes when a request reached the orchestrator (a slow mode answers much later). */
export function markArrival(req: http.IncomingMessage, at: number): void {
  (req as http.IncomingMessage & { [ARRIVED]?: number })[ARRIVED] = at;
}

export function arrivalOf(req: http.IncomingMessage): number | undefined {
  return (req as http.IncomingMessage & { [ARRIVED]?: number })[ARRIVED];
}
