/**
 * HLS clients for wire tests: the playlist parsed by hls-parser (strict: a malformed playlist
 * throws), segments fetched as a player fetches them, ffprobe on a segment.
 */
import { spawn } from 'node:child_process';
import HLS from 'hls-parser';

HLS.setOptions({ strictMode: true });

export type MediaPlaylist = HLS.types.MediaPlaylist;

export interface FetchedPlaylist {
  status: number;
  headers: Headers;
  text: string;
  /** Null unless the answer was 200. */
  playlist: MediaPlaylist | null;
}

export async function fetchPlaylist(url: string, init?: RequestInit): Promise<FetchedPlaylist> {
  const res = await fetch(url, init);
  const text = await res.text();
  let playlist: MediaPlaylist | null = null;
  if (res.status === 200) {
    const parsed = HLS.parse(text);
    if (parsed.isMasterPlaylist) throw new Error('a master playlist where a media playlist was expected');
    playlist = parsed as MediaPlaylist;
  }
  return { status: res.status, headers: res.headers, text, playlist };
}

/** A segment's URL: its URI resolved against the playlist's, as a player resolves it. */
export function segmentUrl(playlistUrl: string, uri: string): string {
  return new URL(uri, playlistUrl).toString();
}

export async function fetchSegment(url: string): Promise<{ status: number; headers: Headers; data: Buffer; body: unknown }> {
  const res = await fetch(url);
  const data = Buffer.from(await res.arrayBuffer());
  let body: unknown = null;
  if (res.headers.get('content-type')?.includes('json')) body = JSON.parse(data.toString());
  return { status: res.status, headers: res.headers, data, body };
}

/** The sequence number of each listed segment (media sequence + index). */
export function sequenceNumbers(p: MediaPlaylist): number[] {
  return p.segments.map((_, i) => (p.mediaSequenceBase ?? 0) + i);
}

export interface ProbedPacket {
  stream: 'video' | 'audio';
  pts: number;
  duration: number;
  key: boolean;
}

/** ffprobe's packets of a TS file, in file order. */
export function ffprobePackets(file: string): Promise<{ code: number | null; packets: ProbedPacket[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time,duration_time,flags', '-of', 'json', file],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const parsed = out ? (JSON.parse(out) as { packets?: Array<{ codec_type: string; pts_time: string; duration_time?: string; flags: string }> }) : {};
      const packets = (parsed.packets ?? []).map((p) => ({
        stream: p.codec_type === 'video' ? ('video' as const) : ('audio' as const),
        pts: Number(p.pts_time),
        duration: Number(p.duration_time ?? 0),
        key: p.flags.includes('K'),
      }));
      resolve({ code, packets, stderr: err });
    });
  });
}
