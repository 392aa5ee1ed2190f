/**
 * Invariant 7: the orchestrator's accounting of our streams. Every accepted stream_started
 * gets a stream_ended from its own session (or, for a session alive when acerelay crashed,
 * from the crash recovery) — not just from the reconciler, whose comparison every few minutes
 * would otherwise hide a session that never sends its end. The reconciler's end is the right
 * one only for a start the orchestrator took after its session had let go of the stream (a
 * late delivery: nothing else can end it) or after the orchestrator refused our key for the
 * end. No end may name an id the orchestrator (that incarnation of it) never accepted.
 */
import type { SimEvent } from '../sim/index.ts';
import type { Invariant, RunRecord } from './invariants.ts';

/** The reason of the ends the crash recovery and the reconciler send (a session sends its own). */
const PROXY_RESTART = 'proxy_restart';

interface Holding {
  actor: string;
  /** When its session let go of the stream (a new stream id, or the session over); null: never, in the record. */
  releasedAt: number | null;
}

/** Which session held each stream id, and when it let go of it, from acerelay's journal entries. */
function holdings(run: RunRecord): Map<string, Holding> {
  const out = new Map<string, Holding>();
  const current = new Map<string, string>();
  for (const e of run.entries) {
    if (e.machine !== 'session') continue;
    const id = (e.facts.stream_id as string | null | undefined) ?? null;
    const before = current.get(e.actor) ?? null;
    if (before !== null && (before !== id || e.status !== 'active')) {
      const h = out.get(before);
      if (h && h.releasedAt === null) h.releasedAt = e.t;
      current.delete(e.actor);
    }
    if (id !== null && e.status === 'active' && before !== id) {
      current.set(e.actor, id);
      if (!out.has(id)) out.set(id, { actor: e.actor, releasedAt: null });
    }
  }
  return out;
}

function t(run: RunRecord, at: number): string {
  return `t=${((at - (run.players[0]?.arrivedAt ?? run.sim.now)) / 1000).toFixed(1)}s`;
}

export const accounting: Invariant = {
  id: 7,
  name: 'every accepted stream_started gets a stream_ended (its own session’s), and no end names an unknown id',
  check(run) {
    const violations: string[] = [];
    const held = holdings(run);
    /** Per incarnation|id: when last accepted, whether still open, whether that start came after its session let go (late). */
    const streams = new Map<string, { acceptedAt: number; open: boolean; late: boolean }>();
    let accepted = 0;
    const refusedEnd = (id: string, before: number) =>
      run.sim.events.some((x) => x.type === 'stream_ended' && x.stream_id === id && (x.http_status === 401 || x.http_status === 403) && x.t <= before);
    for (const e of run.sim.events) {
      if (!e.processed) continue;
      if (!e.stream_id) {
        if (e.type === 'stream_ended') violations.push(`stream_ended without an id at ${t(run, e.t)}`);
        continue;
      }
      const key = `${e.incarnation}|${e.stream_id}`;
      const known = streams.get(key);
      if (e.type === 'stream_started') {
        if (e.http_status !== 200) continue;
        accepted++;
        const releasedAt = held.get(e.stream_id)?.releasedAt ?? null;
        streams.set(key, { acceptedAt: e.t, open: true, late: releasedAt !== null && releasedAt <= e.t });
        continue;
      }
      if (!known) {
        violations.push(`stream_ended for ${e.stream_id} at ${t(run, e.t)}, never accepted by this orchestrator${e.ended_stream_id && e.ended_stream_id !== e.stream_id ? ` — it ended ${e.ended_stream_id}` : ''}`);
        continue;
      }
      if (known.open) {
        if (e.ended_stream_id !== e.stream_id) violations.push(`stream_ended for ${e.stream_id} ended ${e.ended_stream_id ?? 'nothing'}`);
        else if (byReconcilerOnly(e, held.get(e.stream_id), known.late, refusedEnd(e.stream_id, e.t))) {
          violations.push(`stream ${e.stream_id} was ended at ${t(run, e.t)} only by the reconciler (${PROXY_RESTART}): its session let go of it at ${t(run, held.get(e.stream_id)!.releasedAt!)} without an end of its own`);
        }
      }
      known.open = false;
    }
    // The orchestrator's own sweep ends a start it cannot place (an engine it no longer runs,
    // e.g. one its restart just wiped): its accounting is closed, and our end then rightly
    // finds the id no longer started and is not sent.
    for (const r of run.sim.streams) {
      const known = streams.get(`${r.incarnation}|${r.id}`);
      if (r.ended_by === 'sweep' && known && r.ended_at !== null && r.ended_at >= known.acceptedAt) known.open = false;
    }
    const current = run.sim.incarnation;
    for (const [key, s] of streams) {
      // A late start still open is invariant 11's: only the reconciler can end it.
      if (!s.open || s.late || !key.startsWith(`${current}|`)) continue;
      const id = key.split('|')[1]!;
      const record = run.sim.streams.filter((r) => `${r.incarnation}|${r.id}` === key).at(-1);
      const sends = run.sim.events.filter((e) => e.stream_id === id).map((e) => `${e.type.slice(7)} ${e.http_status}${e.processed ? '' : ' unprocessed'} ${t(run, e.t)}`);
      violations.push(
        `stream ${id} (container ${record?.container_id.slice(0, 8) ?? '?'}, accepted ${t(run, s.acceptedAt)}) was accepted and never ended — ` +
          `orchestrator record ${record ? `${record.status}${record.ended_by ? ` by ${record.ended_by}` : ''}` : 'missing'}, deliveries: ${sends.join(', ')}`,
      );
    }
    return { checks: accepted, violations };
  },
};

/**
 * Whether end `e` is the reconciler's where the session's own was due: the session let go of
 * the stream in a live acerelay (not at a crash: then the recovery's end is the one), after
 * the orchestrator had taken the start, and the orchestrator did not refuse an end of ours.
 */
function byReconcilerOnly(e: SimEvent, holding: Holding | undefined, late: boolean, refused: boolean): boolean {
  if (e.reason !== PROXY_RESTART || late || refused || !holding) return false;
  return holding.releasedAt !== null && holding.releasedAt <= e.t;
}
