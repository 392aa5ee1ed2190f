/**
 * What the simulator saw of several acerelays sharing it: engines carrying more sessions than
 * the maximum (from its engine session spans), provisioning calls in flight at once, and the
 * streams each instance started (by the instance in their id).
 */
import type { SimState } from '../../src/sim/index.ts';
import { parseStreamId } from '../../src/core/ids.ts';

export interface Crowding {
  containerId: string;
  from: number;
  to: number;
  /** Most sessions the engine carried at once during that time. */
  peak: number;
}

/**
 * Every stretch of time an engine carried more than `max` engine sessions (started and not yet
 * stopped, read or not), from the simulator's session spans; an open stretch ends at `now`.
 */
export function crowdedStretches(state: SimState, max: number): Crowding[] {
  const out: Crowding[] = [];
  for (const engine of state.engines) {
    const edges = engine.sessions.flatMap((s) => [
      { t: s.started_at, d: +1 },
      { t: s.stopped_at ?? state.now, d: -1 },
    ]);
    // At equal times a stop comes before a start: a session replaced in the same millisecond is no overlap.
    edges.sort((a, b) => a.t - b.t || a.d - b.d);
    let n = 0;
    let open: Crowding | null = null;
    for (const e of edges) {
      n += e.d;
      if (n > max && !open) open = { containerId: engine.container_id, from: e.t, to: e.t, peak: n };
      if (open) open.peak = Math.max(open.peak, n);
      if (n <= max && open) {
        open.to = e.t;
        out.push(open);
        open = null;
      }
    }
    if (open) out.push({ ...open, to: state.now });
  }
  return out;
}

/** The most provisioning calls the orchestrator had in flight at once (`from` on). */
export function provisionsInFlight(state: SimState, from = 0): number {
  const edges = state.provisions
    .filter((p) => p.t >= from)
    .flatMap((p) => [
      { t: p.t, d: +1 },
      { t: p.done_at ?? state.now, d: -1 },
    ])
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let n = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (n += e.d));
  return peak;
}

/** The instance an acerelay stream id names (null for any other id). */
export function instanceOf(streamId: string): string | null {
  return parseStreamId(streamId)?.instance ?? null;
}

/** Stream ids the orchestrator lists as started, by the instance that started them. */
export function startedBy(state: SimState, instance: string): string[] {
  return state.streams.filter((s) => s.status === 'started' && instanceOf(s.id) === instance).map((s) => s.id);
}
