/**
 * The invariants that came with crowds, long runs and the soak (11–13); 1–10 are in
 * invariants.ts.
 */
import type { Invariant } from './invariants.ts';
import { MiB, mib } from './memory.ts';
import { parseStreamId } from '../core/ids.ts';

/**
 * 11. After the quiet end the orchestrator lists no `acerelay-` stream that acerelay does not
 * run. Ids are `acerelay-<instance>-<uuid>`; the harness runs one instance (its restarts keep
 * the name), so any acerelay stream listed, whatever instance it names, must be one it runs.
 */
export const listedNotRun: Invariant = {
  id: 11,
  name: 'after the quiet end the orchestrator lists no acerelay- stream acerelay does not run',
  check(run) {
    const running = new Set(run.end.running);
    const ours = run.listed.filter((s) => s.id.startsWith('acerelay-'));
    const violations = ours
      .filter((s) => !running.has(s.id))
      .map((s) => {
        const events = run.sim.events.filter((e) => e.stream_id === s.id).map((e) => `${e.type} ${e.http_status}${e.processed ? '' : ' unprocessed'} at ${((e.t - run.checkedAt) / 1000).toFixed(1)}s`);
        const instance = parseStreamId(s.id)?.instance ?? 'no instance';
        return `${s.id} (${instance}) listed started on ${s.containerId.slice(0, 8)} (since ${((s.startedAt - run.checkedAt) / 1000).toFixed(1)} s before the check); acerelay runs it not — deliveries: ${events.join(', ') || 'none'}`;
      });
    return { checks: Math.max(1, ours.length), violations };
  },
};

/**
 * How much more of the heap + external memory acerelay may hold after a quiet end than just
 * after it started. Both are its share of the process (what closing it frees, after GC). What
 * legitimately stays: its metrics' label sets, the journal's statements and caches, one-time
 * allocations of code paths first taken during the run (routes, parsers, pools). Measured on
 * clean runs: 0.2–3 MiB whatever the crowd; a channel's replay window or a player's socket
 * kept per session would pass it within a crowd of ~40.
 */
export const MEMORY_GROWTH_BOUND = 4 * MiB;

/** 12. acerelay's memory after a quiet end is back within MEMORY_GROWTH_BOUND of its start. */
export const memoryReturns: Invariant = {
  id: 12,
  name: "acerelay's memory returns to within a bound of its start after the quiet end",
  check(run) {
    const m = run.memory;
    // Two worlds in one process (the harness's own tests run some side by side) cannot tell their memory apart.
    if (!m?.start || !m.start.alone || !m.end.alone) return { checks: 0, violations: [] };
    // A share under 0 is collector noise (bytecode flushed between the two measurements): count it as nothing.
    const growth = m.end.bytes - Math.max(0, m.start.bytes);
    const violations =
      growth > MEMORY_GROWTH_BOUND
        ? [`acerelay holds ${mib(m.end.bytes)} after the quiet end against ${mib(m.start.bytes)} at its start (+${mib(growth)}, bound ${mib(MEMORY_GROWTH_BOUND)})`]
        : [];
    return { checks: 1, violations };
  },
};

/**
 * 13. No more than ACERELAY_QUEUE_MAX players held at once. A player is held from its 200
 * until its first media (or its end); acerelay lets go of it a moment before the media
 * arrives, so the last two steps of each hold are not counted.
 */
export const queueBound: Invariant = {
  id: 13,
  name: 'no more than QUEUE_MAX players are held at once',
  check(run) {
    const grace = 2 * run.limits.stepMs;
    const holds = run.players
      .filter((p) => p.status === 200 && p.headersAt !== null)
      .map((p) => ({ id: p.id, from: p.headersAt!, to: (p.firstMediaAt ?? p.endedAt ?? run.checkedAt) - grace }))
      .filter((h) => h.to > h.from);
    const violations: string[] = [];
    let worst = 0;
    for (const h of holds) {
      const at = holds.filter((o) => o.from <= h.from && h.from < o.to).length;
      if (at > run.limits.queueMax && at > worst) {
        worst = at;
        violations.push(`${at} players held at once when player ${h.id} was (QUEUE_MAX ${run.limits.queueMax})`);
      }
    }
    return { checks: holds.length, violations };
  },
};
