/** The one shape of every error answer before a stream's first byte. */
import type { ServerResponse } from 'node:http';
import { AcerelayError } from '../errors.ts';

export function errorHeaders(err: AcerelayError): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (err.retryAfter !== null) headers['retry-after'] = String(err.retryAfter);
  return headers;
}

export function sendError(res: ServerResponse, err: AcerelayError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(err.status, errorHeaders(err));
  res.end(JSON.stringify(err.toJSON()));
}
