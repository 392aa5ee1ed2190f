/** Messages between the runner and the load-client process (Node IPC, one reply per request). */
import type { Target } from './player.ts';
import type { Distribution } from '../stats.ts';

export type Command =
  | {
      op: 'open';
      target: Target;
      /** One channel id per player; in relay mode the first player of each id starts it. */
      channels: string[];
      /** Players started at once, then a pause: a thousand SYNs at once would measure the accept queue. */
      batch: number;
      batchGapMs: number;
      timeoutMs: number;
      /** The stream's bytes/s (lag is measured against it); 0 = unpaced. */
      rate: number;
      /** HLS clients instead of TS players: they poll /ace/manifest.m3u8 every `pollMs` (relay targets only). */
      hls?: { pollMs: number; targetMs: number };
    }
  | { op: 'windowStart' }
  | { op: 'windowEnd' }
  | { op: 'close' }
  | { op: 'ttfb'; target: Target; channels: string[]; gapMs: number; timeoutMs: number }
  | { op: 'throughput'; target: Target; channel: string; warmupMs: number; windowMs: number };

export interface Request {
  seq: number;
  cmd: Command;
}

export interface Reply {
  seq: number;
  ok: boolean;
  error?: string;
  data?: unknown;
}

export interface OpenResult {
  players: number;
  live: number;
  failed: number;
  errors: string[];
  ttfbMs: Distribution;
  openMs: number;
}

export interface WindowResult {
  seconds: number;
  bytes: number;
  players: number;
  /** Players that received ≥ 99 % of real time over the window. */
  keepingUp: number;
  ratioMin: number;
  ratioP50: number;
  lagMs: Distribution;
  /** Players that ended (dropped, reset) before the window closed. */
  ended: number;
  endErrors: string[];
  misaligned: number;
  clientCpuSeconds: number;
  clientEldP99Ms: number;
  /** HLS runs: segments in hand per client (median), and segments missed or late over all clients. */
  hls?: { segmentsPerClient: number; missed: number; late: number };
}

export interface TtfbResult {
  ttfbMs: number[];
  failed: number;
  errors: string[];
}

export interface ThroughputResult {
  bytes: number;
  seconds: number;
  mbPerS: number;
  clientCpuSeconds: number;
  error: string | null;
  misaligned: number;
}
