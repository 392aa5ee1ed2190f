/**
 * The Fastify instance: routes wired to the registry, one error shape, settings for endless
 * responses (no handler or connection timeouts: a stream lasts as long as the player wants).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { SessionRegistry } from '../core/session-registry.ts';
import type { Logger } from '../log.ts';
import { AcerelayError } from '../errors.ts';
import { errorHeaders } from './error-reply.ts';
import { streamRoutes } from './routes/stream.ts';
import { statusRoutes, type Readiness } from './routes/status.ts';
import type { ConnectionDeps } from './player-connection.ts';
import type { Metrics } from '../metrics.ts';
import { hlsRoutes, type HlsRouteDeps } from './routes/hls.ts';

export interface ServerDeps {
  registry: SessionRegistry;
  readiness: Readiness;
  connection: ConnectionDeps;
  metrics: Metrics;
  logger: Logger;
  /** HLS: the channels' audiences (/ace/manifest.m3u8, /ace/hls/…). */
  hls?: HlsRouteDeps;
  /** Guards /metrics (the admin token, when set). */
  metricsGuard?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** More routes (API, inspector), registered after the core ones. */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Typed as the base logger so route modules take the plain FastifyInstance.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Players are logged by the stream route and their connection (connect, outcome); per-request lines would only repeat them.
    logController: new LogController({ disableRequestLogging: true }),
    connectionTimeout: 0,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    // acexy clients send repeated or odd parameters; we validate them ourselves.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof AcerelayError) {
      return reply.code(err.status).headers(errorHeaders(err)).send(err.toJSON());
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      const code = status === 405 ? 'method_not_allowed' : status === 404 ? 'not_found' : 'invalid_parameter';
      return reply.code(status).send({ error: { code, message: err.message, retry_after: null } });
    }
    req.log.error({ err, url: req.url.split('?')[0] }, 'request failed');
    return reply.code(500).send(new AcerelayError('internal').toJSON());
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}`, retry_after: null } }),
  );

  streamRoutes(app, deps.registry, deps.connection);
  if (deps.hls) hlsRoutes(app, deps.hls);
  statusRoutes(app, deps.registry, deps.readiness, deps.hls?.audiences);
  app.get('/metrics', { preHandler: deps.metricsGuard ?? (async () => {}) }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
