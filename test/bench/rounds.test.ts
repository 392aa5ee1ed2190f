import { describe, expect, it } from 'vitest';
import { best, cpuByRound, lowCpu, measureInRounds } from '../../bench/rounds.ts';
import type { StreamsResult } from '../../bench/measure.ts';
import type { Bound } from '../../bench/run.ts';
import type { TargetName } from '../../bench/args.ts';

const bound = (name: TargetName, proxy = true): Bound => ({ name, target: { name, base: 'http://x', mode: 'session' }, proxy: proxy ? ({} as Bound['proxy']) : null });
const result = (target: string, cpuPerGB: number | null, mbPerS = 1): StreamsResult =>
  ({ target, mbPerS, proxy: cpuPerGB === null ? null : { cpuPerGB } }) as unknown as StreamsResult;

describe('bench rounds', () => {
  it('measures the repeated targets in turn, every other round reversed, the others once', async () => {
    const order: string[] = [];
    const targets = [bound('engine', false), bound('acerelay'), bound('nginx'), bound('pipe')];
    const all = await measureInRounds(targets, 3, (t) => t.name === 'acerelay' || t.name === 'nginx', async (t) => {
      order.push(t.name);
      return result(t.name, t.proxy ? order.length : null);
    });
    expect(order).toEqual(['engine', 'acerelay', 'nginx', 'pipe', 'nginx', 'acerelay', 'acerelay', 'nginx']);
    expect(all.get('acerelay')!.map((r) => r.proxy!.cpuPerGB)).toEqual([2, 6, 7]);
    expect(all.get('pipe')!.length).toBe(1);
    expect(cpuByRound(all)).toEqual({ acerelay: [2, 6, 7], nginx: [3, 5, 8], pipe: [4] });
  });

  it('keeps each side its lowest CPU per GB (the first of equals; the first round without a proxy figure), or its fastest', () => {
    expect(best([result('a', 0.9), result('a', 0.7), result('a', 0.8)], lowCpu).proxy!.cpuPerGB).toBe(0.7);
    const tie = [result('a', 0.7, 1), result('a', 0.7, 2)];
    expect(best(tie, lowCpu)).toBe(tie[0]);
    const engine = [result('engine', null, 5), result('engine', null, 9)];
    expect(best(engine, lowCpu)).toBe(engine[0]);
    expect(best(engine, (r) => r.mbPerS)).toBe(engine[1]);
  });
});
