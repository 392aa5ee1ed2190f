/**
 * `/inspector`: the visual state inspector, served entirely by acerelay. The page and the
 * diagrams need the admin token (when set); the page's own script and stylesheet do not (they
 * hold no data, and the login page needs them). Without the token, /inspector answers a
 * small login page with 401.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AcerelayError } from '../../errors.ts';
import { requireToken, tokenFrom, tokenMatches } from '../auth.ts';
import { orchestratorView, type ApiDeps } from './api.ts';
import { simControlRoutes } from './sim-control.ts';
import { liveSessionView } from '../inspector-view.ts';
import { generateDiagrams, type Diagram } from '../../inspector/diagram/machines.ts';
import { inspectorAsset } from '../../inspector/assets.ts';
import { inspectorPage, loginPage } from '../../inspector/page.ts';

const FINISHED_SHOWN = 30;

/** Nothing but acerelay's own origin: no CDN, no inline script, no framing. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function inspectorRoutes(deps: ApiDeps) {
  return async (app: FastifyInstance) => {
    const guard = requireToken(deps.adminToken);
    // Drawn once per process, from the machines this process runs.
    let diagrams: Promise<Diagram[]> | null = null;
    const getDiagrams = () => {
      diagrams ??= generateDiagrams().catch((err: unknown) => {
        diagrams = null;
        throw err;
      });
      return diagrams;
    };
    void getDiagrams().catch((err: unknown) => app.log.error({ err }, 'inspector diagrams could not be drawn'));

    const initialState = async () => ({
      now: deps.clock.now(),
      sessions: {
        live: deps.registry.listSessions().map((s) => liveSessionView(deps.registry, deps.hub, s)),
        finished: deps.history.list(FINISHED_SHOWN),
      },
      orchestrator: orchestratorView(deps),
      diagrams: (await getDiagrams()).map((d) => ({ name: d.name, kind: d.kind, svg: `/inspector/diagrams/${d.name}.svg`, graph: d.graph })),
      sim: Boolean(deps.simControlUrl),
    });

    const page = async (req: FastifyRequest, reply: FastifyReply) => {
      reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8');
      if (deps.adminToken) {
        const given = tokenFrom(req);
        if (!tokenMatches(given, deps.adminToken)) return reply.code(401).send(loginPage(given !== null));
      }
      return reply.send(inspectorPage(await initialState()));
    };
    app.get('/inspector', page);
    app.get('/inspector/', page);

    app.get('/inspector/assets/:name', async (req, reply) => {
      const asset = await inspectorAsset((req.params as { name: string }).name);
      if (!asset) throw new AcerelayError('not_found', 'no such inspector asset');
      return sendCached(req, reply, asset.body, asset.type, asset.etag);
    });

    app.get('/inspector/diagrams/:file', { preHandler: guard }, async (req, reply) => {
      const m = /^([a-z0-9_-]+)\.(svg|dot|json)$/.exec((req.params as { file: string }).file);
      const d = m ? (await getDiagrams()).find((x) => x.name === m[1]) : undefined;
      if (!m || !d) throw new AcerelayError('not_found', 'no such diagram');
      if (m[2] === 'svg') return sendCached(req, reply, d.svg, 'image/svg+xml; charset=utf-8', `"${d.name}-${hash(d.svg)}"`);
      if (m[2] === 'dot') return sendCached(req, reply, d.dot, 'text/vnd.graphviz; charset=utf-8', `"${d.name}-${hash(d.dot)}"`);
      return reply.send(d.graph);
    });

    if (deps.simControlUrl) simControlRoutes(app, { simControlUrl: deps.simControlUrl, adminToken: deps.adminToken });
  };
}

/** Revalidated on every use (a new acerelay may draw new diagrams), 304 while unchanged. */
function sendCached(req: FastifyRequest, reply: FastifyReply, body: string, type: string, etag: string) {
  reply.header('etag', etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type(type).send(body);
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
