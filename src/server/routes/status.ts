/** `/ace/status` (acexy's shape), `/healthz`, `/readyz`. */
import type { FastifyInstance } from 'fastify';
import type { SessionRegistry } from '../../core/session-registry.ts';
import { parseStreamRequest } from '../../core/stream-request.ts';
import { AcerelayError, type ErrorCode } from '../../errors.ts';
import { errorHeaders } from '../error-reply.ts';
import { describeSession } from '../describe.ts';
import type { HlsAudiences } from '../hls-audiences.ts';

type Query = Record<string, string | string[] | undefined>;

export interface Readiness {
  /** null when ready, else why not (and a Retry-After estimate); `code` defaults to `not_ready`. */
  check(): Promise<{ reason: string; etaSeconds: number | null; code?: Extract<ErrorCode, 'not_ready' | 'journal_unavailable'> } | null>;
}

export function statusRoutes(app: FastifyInstance, registry: SessionRegistry, readiness: Readiness, hls?: HlsAudiences): void {
  app.get('/ace/status', async (req, reply) => {
    const q = req.query as Query;
    if (q.id === undefined && q.infohash === undefined) {
      // An HLS audience is one player actor; its viewers are the distinct clients it saw.
      const hlsClients = hls?.clients ?? 0;
      return { streams: registry.sessionCount, clients: registry.playerCount - (hls?.audiences ?? 0) + hlsClients, hls_clients: hlsClients };
    }
    const { source } = parseStreamRequest(q);
    const session = registry.findByContent(source);
    if (!session) throw new AcerelayError('not_found', `no stream for ${source.kind} ${source.value}`);
    return reply.send(describeSession(registry, session));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const problem = await readiness.check();
    if (!problem) return { ready: true };
    const code = problem.code ?? 'not_ready';
    const err = new AcerelayError(code, code === 'not_ready' ? `no new channel could start now: ${problem.reason}` : problem.reason, problem.etaSeconds);
    return reply.code(503).headers(errorHeaders(err)).send({ ready: false, reason: problem.reason, ...err.toJSON() });
  });
}
