import type { EngineSession } from './engine-session.ts';

/** A fresh session answers `{}` this long before it reports `idle`. */
export const STAT_EMPTY_MS = 500;
/** A read session moves from `prebuf` to `dl` this long after its first read. */
export const STAT_DL_AFTER_MS = 2_000;

const PIECE = 16 * 1024;

export interface StatContext {
  now: number;
  bitrate: number;
  noPeers: boolean;
  /** Bytes are held (stall, gap, VPN down): speeds drop to 0. */
  held: boolean;
}

export type StatStatus = 'idle' | 'prebuf' | 'dl';

export function statStatus(session: EngineSession, ctx: StatContext): StatStatus | null {
  if (ctx.noPeers) return 'prebuf';
  if (session.firstReadAt === null) return ctx.now - session.startedAt < STAT_EMPTY_MS ? null : 'idle';
  return ctx.now - session.firstReadAt < STAT_DL_AFTER_MS ? 'prebuf' : 'dl';
}

/** The `response` object of `/ace/stat/…` for a live session. */
export function statResponse(session: EngineSession, ctx: StatContext): Record<string, unknown> {
  const status = statStatus(session, ctx);
  if (status === null) return {};
  const peers = status === 'dl' ? 4 + (parseInt(session.infohash.slice(0, 2), 16) % 5) : status === 'prebuf' && !ctx.noPeers ? 1 : 0;
  const flowing = status === 'dl' && !ctx.held && session.reader !== null;
  const downloaded = Math.floor(session.bytesOut / PIECE) * PIECE;
  const uploaded = Math.floor(session.bytesOut / 6 / PIECE) * PIECE;
  const nowS = Math.floor(ctx.now / 1000);
  const startS = Math.floor(session.startedAt / 1000);
  const rateKBs = ctx.bitrate > 0 ? Math.round(ctx.bitrate / 8 / 1000) : 500;
  return {
    status,
    peers,
    speed_down: flowing ? rateKBs : 0,
    speed_up: flowing ? Math.round(rateKBs / 9) : 0,
    downloaded: ctx.noPeers ? 0 : downloaded,
    uploaded: ctx.noPeers ? 0 : uploaded,
    total_progress: 0,
    is_live: 1,
    infohash: session.infohash,
    playback_session_id: session.id,
    client_session_id: -1,
    selected_file_index: -1,
    livepos: {
      last: String(nowS),
      pos: String(nowS),
      live_first: String(startS - 3600),
      live_last: String(nowS),
      first_ts: String(startS - 3600),
      last_ts: String(nowS),
      is_live: '1',
      buffer_pieces: status === 'dl' ? '30' : '0',
    },
  };
}
