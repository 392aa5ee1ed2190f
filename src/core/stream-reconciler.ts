/**
 * Keeps the orchestrator's list of started streams true to what we run.
 *
 * The orchestrator forgets every stream when it restarts (the real one wipes its database at
 * start and on SIGTERM), and can keep a stream of ours `started` that we ended: a start
 * delivered late is filed under whichever engine has the same host:port. Events alone cannot
 * repair either, so after the orchestrator comes back (or its engines change) and every few
 * minutes, we compare its list with ours:
 *  - a live stream of ours it does not list is announced again (a repeated start with the
 *    same id replaces the record: safe);
 *  - a stream it lists under one of our ids that we no longer run is ended (the id is listed,
 *    so the end cannot hit another stream).
 * Ids of other clients (and of other acerelay instances) are never touched: "ours" means an
 * id this instance started (its journal, or its memory without one).
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Outbox } from './event-outbox.ts';

export interface ReconcilerDeps {
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  /** Whether this stream id was started by this instance (in this run or an earlier one). */
  isOurs(streamId: string): boolean;
  /** The stream ids our live sessions run right now. */
  running(): Set<string>;
}

export interface ReconcileReport {
  reannounced: string[];
  ended: string[];
}

/** A stream is announced again at most this often: one the orchestrator keeps dropping is not worth a loop. */
const REANNOUNCE_GAP_MS = 5 * 60_000;

export class StreamReconciler {
  private busy: Promise<ReconcileReport> | null = null;
  private readonly reannouncedAt = new Map<string, number>();
  private readonly endedOrphans = new Set<string>();
  lastRunAt = -Infinity;

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Compares once (a call while one runs joins it). Never throws: an unreachable orchestrator is tried next time. */
  check(): Promise<ReconcileReport> {
    this.busy ??= this.compare().finally(() => {
      this.busy = null;
    });
    return this.busy;
  }

  private async compare(): Promise<ReconcileReport> {
    const { outbox, clock, logger } = this.deps;
    this.lastRunAt = clock.now();
    const report: ReconcileReport = { reannounced: [], ended: [] };
    let listed: Map<string, string>;
    try {
      listed = await outbox.startedStreams(true);
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not read the started streams; compared next time');
      return report;
    }
    const running = this.deps.running();
    const now = clock.now();
    for (const [id, ev] of outbox.liveStreams()) {
      if (listed.has(id) || outbox.has(id) || !running.has(id)) continue;
      if (now - (this.reannouncedAt.get(id) ?? -Infinity) < REANNOUNCE_GAP_MS) continue;
      this.reannouncedAt.set(id, now);
      outbox.enqueue({ streamId: id, type: 'stream_started', containerId: ev.containerId, payload: ev });
      report.reannounced.push(id);
    }
    for (const [id, containerId] of listed) {
      if (running.has(id) || outbox.has(id) || this.endedOrphans.has(id) || !this.deps.isOurs(id)) continue;
      this.endedOrphans.add(id);
      outbox.enqueue({ streamId: id, type: 'stream_ended', containerId, payload: { containerId, streamId: id, reason: 'proxy_restart' } });
      report.ended.push(id);
    }
    for (const id of this.reannouncedAt.keys()) if (!running.has(id)) this.reannouncedAt.delete(id);
    for (const id of this.endedOrphans) if (!listed.has(id)) this.endedOrphans.delete(id);
    if (report.reannounced.length + report.ended.length > 0) {
      logger.info({ reannounced: report.reannounced.length, ended: report.ended.length }, 'orchestrator stream list repaired');
    }
    return report;
  }
}
