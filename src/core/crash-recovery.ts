/**
 * After a restart (a crash, a kill -9): sessions the journal shows alive in an earlier run
 * are rebuilt by replay; their engine sessions get `method=stop`, their stream ids get
 * `stream_ended` (`proxy_restart`) through the outbox — which sends an end only when the
 * orchestrator still lists the id as started (asked again for a while when the start was
 * never confirmed: it may have been on the wire). Starts that never went out are not sent now.
 */
import type { JournalEntry, JournalStore, OutboxItem } from '../domain/journal.ts';
import type { JournalWriter } from './journal-writer.ts';
import type { Outbox } from './event-outbox.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { replaySession } from './replay.ts';
import type { Cleanup, StopJanitor } from './stop-janitor.ts';

export interface RecoveryDeps {
  journal: Pick<JournalStore, 'pendingOutbox' | 'settle' | 'startConfirmed' | 'unfinishedActors' | 'entriesOfActor'>;
  /** Numbers recovery entries in the hub's sequence. */
  nextSeq: () => number;
  /** Writes the recovery's entries, with the ends they cause, and hands those to the outbox. */
  writer: Pick<JournalWriter, 'appendRecovered'>;
  outbox: Outbox | null;
  /**
   * The stop janitor: `run` records a cleanup durably before its first try (synchronously) and
   * retries it while the engine cannot be reached; `resume` takes over those an earlier run
   * left outstanding.
   */
  janitor: Pick<StopJanitor, 'run' | 'resume'>;
  clock: Clock;
  logger: Logger;
  /** Whether stream events go to an orchestrator at all. */
  announce: boolean;
}

export interface RecoveryReport {
  sessions: number;
  players: number;
  ends: number;
  droppedStarts: number;
  resumed: number;
  /** Engine cleanups an earlier run left outstanding, taken over. */
  resumedCleanups: number;
}

export interface CleanupReport {
  stopped: number;
  /** First tries that failed (the janitor keeps retrying them in the background). */
  stopFailed: number;
}

/**
 * Journals the recovery at once (ends queued, sessions closed); the engine cleanups run in the
 * background (`cleanups`, which resolves with their outcome) so players are served meanwhile —
 * the janitor retries what fails.
 */
export async function recoverAfterRestart(deps: RecoveryDeps): Promise<RecoveryReport & { cleanups: Promise<CleanupReport> }> {
  const { journal, clock, logger } = deps;
  const cleaned: CleanupReport = { stopped: 0, stopFailed: 0 };
  const report: RecoveryReport = {
    sessions: 0,
    players: 0,
    ends: 0,
    droppedStarts: 0,
    resumed: 0,
    resumedCleanups: deps.janitor.resume(),
  };

  // Undelivered events of earlier runs: ends resume (each one confirmed before it goes out);
  // a start that never went out is for a stream that no longer exists.
  for (const row of journal.pendingOutbox()) {
    if (row.type === 'stream_started') {
      journal.settle(row.streamId, row.type, 'dropped', 'proxy_restart: its session did not survive');
      report.droppedStarts++;
    } else if (deps.outbox && deps.announce) {
      deps.outbox.enqueue({ ...row, startUnconfirmed: !journal.startConfirmed(row.streamId) });
      report.resumed++;
    }
  }

  const stops: Promise<void>[] = [];
  for (const { actor, machine, session } of journal.unfinishedActors()) {
    const entries = journal.entriesOfActor(actor);
    const last = entries.at(-1);
    const base: Omit<JournalEntry, 'state' | 'value' | 'status'> = {
      seq: deps.nextSeq(),
      t: clock.now(),
      actor,
      machine,
      session,
      type: 'event',
      event: { type: 'PROXY_RESTART' },
      facts: { ...(last?.facts ?? {}), recovered: true },
    };
    if (machine === 'player') {
      report.players++;
      deps.writer.appendRecovered({ ...base, state: 'ended', value: 'ended', status: 'stopped' }, []);
      continue;
    }
    report.sessions++;
    const snap = replaySession(entries);
    const ctx = snap?.context;
    const items: OutboxItem[] = [];
    if (deps.announce && ctx?.streamId && ctx.engine?.managed) {
      items.push({
        streamId: ctx.streamId,
        type: 'stream_ended',
        containerId: ctx.engine.containerId,
        payload: { containerId: ctx.engine.containerId, streamId: ctx.streamId, reason: 'proxy_restart' },
        // Its start may have been on the wire when the process died (its row was just dropped
        // above): the orchestrator can still register it, and then this end must follow.
        startUnconfirmed: !journal.startConfirmed(ctx.streamId),
      });
      report.ends++;
    }
    const cleanup = cleanupFor(snap);
    if (cleanup) {
      // Recorded (synchronously) before the session is journaled as stopped: a crash during
      // the cleanup leaves it to the next run, not to nobody.
      stops.push(
        deps.janitor.run(cleanup).then(
          () => {
            cleaned.stopped++;
          },
          (err: Error) => {
            cleaned.stopFailed++;
            logger.warn({ session: actor, err: err.message, kind: cleanup.kind }, 'could not stop an engine session left by the previous run (retried in the background)');
          },
        ),
      );
    }
    deps.writer.appendRecovered({ ...base, state: 'stopped', value: 'stopped', status: 'stopped' }, items);
  }
  if (report.sessions + report.players + report.resumed + report.droppedStarts + report.resumedCleanups > 0) logger.info(report, 'recovered from the previous run');
  const cleanups = Promise.all(stops).then(() => {
    if (stops.length > 0) logger.info({ stopped: cleaned.stopped, failed: cleaned.stopFailed }, 'engine sessions of the previous run cleaned up');
    return cleaned;
  });
  return { ...report, cleanups };
}

/** What the engine needs so that a session of the previous run no longer runs. */
function cleanupFor(snap: ReturnType<typeof replaySession>): Cleanup | null {
  const ctx = snap?.context;
  if (!snap || !ctx) return null;
  const commandUrl = ctx.playback?.commandUrl;
  if (commandUrl) return { kind: 'stop', commandUrl };
  if (!ctx.playback && ctx.engine && ctx.pid && (snap.matches('starting') || snap.matches('start_backoff'))) {
    const { source, pid, params } = ctx;
    return { kind: 'replace_and_stop', engineBase: ctx.engine.base, request: { source, pid, params } };
  }
  return null;
}
