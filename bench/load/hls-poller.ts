/**
 * One simulated HLS client in the load client: polls acerelay's live playlist like a player
 * (every half target duration), fetches every segment it has not fetched yet, in order, on
 * its own keep-alive connection, and notes for each segment how long after it first saw it
 * listed the segment was in hand. A segment that slid out of the listing before it was
 * fetched is missed; one in hand later than one target duration after it was listed is late.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Target } from './player.ts';

const PACKET = 188;
const SYNC = 0x47;

export interface SegmentFetch {
  seq: number;
  /** When the playlist first listed it (performance ms). */
  listedAt: number;
  /** When its last byte arrived. */
  doneAt: number;
  bytes: number;
}

export class HlsPoller {
  readonly requestedAt = performance.now();
  firstMediaAt = -1;
  bytes = 0;
  misaligned = 0;
  missed = 0;
  error: string | null = null;
  ended = false;
  readonly fetches: SegmentFetch[] = [];
  private lastSeq = -1;
  private stopped = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly firstWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: Target,
    readonly channel: string,
    /** Sent as the user agent: acerelay counts distinct clients by address and user agent. */
    private readonly name: string,
    private readonly pollMs: number,
  ) {}

  get live(): boolean {
    return this.firstMediaAt >= 0 && !this.ended;
  }

  get ttfbMs(): number {
    return this.firstMediaAt < 0 ? -1 : this.firstMediaAt - this.requestedAt;
  }

  start(): void {
    void this.poll();
  }

  firstMedia(): Promise<void> {
    if (this.firstMediaAt >= 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.firstWaiters.push(resolve));
  }

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.agent.destroy();
    this.wake();
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    const playlistUrl = new URL(`/ace/manifest.m3u8?id=${this.channel}`, this.target.base);
    try {
      const res = await this.get(playlistUrl);
      // 503 while the first segment is being made: try again, as players do.
      if (res.status === 200) {
        const now = performance.now();
        const listing = parsePlaylist(res.body.toString('utf8'));
        for (const s of listing) {
          if (s.seq <= this.lastSeq) continue;
          if (this.lastSeq >= 0 && s.seq > this.lastSeq + 1) this.missed += s.seq - this.lastSeq - 1;
          // A new client starts at the live edge, like a player: the newest segment.
          if (this.lastSeq < 0 && s !== listing.at(-1)) continue;
          const got = await this.get(new URL(s.uri, playlistUrl), true);
          if (this.stopped) return;
          if (got.status !== 200) throw new Error(`segment ${s.seq}: HTTP ${got.status}`);
          this.fetches.push({ seq: s.seq, listedAt: now, doneAt: performance.now(), bytes: got.size });
          this.lastSeq = s.seq;
        }
      } else if (res.status !== 503) {
        throw new Error(`playlist: HTTP ${res.status}`);
      }
    } catch (err) {
      if (!this.stopped) this.end(err instanceof Error ? err.message : String(err));
      return;
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), this.pollMs);
  }

  /**
   * GET; a segment's body is checked and counted as it arrives (a thousand clients copying
   * every segment whole would make the load client the bottleneck), a playlist's is kept.
   */
  private get(url: URL, segment = false): Promise<{ status: number; body: Buffer; size: number }> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: this.agent, headers: { 'user-agent': this.name } }, (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        const media = segment && res.statusCode === 200;
        res.on('data', (c: Buffer) => {
          if (media) this.take(c, size);
          else parts.push(c);
          size += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), size }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  /** A chunk of a segment starting `at` bytes into it: every packet must start with 0x47. */
  private take(chunk: Buffer, at: number): void {
    for (let i = (PACKET - (at % PACKET)) % PACKET; i < chunk.length; i += PACKET) if (chunk[i] !== SYNC) this.misaligned++;
    this.bytes += chunk.length;
    if (this.firstMediaAt < 0) {
      this.firstMediaAt = performance.now();
      this.wake();
    }
  }

  private end(error: string | null): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
  }

  private wake(): void {
    for (const w of this.firstWaiters.splice(0)) w();
  }
}

/** Sequence numbers and URIs of a media playlist (what a poller needs of it). */
export function parsePlaylist(text: string): Array<{ seq: number; uri: string }> {
  let seq = 0;
  const out: Array<{ seq: number; uri: string }> = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l.startsWith('#EXT-X-MEDIA-SEQUENCE:')) seq = Number(l.slice(22));
    else if (l && !l.startsWith('#')) out.push({ seq: seq++, uri: l });
  }
  return out;
}
