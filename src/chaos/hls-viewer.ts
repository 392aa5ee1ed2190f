/**
 * An HLS viewer for the harness (architecture.md, "A harness drives it through HTTP alone"):
 * a loop on the virtual clock of `GET /ace/manifest.m3u8?id=…` every half segment and a `GET`
 * of each new segment, in order; silence (leaving) is the loop stopping. It records what it was
 * answered and checks what it can alone, as it goes: a playlist's media sequence never goes
 * back, each segment fetched is whole packets starting with a PAT. A 503 `stream_not_ready`
 * is retried after its Retry-After (the audience keeps its place); any other error answer to a
 * playlist is definitive, and the viewer stops there.
 */
import http from 'node:http';
import type { Clock, TimerHandle } from '../clock.ts';

const PACKET = 188;
const SYNC = 0x47;
/** A viewer polls twice per target segment duration (ACERELAY_HLS_SEGMENT, 2 s by default). */
export const HLS_POLL_MS = 1_000;

export type HlsEnding = 'open' | 'left' | 'refused' | 'error';

/**
 * One audience as this viewer saw it: from its first request (or the answer that showed the
 * one before had ended) to the next. A `503 stream_not_ready` after segments came means the
 * audience they came from ended and a new one (a new session) is starting: for an HLS viewer
 * that is what a reset is for a TS player, who would reconnect.
 */
export interface HlsAttempt {
  startedAt: number;
  firstSegmentAt: number | null;
  lastSegmentAt: number | null;
  /** The longest time between two new segments. */
  maxSegmentGap: number;
  segments: number;
}

export interface HlsViewerLog {
  id: number;
  channel: number;
  arrivedAt: number;
  /** The first 200 playlist listing a segment (null: none yet). */
  firstPlaylistAt: number | null;
  /** The first segment in hand. */
  firstSegmentAt: number | null;
  /** The last time a segment new to this viewer arrived. */
  lastSegmentAt: number | null;
  /** The longest time between two new segments. */
  maxSegmentGap: number;
  segments: number;
  attempts: HlsAttempt[];
  /** 503 stream_not_ready answers (the viewer retried). */
  notReady: number;
  /** A definitive error answer to a playlist request: its status and code. */
  refusal: { status: number; code: string | null; at: number } | null;
  ending: HlsEnding;
  endedAt: number | null;
  /** What the viewer found wrong by itself (media sequence back, a segment not whole packets). */
  violation: string | null;
}

interface Answer {
  status: number;
  body: Buffer;
  retryAfter: string | null;
}

export class HlsViewer {
  readonly record: HlsViewerLog;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private timer: TimerHandle | null = null;
  private lastSeq = -1;
  private lastMediaSequence = -1;
  private busy = false;

  constructor(
    id: number,
    channel: number,
    /** The playlist's URL now (acerelay's port changes when the harness restarts it; '' while it is down). */
    private readonly urlNow: () => string,
    private readonly clock: Clock,
  ) {
    this.record = {
      id,
      channel,
      arrivedAt: clock.now(),
      firstPlaylistAt: null,
      firstSegmentAt: null,
      lastSegmentAt: null,
      maxSegmentGap: 0,
      segments: 0,
      attempts: [{ startedAt: clock.now(), firstSegmentAt: null, lastSegmentAt: null, maxSegmentGap: 0, segments: 0 }],
      notReady: 0,
      refusal: null,
      ending: 'open',
      endedAt: null,
      violation: null,
    };
    void this.poll();
  }

  get open(): boolean {
    return this.record.ending === 'open';
  }

  /** Stops polling: to acerelay, silence. */
  leave(): void {
    this.end('left');
  }

  private end(ending: HlsEnding): void {
    if (!this.open) return;
    this.record.ending = ending;
    this.record.endedAt = this.clock.now();
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.agent.destroy();
  }

