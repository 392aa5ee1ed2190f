/**
 * One simulated player in the load client: asks a target for a stream, notes when the first
 * media byte arrives (keep-alive null packets before it do not count), counts bytes, checks
 * that every packet starts with 0x47, and keeps what the lag needs.
 *
 * Lag: with a constant-bit-rate source, bytes are stream time. D(t) = wall time since the
 * first media byte − stream time received. A player that keeps up holds D flat (after the
 * start burst pulled it down); one that falls behind sees D grow. Lag = D − min D so far:
 * how far behind the best position it ever had the player is now.
 *
 * Real-time share over a window uses the lower envelope of D (its minimum over the last
 * 0.5–1 s, taken at data arrivals), so a proxy that delivers in bursts is judged by the
 * stream time it delivers, not by where the window edges fall between its bursts.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { RawGet } from './raw-get.ts';

export type TargetMode = 'relay' | 'session';

export interface Target {
  name: string;
  base: string;
  /**
   * relay: `GET /ace/getstream?id=…` (acerelay: one request, the proxy starts the engine);
   * session: the engine's own two steps through the target, `format=json` start with a
   * unique pid, then the playback URL (one engine session per player).
   */
  mode: TargetMode;
}

const PACKET = 188;
const SYNC = 0x47;
const NULL_PID = 0x1fff;

export class Player {
  readonly requestedAt = performance.now();
  firstMediaAt = -1;
  /** Bytes from the first media packet on. */
  bytes = 0;
  /** Packets whose first byte was not 0x47. */
  misaligned = 0;
  error: string | null = null;
  ended = false;
  minD = Infinity;
  /** Bytes at the start of the measured window. */
  mark = 0;
  /** Lower envelope of D at the start of the measured window. */
  markD = 0;
  /** Stream bytes/s (0 = unpaced: no lag kept). */
  rate = 0;
  private curMin = Infinity;
  private prevMin = Infinity;

  private pos = 0;
  private pidHigh = 0;
  private raw: RawGet | null = null;
  private readonly firstWaiters: Array<() => void> = [];

  constructor(
    private readonly target: Target,
    readonly channel: string,
    private readonly pid: string,
    private readonly agent: http.Agent,
  ) {}

  get ttfbMs(): number {
    return this.firstMediaAt < 0 ? -1 : this.firstMediaAt - this.requestedAt;
  }

  get live(): boolean {
    return this.firstMediaAt >= 0 && !this.ended;
  }

  async start(): Promise<void> {
    const base = new URL(this.target.base);
    this.raw = new RawGet(base, {
      onPayload: (buf, start, end) => this.onPayload(buf, start, end),
      onEnd: (error) => this.end(error),
    });
    try {
      const path = this.target.mode === 'relay' ? `/ace/getstream?id=${this.channel}` : await startSession(base, this.channel, this.pid, this.agent);
      this.raw.open(path);
    } catch (err) {
      this.end(err instanceof Error ? err.message : String(err));
    }
  }

  /** Resolves at the first media byte, or when the player ends without one. */
  firstMedia(): Promise<void> {
    if (this.firstMediaAt >= 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.firstWaiters.push(resolve));
  }

  close(): void {
    this.raw?.close();
  }

  /** D in seconds at wall time `now` (performance ms). */
  private d(now: number): number {
    return (now - this.firstMediaAt) / 1000 - this.bytes / this.rate;
  }

  /** Lag in seconds at wall time `now`; null before the first media byte or when unpaced. */
  lag(now: number): number | null {
    if (this.firstMediaAt < 0 || this.rate <= 0) return null;
    const d = this.d(now);
    if (d < this.minD) this.minD = d;
    return d - this.minD;
  }

  /** The lower envelope of D now (seconds). */
  envelope(now: number): number {
    if (this.firstMediaAt < 0 || this.rate <= 0) return NaN;
    return Math.min(this.curMin, this.prevMin, this.d(now));
  }

  /** Starts a new envelope bucket (called every half second). */
  rotate(): void {
    this.prevMin = this.curMin;
    this.curMin = Infinity;
  }

  private onPayload(buf: Buffer, start: number, end: number): void {
    if (this.firstMediaAt >= 0) {
      this.bytes += end - start;
      if (this.rate > 0) {
        const d = this.d(performance.now());
        if (d < this.curMin) this.curMin = d;
      }
    }
    let i = start;
    while (i < end) {
      const p = this.pos;
      if (p === 0) {
        if (buf[i] !== SYNC) this.misaligned++;
      } else if (this.firstMediaAt < 0 && p === 1) {
        this.pidHigh = buf[i]! & 0x1f;
      } else if (this.firstMediaAt < 0 && p === 2 && ((this.pidHigh << 8) | buf[i]!) !== NULL_PID) {
        // The first packet that is not keep-alive filler: media starts with it.
        this.firstMediaAt = performance.now();
        this.bytes = end - i + 2;
        this.wake();
      }
      // Inside a packet only the first three bytes matter: jump to the next header.
      const step = p < 3 && this.firstMediaAt < 0 ? 1 : Math.min(PACKET - p, end - i);
      i += step;
      this.pos = (p + step) % PACKET;
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

/** The engine's start call through the target: returns the playback path (rebased onto the target). */
async function startSession(base: URL, id: string, pid: string, agent: http.Agent): Promise<string> {
  const url = new URL(`/ace/getstream?format=json&id=${id}&pid=${pid}`, base);
  const body = await getJson(url, agent);
  const playback = (body as { response?: { playback_url?: string } } | null)?.response?.playback_url;
  if (!playback) throw new Error(`start failed: ${JSON.stringify(body).slice(0, 200)}`);
  const u = new URL(playback);
  return u.pathname + u.search;
}

function getJson(url: URL, agent: http.Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
        } catch {
          reject(new Error(`HTTP ${res.statusCode}: not JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
