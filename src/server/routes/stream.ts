/**
 * `GET|HEAD /ace/getstream` (and `/ace/getstream/`): the player's door. GET turns the
 * socket into a player actor; HEAD validates and answers at once, touching no engine.
 */
import type { FastifyInstance } from 'fastify';
import { parseStreamRequest } from '../../core/stream-request.ts';
import type { SessionRegistry } from '../../core/session-registry.ts';
import { AcerelayError } from '../../errors.ts';
import { PlayerConnection, STREAM_HEADERS, type ConnectionDeps } from '../player-connection.ts';
import { sendError } from '../error-reply.ts';

type Query = Record<string, string | string[] | undefined>;

export function streamRoutes(app: FastifyInstance, registry: SessionRegistry, deps: ConnectionDeps): void {
  for (const url of ['/ace/getstream', '/ace/getstream/']) {
    // Declared on its own so Fastify never runs the GET handler for a HEAD.
    app.route({
      method: 'HEAD',
      url,
      handler: async (req, reply) => {
        parseStreamRequest(req.query as Query);
        return reply.code(200).headers(STREAM_HEADERS).send();
      },
    });
    app.route({
      method: 'GET',
      url,
      exposeHeadRoute: false,
      handler: (req, reply) => {
        const request = parseStreamRequest(req.query as Query);
        // From here on the socket is ours: 200 only when we can stream (or deliberately hold).
        reply.hijack();
        const conn = new PlayerConnection(req.raw, reply.raw, { ...deps, log: deps.log });
        try {
          const player = registry.connect(request, conn);
          deps.log.info({ player: player.id, session: player.sessionId, key: request.key }, 'player connected');
          conn.bind((event) => player.actor.send(event), player.id);
        } catch (err) {
          sendError(reply.raw, err instanceof AcerelayError ? err : new AcerelayError('internal'));
          if (!(err instanceof AcerelayError)) deps.log.error({ err }, 'could not connect a player');
        }
      },
    });
  }
}
