/**
 * After a restart (a crash, a kill -9): sessions the journal shows alive in an earlier run
 * are rebuilt by replay; their engine sessions get `method=stop`, their stream ids get
 * `stream_ended` (`proxy_restart`) through the outbox — which sends an end only when the
 * orchestrator still lists the id as started. Starts that never went out are not sent now.
 */
import type { Journal, OutboxItem } from '../adapters/journal/journal.ts';
import type { EventJournal } from './event-journal.ts';
import type { Outbox } from './event-outbox.ts';
import type { JournalEntry } from './inspection-hub.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { replaySession } from './replay.ts';
import type { EngineSession, StartRequest } from '../adapters/engine/start.ts';

export interface RecoveryDeps {
  journal: Journal;
  /** Numbers recovery entries in the hub's sequence. */
  nextSeq: () => number;
  events: EventJournal;
  outbox: Outbox | null;
  engine: {
    start(engineBase: string, req: StartRequest): Promise<EngineSession>;
    stop(commandUrl: string): Promise<unknown>;
  };
  /** Runs a cleanup now and again later while the engine cannot be reached. */
  retry: <T>(key: string, origin: string, attempt: () => Promise<T>) => Promise<T>;
  clock: Clock;
  logger: Logger;
  /** Whether stream events go to an orchestrator at all. */
  announce: boolean;
}

export interface RecoveryReport {
  sessions: number;
  players: number;
  stopped: number;
  stopFailed: number;
  ends: number;
  droppedStarts: number;
  resumed: number;
}

/**
 * Journals the recovery at once (ends queued, sessions closed); the engine cleanups run in the
 * background (`cleanups`) so players are served meanwhile — the janitor retries what fails.
 */
export async function recoverAfterRestart(deps: RecoveryDeps): Promise<RecoveryReport & { cleanups: Promise<void> }> {
  const { journal, clock, logger } = deps;
  const report: RecoveryReport = { sessions: 0, players: 0, stopped: 0, stopFailed: 0, ends: 0, droppedStarts: 0, resumed: 0 };

  // Undelivered events of earlier runs: ends resume (each one confirmed before it goes out);
  // a start that never went out is for a stream that no longer exists.
  for (const row of journal.pendingOutbox()) {
    if (row.type === 'stream_started') {
      journal.settle(row.streamId, row.type, 'dropped', 'proxy_restart: its session did not survive');
      report.droppedStarts++;
    } else if (deps.outbox && deps.announce) {
      deps.outbox.enqueue(row);
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
      deps.events.appendRecovered({ ...base, state: 'ended', value: 'ended', status: 'stopped' }, []);
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
      });
      report.ends++;
    }
    deps.events.appendRecovered({ ...base, state: 'stopped', value: 'stopped', status: 'stopped' }, items);
    const commandUrl = ctx?.engineSession?.commandUrl;
    if (ctx && !ctx.engineSession && ctx.engine && ctx.pid && (snap.matches('starting') || snap.matches('start_backoff'))) {
      // A start was in flight: the engine may have a session we never heard of. Starting the
      // same content with the same pid replaces it, and the replacement we can stop.
      const { engine, pid, source, params } = ctx;
      const cleanup = () =>
        deps.engine.start(engine.base, { source, pid, params }).then((s) => (s.commandUrl ? deps.engine.stop(s.commandUrl) : undefined));
      stops.push(
        deps
          .retry(`${engine.base}|${pid}`, new URL(engine.base).origin, cleanup)
          .then(
            () => {
              report.stopped++;
            },
            (err: Error) => {
              report.stopFailed++;
              logger.warn({ session: actor, err: err.message }, 'could not stop a session whose start was in flight at the crash');
            },
          ),
      );
    } else if (commandUrl) {
      stops.push(
        deps.engine.stop(commandUrl).then(
          () => {
            report.stopped++;
          },
          (err: Error) => {
            report.stopFailed++;
            logger.warn({ session: actor, err: err.message }, 'could not stop an engine session left by the previous run');
          },
        ),
      );
    }
  }
  if (report.sessions + report.players + report.resumed + report.droppedStarts > 0) logger.info(report, 'recovered from the previous run');
  const cleanups = Promise.all(stops).then(() => {
    if (stops.length > 0) logger.info({ stopped: report.stopped, failed: report.stopFailed }, 'engine sessions of the previous run cleaned up');
  });
  return { ...report, cleanups };
}
