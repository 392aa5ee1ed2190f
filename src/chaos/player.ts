/**
 * A player for the harness: a real HTTP client that records, on the harness's clock, what
 * it was answered and every byte it got — enough for the invariants to judge it afterwards.
 */
import http from 'node:http';
import type { Clock } from '../clock.ts';
import { PacketCheck, describeFault } from './packet-check.ts';

export type Ending = 'open' | 'end' | 'reset' | 'left' | 'error';

/** What one harness player was answered and received (not acerelay's PlayerRecord of a live player). */
export interface PlayerLog {
  id: number;
  channel: number;
  url: string;
  arrivedAt: number;
  status: number | null;
  headersAt: number | null;
  /** First packet that is not a null packet. */
  firstMediaAt: number | null;
  lastMediaAt: number | null;
  /** Longest silence between media chunks once media flowed. */
  maxMediaGap: number;
  endedAt: number | null;
  ending: Ending;
  retryAfter: string | null;
  errorCode: string | null;
  bytes: number;
  /** Packets checked for invariant 9 as they arrived (a 200 answer's body). */
  packets: number;
  /** What invariant 9 found wrong in this player's bytes, if anything. */
  packetViolation: string | null;
}

export class ChaosPlayer {
  readonly record: PlayerLog;
  private readonly abort = new AbortController();
  private readonly check = new PacketCheck();

  constructor(id: number, channel: number, url: string, private readonly clock: Clock) {
    this.record = {
      id,
      channel,
      url,
      arrivedAt: clock.now(),
      status: null,
      headersAt: null,
      firstMediaAt: null,
      lastMediaAt: null,
      maxMediaGap: 0,
      endedAt: null,
      ending: 'open',
      retryAfter: null,
      errorCode: null,
      bytes: 0,
      packets: 0,
      packetViolation: null,
    };
    this.start();
  }

  get open(): boolean {
    return this.record.ending === 'open';
  }

  /** The player goes away (closes its socket). */
  leave(): void {
    if (!this.open) return;
    this.finish('left');
    this.abort.abort();
  }

  private start(): void {
    const r = this.record;
    const req = http.get(r.url, { signal: this.abort.signal, agent: false }, (res) => {
      r.status = res.statusCode ?? 0;
      r.headersAt = this.clock.now();
      r.retryAfter = (res.headers['retry-after'] as string | undefined) ?? null;
      const stream = res.statusCode === 200;
      const body: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        r.bytes += chunk.length;
        if (!stream) {
          body.push(chunk);
          return;
        }
        const media = this.check.push(chunk);
        r.packets = this.check.packets;
        if (this.check.fault && r.packetViolation === null) r.packetViolation = describeFault(this.check.fault);
        if (media) {
          const now = this.clock.now();
          r.firstMediaAt ??= now;
          if (r.lastMediaAt !== null) r.maxMediaGap = Math.max(r.maxMediaGap, now - r.lastMediaAt);
          r.lastMediaAt = now;
        }
      });
      res.on('end', () => {
        if (!stream) {
          try {
            r.errorCode = (JSON.parse(Buffer.concat(body).toString()) as { error?: { code?: string } }).error?.code ?? null;
          } catch {
            r.errorCode = null;
          }
        }
        this.finish('end');
      });
      res.on('error', (err: NodeJS.ErrnoException) => this.finish(err.code === 'ECONNRESET' ? 'reset' : 'error'));
      res.on('aborted', () => this.finish('reset'));
      res.on('close', () => this.finish(res.complete ? 'end' : 'reset'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => this.finish(err.code === 'ECONNRESET' ? 'reset' : 'error'));
  }

  private finish(ending: Ending): void {
    if (this.record.ending !== 'open') return;
    this.record.ending = ending;
    this.record.endedAt = this.clock.now();
  }
}