  private next(ms: number): void {
    if (!this.open) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, ms);
  }

  private url = '';

  private async poll(): Promise<void> {
    if (!this.open || this.busy) return;
    this.busy = true;
    try {
      this.url = this.urlNow();
      if (this.url === '') throw new Error('acerelay is down');
      const a = await this.get(this.url);
      if (!this.open) return;
      if (a.status === 200) await this.playlist(a.body.toString());
      else {
        const code = errorCode(a.body);
        if (a.status === 503 && code === 'stream_not_ready') {
          this.record.notReady++;
          if (this.attempt.segments > 0) this.record.attempts.push({ startedAt: this.clock.now(), firstSegmentAt: null, lastSegmentAt: null, maxSegmentGap: 0, segments: 0 });
          this.next(Math.max(1, Number(a.retryAfter ?? 1)) * 1000);
          return;
        }
        this.record.refusal = { status: a.status, code, at: this.clock.now() };
        this.end('refused');
        return;
      }
      this.next(HLS_POLL_MS);
    } catch {
      // acerelay gone (killed, restarting): a player would retry.
      this.next(HLS_POLL_MS);
    } finally {
      this.busy = false;
    }
  }

  private async playlist(text: string): Promise<void> {
    const r = this.record;
    const lines = text.split('\n');
    const ms = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)?.[1] ?? NaN);
    const uris = lines.filter((l) => l !== '' && !l.startsWith('#'));
    if (!text.startsWith('#EXTM3U') || !Number.isFinite(ms)) return this.fault(`playlist without #EXTM3U or media sequence`);
    // A new session (after a refusal or the audience's end) starts its own numbering: only
    // within one token (one audience of one session) must the sequence not go back.
    const token = /^\/?ace\/hls\/([^/]+)\//.exec(new URL(uris[0] ?? '/', this.url).pathname.slice(1))?.[1] ?? null;
    if (token !== this.token) {
      this.token = token;
      this.lastMediaSequence = -1;
      this.lastSeq = -1;
    }
    if (ms < this.lastMediaSequence) return this.fault(`media sequence ${ms} after ${this.lastMediaSequence}`);
    this.lastMediaSequence = ms;
    if (uris.length > 0) r.firstPlaylistAt ??= this.clock.now();
    for (const [i, uri] of uris.entries()) {
      const seq = ms + i;
      if (seq <= this.lastSeq) continue;
      const a = await this.get(new URL(uri, this.url).toString());
      if (!this.open) return;
      // Gone from the window meanwhile (410) or unknown (404): the next playlist says more.
      if (a.status !== 200) return;
      if (a.body.length === 0 || a.body.length % PACKET !== 0 || a.body[0] !== SYNC || pidOf(a.body) !== 0) {
        return this.fault(`segment ${seq}: ${a.body.length} bytes, not whole packets starting with a PAT`);
      }
      for (let off = 0; off < a.body.length; off += PACKET) if (a.body[off] !== SYNC) return this.fault(`segment ${seq}: byte ${off} is not a packet start`);
      this.lastSeq = seq;
      const now = this.clock.now();
      r.firstSegmentAt ??= now;
      if (r.lastSegmentAt !== null) r.maxSegmentGap = Math.max(r.maxSegmentGap, now - r.lastSegmentAt);
      r.lastSegmentAt = now;
      r.segments++;
      const at = this.attempt;
      at.firstSegmentAt ??= now;
      if (at.lastSegmentAt !== null) at.maxSegmentGap = Math.max(at.maxSegmentGap, now - at.lastSegmentAt);
      at.lastSegmentAt = now;
      at.segments++;
    }
  }

  private token: string | null = null;

  private get attempt(): HlsAttempt {
    return this.record.attempts.at(-1)!;
  }

  private fault(what: string): void {
    this.record.violation ??= what;
  }

  private get(url: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: this.agent, headers: { 'user-agent': `chaos-hls-${this.record.id}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), retryAfter: (res.headers['retry-after'] as string | undefined) ?? null }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }
}

function pidOf(buf: Buffer): number {
  return ((buf[1]! & 0x1f) << 8) | buf[2]!;
}

function errorCode(body: Buffer): string | null {
  try {
    return (JSON.parse(body.toString()) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    return null;
  }
}
