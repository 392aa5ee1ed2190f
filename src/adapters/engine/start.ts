/** Start one engine session: `GET /ace/getstream?format=json&…&pid=…`. */
import { EngineBadResponseError, EngineContentError } from './errors.ts';
import { envelope, getJson, type EngineCallOptions } from './http.ts';
import { rebase } from './rebase.ts';
import type { Source, StartedPlayback } from '../../domain/stream.ts';

export interface StartRequest {
  source: Source;
  /** Unique per upstream session: without it a second channel would cut the first. */
  pid: string;
  /** Pass-through parameters (transcoding and the like), sent as given. */
  params?: Record<string, string>;
}

export async function startSession(engineBase: string, req: StartRequest, options: EngineCallOptions): Promise<StartedPlayback> {
  const url = new URL('/ace/getstream', engineBase);
  url.searchParams.set('format', 'json');
  url.searchParams.set(req.source.kind, req.source.value);
  url.searchParams.set('pid', req.pid);
  for (const [k, v] of Object.entries(req.params ?? {})) url.searchParams.set(k, v);
  const { response, error } = envelope(await getJson(url, options), 'getstream');
  if (error !== null) throw new EngineContentError(`engine: ${error}`);
  if (typeof response !== 'object' || response === null) throw new EngineBadResponseError('getstream: empty response');
  const r = response as Record<string, unknown>;
  if (typeof r.playback_url !== 'string' || r.playback_url === '') throw new EngineBadResponseError('getstream: no playback_url');
  const optionalUrl = (v: unknown) => (typeof v === 'string' && v !== '' ? rebase(v, engineBase) : null);
  const infohash = typeof r.infohash === 'string' && r.infohash ? r.infohash.toLowerCase() : req.source.kind === 'infohash' ? req.source.value : '';
  const playbackUrl = rebase(r.playback_url, engineBase);
  return {
    playbackUrl,
    statUrl: optionalUrl(r.stat_url) ?? sibling(playbackUrl, 'stat'),
    commandUrl: optionalUrl(r.command_url) ?? sibling(playbackUrl, 'cmd'),
    infohash,
    playbackSessionId: typeof r.playback_session_id === 'string' ? r.playback_session_id : '',
    isLive: r.is_live === undefined ? true : Number(r.is_live) === 1 || r.is_live === true,
  };
}

/**
 * An engine that leaves out stat_url/command_url still serves them beside the playback URL
 * (`/ace/r/<infohash>/<token>` → `/ace/stat/…`, `/ace/cmd/…`): without a command URL the
 * session could not be stopped. Null when the playback URL has another shape.
 */
function sibling(playbackUrl: string, kind: 'stat' | 'cmd'): string | null {
  const u = new URL(playbackUrl);
  const m = /^\/ace\/r\/([^/]+)\/([^/]+)$/.exec(u.pathname);
  if (!m) return null;
  u.pathname = `/ace/${kind}/${m[1]}/${m[2]}`;
  u.search = '';
  return u.toString();
}
