/**
 * A player that reconnects, like VLC's or ffmpeg's `-reconnect_streamed 1
 * -reconnect_on_network_error 1 -reconnect_on_http_error 5xx`: whenever its stream breaks, ends or
 * is refused, it asks again after a short pause. It keeps no bytes, only what each attempt
 * got: status, headers, whole TS packets counted (media apart from null packets, which is all a
 * held player gets) and how it ended.
 */
import http from 'node:http';

export interface Attempt {
  startedAt: number;
  status: number;
  /** The instance that answered, from nginx's X-Acerelay-Instance. */
  instance: string | null;
  firstMediaAt: number | null;
  packets: number;
  mediaPackets: number;
  /** Whether every packet began with 0x47 (alignment kept across chunks). */
  aligned: boolean;
  ending: 'open' | 'end' | 'error' | 'stopped';
  endedAt: number | null;
}

const NULL_PID = 0x1fff;

export class ReconnectingPlayer {
  readonly attempts: Attempt[] = [];
  private stopped = false;
  private req: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly url: string,
    private readonly retryDelayMs = 500,
  ) {}

  start(): this {
    this.connect();
    return this;
  }

  get current(): Attempt | undefined {
    return this.attempts.at(-1);
  }

  /** Media packets received since `t` (epoch ms), over the attempts that began after it. */
  mediaSince(t: number): number {
    return this.attempts.filter((a) => a.startedAt >= t).reduce((n, a) => n + a.mediaPackets, 0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const a = this.current;
    if (a && a.ending === 'open') this.finish(a, 'stopped');
    this.req?.destroy();
  }

  private finish(a: Attempt, ending: Attempt['ending']): void {
    if (a.ending !== 'open') return;
    a.ending = ending;
    a.endedAt = Date.now();
    if (!this.stopped) this.timer = setTimeout(() => this.connect(), this.retryDelayMs);
  }

  private connect(): void {
    if (this.stopped) return;
    const a: Attempt = { startedAt: Date.now(), status: 0, instance: null, firstMediaAt: null, packets: 0, mediaPackets: 0, aligned: true, ending: 'open', endedAt: null };
    this.attempts.push(a);
    let rest: Buffer = Buffer.alloc(0);
    // A new connection every time (no agent), as a player's reconnect is.
    const req = http.get(this.url, { agent: false }, (res) => {
      a.status = res.statusCode ?? 0;
      const instance = res.headers['x-acerelay-instance'];
      // `$upstream_addr` lists every instance tried ("a, b" after a failover): the last one answered.
      a.instance = typeof instance === 'string' ? instance.split(',').at(-1)!.trim() : null;
      res.on('data', (chunk: Buffer) => {
        if (a.status !== 200) return;
        const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        let i = 0;
        for (; i + 188 <= buf.length; i += 188) {
          if (buf[i] !== 0x47) a.aligned = false;
          a.packets++;
          const pid = ((buf[i + 1]! & 0x1f) << 8) | buf[i + 2]!;
          if (pid !== NULL_PID) {
            a.mediaPackets++;
            a.firstMediaAt ??= Date.now();
          }
        }
        rest = buf.subarray(i);
      });
      res.on('end', () => this.finish(a, 'end'));
      res.on('error', () => this.finish(a, 'error'));
      res.on('aborted', () => this.finish(a, 'error'));
      res.on('close', () => this.finish(a, res.complete ? 'end' : 'error'));
    });
    req.on('error', () => this.finish(a, 'error'));
    this.req = req;
  }
}
