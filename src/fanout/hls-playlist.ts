/**
 * A live HLS media playlist (RFC 8216) from a segmenter's window: the newest `listed`
 * segments, each with its duration, date and discontinuity mark.
 */
import type { HlsSegment } from './hls-segmenter.ts';

export interface PlaylistInput {
  /** Complete segments, oldest first (the playlist lists the newest `listed`). */
  window: readonly HlsSegment[];
  listed: number;
  /** The configured target duration, in seconds. */
  targetS: number;
  /** The longest segment made so far, in seconds. */
  longestS: number;
  /** The URI of a segment, relative to the playlist. */
  uri: (seq: number) => string;
}

export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

export function renderPlaylist(p: PlaylistInput): string {
  const segments = p.window.slice(-p.listed);
  const first = segments[0];
  // Every EXTINF rounded must fit; never below the configured target.
  const target = Math.max(Math.ceil(p.targetS), Math.round(p.longestS), 1);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.seq ?? 0}`,
    // The first listed segment's number already counts its own mark: its tag is not repeated.
    `#EXT-X-DISCONTINUITY-SEQUENCE:${first?.discontinuitySeq ?? 0}`,
  ];
  for (const s of segments) {
    if (s.discontinuity && s !== first) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startedAt).toISOString()}`);
    lines.push(`#EXTINF:${s.durationS.toFixed(3)},`);
    lines.push(p.uri(s.seq));
  }
  return lines.join('\n') + '\n';
}
