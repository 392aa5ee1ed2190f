/** The runner's handle on the load-client processes: one request at a time over IPC each. */
import type { ChildProcess } from 'node:child_process';
import type { Command, OpenResult, Reply, WindowResult } from './protocol.ts';
import { distribution, percentile, round } from '../stats.ts';

export class LoadClient {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: Reply) => {
      const p = this.pending.get(msg.seq);
      if (!p) return;
      this.pending.delete(msg.seq);
      if (msg.ok) p.resolve(msg.data);
      else p.reject(new Error(`load client: ${msg.error}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`load client exited (${code})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send<T>(cmd: Command): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ seq, cmd });
    });
  }
}

/**
 * Several load clients acting as one: a run's players are dealt out round robin (so each
 * client carries its share of every channel), every window command goes to the clients that
 * have players, and their answers are merged from the raw samples. One client process cannot
 * read a thousand sockets at 4 Mbit/s each and still be a fair judge of lag.
 */
export class LoadPool {
  private active: LoadClient[] = [];

  constructor(readonly clients: LoadClient[]) {
    if (clients.length === 0) throw new Error('a load pool needs a client');
  }

  /** The first client, for the one-player measurements (time to first byte). */
  get first(): LoadClient {
    return this.clients[0]!;
  }

  async open(cmd: Extract<Command, { op: 'open' }>): Promise<OpenResult> {
    const shares = this.clients.map(() => [] as string[]);
    cmd.channels.forEach((c, i) => shares[i % shares.length]!.push(c));
    this.active = this.clients.filter((_, i) => shares[i]!.length > 0);
    const answers = await Promise.all(
      this.clients.map((c, i) => (shares[i]!.length > 0 ? c.send<OpenResult>({ ...cmd, channels: shares[i]! }) : null)),
    );
    return mergeOpen(answers.filter((a): a is OpenResult => a !== null));
  }

  async windowStart(): Promise<void> {
    await Promise.all(this.active.map((c) => c.send({ op: 'windowStart' })));
  }

  /** The merged window, and each client's CPU share (cores) so a saturated one shows. */
  async windowEnd(): Promise<{ window: WindowResult; clientShares: number[] }> {
    const answers = await Promise.all(this.active.map((c) => c.send<WindowResult>({ op: 'windowEnd' })));
    return { window: mergeWindows(answers), clientShares: answers.map((w) => round(w.clientCpuSeconds / w.seconds, 2)) };
  }

  async close(): Promise<void> {
    await Promise.all(this.active.map((c) => c.send({ op: 'close' })));
    this.active = [];
  }
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())].slice(0, 5);
}

export function mergeOpen(parts: OpenResult[]): OpenResult {
  const ttfbSamples = parts.flatMap((p) => p.ttfbSamples);
  return {
    players: parts.reduce((s, p) => s + p.players, 0),
    live: parts.reduce((s, p) => s + p.live, 0),
    failed: parts.reduce((s, p) => s + p.failed, 0),
    errors: union(parts.map((p) => p.errors)),
    ttfbMs: distribution(ttfbSamples),
    ttfbSamples,
    openMs: Math.max(0, ...parts.map((p) => p.openMs)),
  };
}

export function mergeWindows(parts: WindowResult[]): WindowResult {
  if (parts.length === 1) return parts[0]!;
  const lagSamples = parts.flatMap((p) => p.lagSamples);
  const ratios = parts.flatMap((p) => p.ratios);
  // Clients measured the same wall-clock window; the longest is the window.
  const seconds = Math.max(...parts.map((p) => p.seconds));
  return {
    seconds,
    bytes: parts.reduce((s, p) => s + p.bytes, 0),
    players: parts.reduce((s, p) => s + p.players, 0),
    keepingUp: parts.reduce((s, p) => s + p.keepingUp, 0),
    ratioMin: round(ratios.reduce((m, r) => (r < m ? r : m), ratios.length ? Infinity : NaN), 4),
    ratioP50: round(percentile(ratios, 50), 4),
    lagMs: distribution(lagSamples),
    lagSamples,
    ratios,
    ended: parts.reduce((s, p) => s + p.ended, 0),
    endErrors: union(parts.map((p) => p.endErrors)),
    misaligned: parts.reduce((s, p) => s + p.misaligned, 0),
    clientCpuSeconds: round(parts.reduce((s, p) => s + p.clientCpuSeconds, 0), 3),
    clientEldP99Ms: Math.max(...parts.map((p) => p.clientEldP99Ms)),
    ...mergeHls(parts),
  };
}

/** HLS windows: missed and late add up; segments per client is the median of the parts' medians. */
function mergeHls(parts: WindowResult[]): Pick<WindowResult, 'hls'> {
  const hls = parts.flatMap((p) => (p.hls ? [p.hls] : []));
  if (hls.length === 0) return {};
  return {
    hls: {
      segmentsPerClient: percentile(hls.map((h) => h.segmentsPerClient), 50),
      missed: hls.reduce((s, h) => s + h.missed, 0),
      late: hls.reduce((s, h) => s + h.late, 0),
    },
  };
}
