/** Time to the first media byte: cold starts on every target, warm joins on acerelay. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { OpenResult, TtfbResult } from './load/protocol.ts';
import { measureTtfb } from './measure.ts';
import { distribution } from './stats.ts';
import { freshId, log, type Bound, type Run } from './run.ts';

/**
 * Time to the first media byte. Cold: a channel nobody watches, on every target (for the
 * references: start call + playback through it; the engine column is the engine's own start
 * time). Warm: acerelay only, a player joining a live channel (the references have no such
 * thing: with one reader per engine session every player is a cold start).
 */
export async function joins(run: Run, targets: Bound[]): Promise<void> {
  const client = run.pool!.first;
  const trials = run.args.full ? 40 : 20;
  log(`time to first media byte: ${trials} cold starts per target, ${trials * 2} warm joins`);
  const cold: Record<string, TtfbResult> = {};
  for (const t of targets) {
    cold[t.name] = await measureTtfb(client, { target: t.target, channels: Array.from({ length: trials }, freshId), gapMs: 100 });
    log(`  ${t.name} cold: p50 ${distribution(cold[t.name]!.ttfbMs).p50} ms`);
  }
  let warm: TtfbResult | null = null;
  const relay = targets.find((t) => t.name === 'acerelay');
  if (relay) {
    const id = freshId();
    const anchor = await client.send<OpenResult>({ op: 'open', target: relay.target, channels: [id], batch: 1, batchGapMs: 0, timeoutMs: 10_000, rate: 0 });
    if (anchor.live === 1) {
      await sleep(1_000);
      warm = await measureTtfb(client, { target: relay.target, channels: Array.from({ length: trials * 2 }, () => id), gapMs: 50 });
      log(`  acerelay warm join: p50 ${distribution(warm.ttfbMs).p50} ms`);
    }
    await client.send({ op: 'close' });
    await sleep(500);
  }
  run.results.join = { trials, cold, warm };
}
