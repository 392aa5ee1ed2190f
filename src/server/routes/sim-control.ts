/**
 * Demo only: `POST /api/sim/<switch>` forwards to the simulator's control API, so the
 * inspector's fault buttons talk to acerelay's own origin (the simulator's port is another
 * origin, and loopback-only). Registered only when a simulator control URL is known.
 */
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { AcerelayError } from '../../errors.ts';
import { requireToken } from '../auth.ts';

const SIM_TIMEOUT_MS = 5000;
/** `vpn`, `circuit`, `capacity`, `provision`, `orchestrator`, `engines/<container id>`. */
const SWITCH_PATH = /^[a-z_]+(?:\/[A-Za-z0-9_.-]+)?$/;

export function simControlRoutes(app: FastifyInstance, opts: { simControlUrl: string; adminToken: string | undefined }): void {
  const guard = requireToken(opts.adminToken);
  const base = opts.simControlUrl.replace(/\/+$/, '');

  const forward = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${base}/__sim/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: SIM_TIMEOUT_MS,
      bodyTimeout: SIM_TIMEOUT_MS,
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  app.post('/api/sim/*', { preHandler: guard }, async (req, reply) => {
    // JSON only: a cross-site form (text/plain, no preflight) cannot flip the switches.
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/json')) throw new AcerelayError('invalid_parameter', 'send the switch as JSON (content-type: application/json)');
    const path = (req.params as { '*': string })['*'];
    if (!SWITCH_PATH.test(path)) throw new AcerelayError('not_found', `no simulator switch "${path}"`);
    const res = await forward('POST', path, req.body ?? {});
    return reply.code(res.status).type('application/json; charset=utf-8').send(res.text);
  });

  app.get('/api/sim/state', { preHandler: guard }, async (_req, reply) => {
    const res = await forward('GET', 'state');
    return reply.code(res.status).type('application/json; charset=utf-8').send(res.text);
  });
}
