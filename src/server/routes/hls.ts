/**
 * HLS: `GET|HEAD /ace/manifest.m3u8?id=…|infohash=…` (the live playlist of the channel's
 * audience) and `GET /ace/hls/<token>/<seq>.ts` (its segments). Same validation, pass-through
 * parameters and session key as /ace/getstream; TS and HLS players of a channel share one
 * engine session.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseStreamRequest } from '../../core/stream-request.ts';
import { AcerelayError } from '../../errors.ts';
import { PLAYLIST_CONTENT_TYPE } from '../../fanout/hls-playlist.ts';
import type { ByteTotals } from '../../fanout/channel.ts';
import type { HlsAudiences } from '../hls-audiences.ts';
import type { HlsAudience } from '../hls-audience.ts';

type Query = Record<string, string | string[] | undefined>;

const PLAYLIST_HEADERS = {
  'content-type': PLAYLIST_CONTENT_TYPE,
  // A live playlist changes with every segment: always revalidate.
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
};

export interface HlsRouteDeps {
  audiences: HlsAudiences;
  totals: ByteTotals;
  /** A segment was served (metrics). */
  onSegment?: (bytes: number) => void;
}

export function hlsRoutes(app: FastifyInstance, deps: HlsRouteDeps): void {
  const { audiences } = deps;
  // Browser players (hls.js on a page of another origin) read playlists and segments with
  // XHR/fetch; error answers too, so a page sees a 503's code and Retry-After.
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/ace/manifest.m3u8') || req.url.startsWith('/ace/hls/')) {
      reply.header('access-control-allow-origin', '*');
      reply.header('access-control-expose-headers', 'retry-after');
    }
  });
  app.route({
    method: 'HEAD',
    url: '/ace/manifest.m3u8',
    handler: async (req, reply) => {
      parseStreamRequest(req.query as Query);
      return reply.code(200).headers(PLAYLIST_HEADERS).send();
    },
  });

  app.route({
    method: 'GET',
    url: '/ace/manifest.m3u8',
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      const request = parseStreamRequest(req.query as Query);
      const client = clientOf(req);
      const audience = audiences.open(request, client);
      audience.touch(client);
      // The player gave up waiting (one listener per response: keep-alive sockets carry many).
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.once('close', onClose);
      const first = await audience.firstSegment(audiences.settings.firstWaitMs, gone.signal, client);
      reply.raw.removeListener('close', onClose);
      if (first.kind === 'ended') throw first.error;
      if (first.kind === 'timeout') {
        // The session keeps its place: the player retries within the idle time.
        throw new AcerelayError('stream_not_ready', undefined, retryAfter(audience, audiences.settings));
      }
      return reply.code(200).headers(PLAYLIST_HEADERS).send(audience.playlist(sourceQuery(request.source)));
    },
  });

  app.get<{ Params: { token: string; file: string } }>('/ace/hls/:token/:file', async (req, reply) => {
    const client = clientOf(req);
    const audience = audiences.byTokenOf(req.params.token);
    if (!audience) throw audiences.endedOn(req.params.token, client) ?? new AcerelayError('not_found', 'no HLS stream with this token; reload the playlist');
    audience.touch(client);
    const m = /^(\d{1,15})\.ts$/.exec(req.params.file);
    if (!m) throw new AcerelayError('not_found', 'no such segment');
    const found = audience.segment(Number(m[1]));
    if (found === 'gone') throw new AcerelayError('segment_gone');
    if (found === 'unknown') throw new AcerelayError('not_found', 'no such segment (yet); reload the playlist');
    audience.segmentsServed++;
    audience.bytesServed += found.data.length;
    deps.totals.bytesOut += found.data.length;
    deps.onSegment?.(found.data.length);
    return reply
      .code(200)
      .headers({
        'content-type': 'video/mp2t',
        // A segment never changes: cacheable for as long as it stays fetchable.
        'cache-control': `public, max-age=${audience.keptForS}`,
        'x-content-type-options': 'nosniff',
      })
      .send(found.data);
  });
}

/** One HLS client: its address and user agent (players share an address behind a NAT). */
function clientOf(req: FastifyRequest): string {
  return `${req.ip} ${req.headers['user-agent'] ?? ''}`;
}

/**
 * The source again on segment URIs, so a balancer that hashes on id/infohash sends segment
 * requests where the playlist came from (deploy/nginx.conf).
 */
function sourceQuery(source: { kind: string; value: string }): string {
  return `${source.kind}=${encodeURIComponent(source.value)}`;
}

/**
 * About when a first segment can be complete: one segment's time, or the wait's ETA; never
 * so late that the audience would go idle (and lose its place) before the retry.
 */
function retryAfter(audience: HlsAudience, settings: { segmentMs: number; idleMs: number }): number {
  const wanted = Math.max(Math.ceil(settings.segmentMs / 1000), audience.waitEtaSeconds() ?? 0);
  return Math.max(1, Math.min(wanted, Math.floor(settings.idleMs / 2000)));
}
