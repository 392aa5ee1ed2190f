/**
 * Interleaved rounds: the same machine moves by up to half from one minute to the next, so a
 * row's targets are measured in turn, several times over, and a figure is picked from each
 * target's rounds by one rule for all of them.
 */
import type { StreamsResult } from './measure.ts';
import type { Bound } from './run.ts';

/**
 * Every round of each target, in the order measured: `rounds` times over for the targets
 * `repeat` names, once for the others. Every other round runs in the reverse order
 * (a, b, b, a, …), so no target always runs right after another.
 */
export async function measureInRounds(
  targets: Bound[],
  rounds: number,
  repeat: (t: Bound) => boolean,
  measure: (t: Bound) => Promise<StreamsResult>,
): Promise<Map<string, StreamsResult[]>> {
  const all = new Map<string, StreamsResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      if (round > 0 && !repeat(t)) continue;
      all.get(t.name)!.push(await measure(t));
    }
  }
  return all;
}

/** The round with the highest `score` (the first of equals). */
export function best(rounds: StreamsResult[], score: (r: StreamsResult) => number): StreamsResult {
  return rounds.reduce((a, b) => (score(b) > score(a) ? b : a));
}

/** Lower CPU per GB scores higher; a target without a proxy figure keeps its first round. */
export const lowCpu = (r: StreamsResult): number => -(r.proxy?.cpuPerGB ?? 0);

/** Each target's proxy CPU-s/GB, round by round (targets without a proxy left out). */
export function cpuByRound(all: Map<string, StreamsResult[]>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, rounds] of all) {
    const cpu = rounds.flatMap((r) => (r.proxy ? [r.proxy.cpuPerGB] : []));
    if (cpu.length > 0) out[name] = cpu;
  }
  return out;
}
