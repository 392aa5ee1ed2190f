/**
 * Engine capacity across instances that share one orchestrator.
 *
 * Each instance reserves engines in its own books and sees the others' streams only when the
 * orchestrator lists them (`/engines`, read with every status poll), so two instances can
 * choose one engine in the same moment. The listing is the shared truth: after each poll,
 * every instance orders the streams listed on each engine alike — other clients' streams first
 * (acerelay cannot move them), then acerelay's by the UUID in their id (version 7: the oldest
 * first), then by id — and the first `max` keep their seats. A session of ours listed past them
 * leaves that engine for another (a failover): every instance moves only its own sessions, and
 * of two that collide one stays and the other leaves. An engine carries more than `max` for the
 * later stream's start, its stream_started delivery, the next status poll of its instance (3 s
 * later at most when both starts landed by then, else one status interval), and the stop of
 * its engine session.
 */
import type { EngineInfo } from '../adapters/orchestrator/types.ts';
import type { Logger } from '../log.ts';
import { parseStreamId } from './ids.ts';
import type { SessionRecord, SessionRegistry } from './session-registry.ts';

export interface CrowdingView {
  engines: ReadonlyArray<Pick<EngineInfo, 'containerId' | 'streams'>>;
  maxPerEngine: number;
  /** Stream ids our live sessions run right now: the only ones this instance may move. */
  running: ReadonlySet<string>;
  /** Whether we started this id: one of ours not running any more is on its way out and takes no seat. */
  ours: (streamId: string) => boolean;
}

export interface Move {
  streamId: string;
  containerId: string;
  /** How many streams that engine carries (counted as seated). */
  listed: number;
}

/** Our streams that must leave their engine, each with the engine it crowds. */
export function streamsToMove(view: CrowdingView): Move[] {
  const moves: Move[] = [];
  for (const engine of view.engines) {
    const seated = engine.streams.filter((id) => view.running.has(id) || !view.ours(id));
    if (seated.length <= view.maxPerEngine) continue;
    const order = [...new Set(seated)].sort(seatingOrder);
    for (const id of order.slice(view.maxPerEngine)) {
      if (view.running.has(id)) moves.push({ streamId: id, containerId: engine.containerId, listed: order.length });
    }
  }
  return moves;
}

/** The order every instance computes alike: other clients' streams, then acerelay's oldest first. */
export function seatingOrder(a: string, b: string): number {
  const pa = parseStreamId(a);
  const pb = parseStreamId(b);
  if ((pa === null) !== (pb === null)) return pa === null ? -1 : 1;
  if (pa && pb && pa.uuid !== pb.uuid) return pa.uuid < pb.uuid ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sends ENGINE_CROWDED to each running session of ours that `streamsToMove` names for these
 * engines (a fresh `/engines`). Returns the moves made.
 */
export function moveCrowdedSessions(
  registry: Pick<SessionRegistry, 'listSessions'>,
  engines: CrowdingView['engines'],
  maxPerEngine: number,
  ours: CrowdingView['ours'],
  log: Logger,
): Move[] {
  const byStream = new Map<string, SessionRecord>();
  for (const s of registry.listSessions()) {
    const snap = s.actor.getSnapshot();
    if (snap.context.streamId && snap.matches('running')) byStream.set(snap.context.streamId, s);
  }
  if (byStream.size === 0) return [];
  const moves = streamsToMove({ engines, maxPerEngine, running: new Set(byStream.keys()), ours });
  for (const m of moves) {
    log.info({ stream: m.streamId, engine: m.containerId, listed: m.listed, max: maxPerEngine }, 'the engine carries more sessions than the maximum: this one moves to another engine');
    byStream.get(m.streamId)!.actor.send({ type: 'ENGINE_CROWDED' });
  }
  return moves;
}
