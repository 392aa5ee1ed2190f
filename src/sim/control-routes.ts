import type http from 'node:http';
import { applyControl, type ControlTarget } from './control-api.ts';
import { SimInputError } from './errors.ts';
import { readBody, requestUrl, sendJson } from './http-io.ts';
import type { SimState } from './state.ts';
import type { StatusLogEntry } from './orchestrator-types.ts';

export interface ControlHttpTarget extends ControlTarget {
  state(): SimState;
  statusLog(): StatusLogEntry[];
}

/** `/__sim/*` over HTTP, served on the orchestrator port and on the control port. */
export async function handleControlRequest(target: ControlHttpTarget, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/__sim/state') return sendJson(res, 200, target.state());
  if (req.method === 'GET' && path === '/__sim/status-log') return sendJson(res, 200, target.statusLog());
  if (!path.startsWith('/__sim/')) return sendJson(res, 404, { error: 'not found' });
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
  const text = await readBody(req);
  let body: unknown = {};
  if (text !== null && text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      return sendJson(res, 400, { error: 'body is not valid JSON' });
    }
  }
  try {
    sendJson(res, 200, await applyControl(target, path, body));
  } catch (err) {
    if (err instanceof SimInputError) return sendJson(res, 400, { error: err.message });
    throw err;
  }
}
