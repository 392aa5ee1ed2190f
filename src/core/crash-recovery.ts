/**
 * After a restart (a crash, a kill -9): sessions the journal shows alive in an earlier run
 * are rebuilt by replay (or, when another version of the session machine wrote them, read
 * from the recovery facts they recorded); their engine sessions get `method=stop`, their stream ids get
 * `stream_ended` (`proxy_restart`) through the outbox — which sends an end only when the
 * orchestrator still lists the id as started (asked again for a while when the start was
 * never confirmed: it may have been on the wire). Starts that never went out are not sent now.
 */
import type { JournalEntry, JournalStore, OutboxItem, RecoveryFacts } from '../domain/journal.ts';
import type { Source } from '../domain/stream.ts';
import { recoveryFacts } from '../machines/session.machine.ts';
import { MACHINE_VERSIONS, UNSTAMPED_VERSION } from '../machines/versions.ts';
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
  /** Sessions written by another version of the session machine: recovered from their recorded facts, not replayed. */
  fromFacts: number;
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
    fromFacts: 0,
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
    const left = whatWasLeft(entries);
    if (left?.from === 'facts') report.fromFacts++;
    const facts = left?.facts;
    const items: OutboxItem[] = [];
    if (deps.announce && facts?.stream_id && facts.managed && facts.container_id) {
      items.push({
        streamId: facts.stream_id,
        type: 'stream_ended',
        containerId: facts.container_id,
        payload: { containerId: facts.container_id, streamId: facts.stream_id, reason: 'proxy_restart' },
        // Its start may have been on the wire when the process died (its row was just dropped
        // above): the orchestrator can still register it, and then this end must follow.
        startUnconfirmed: !journal.startConfirmed(facts.stream_id),
      });
      report.ends++;
    }
    const cleanup = left ? cleanupFor(left) : null;
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

/** What a session left running: its recovery facts, and the pass-through parameters of its starts. */
interface Left {
  facts: RecoveryFacts;
  params: Record<string, string>;
  /** Replayed on this version of the machine, or read from what another version recorded. */
  from: 'replay' | 'facts';
}

/**
 * Entries of the session machine running now are replayed (the state they lead to says what
 * runs); entries of another version (a renamed state would not replay) are not: the recovery
 * facts their last entry recorded say it instead.
 */
function whatWasLeft(entries: JournalEntry[]): Left | null {
  const created = entries.find((e) => e.type === 'created');
  const version = created ? (created.facts.machine_version ?? UNSTAMPED_VERSION) : null;
  if (version === MACHINE_VERSIONS.session) {
    const snap = replaySession(entries);
    return snap ? { facts: recoveryFacts(snap.value, snap.context), params: snap.context.params, from: 'replay' } : null;
  }
  const facts = asRecoveryFacts(entries.at(-1)?.facts.recovery);
  return facts ? { facts, params: paramsOf(created?.input), from: 'facts' } : null;
}

/** What the engine needs so that a session of the previous run no longer runs. */
function cleanupFor({ facts, params }: Left): Cleanup | null {
  if (facts.command_url) return { kind: 'stop', commandUrl: facts.command_url };
  if (facts.start_in_flight && facts.engine_base && facts.pid) {
    return { kind: 'replace_and_stop', engineBase: facts.engine_base, request: { source: facts.start_in_flight, pid: facts.pid, params } };
  }
  return null;
}

/** Recorded recovery facts as this version reads them; anything else is no facts at all. */
function asRecoveryFacts(v: unknown): RecoveryFacts | null {
  const f = v as Partial<Record<keyof RecoveryFacts, unknown>> | null | undefined;
  if (typeof f !== 'object' || f === null) return null;
  const text = (x: unknown) => (typeof x === 'string' && x !== '' ? x : null);
  const source = f.start_in_flight as Partial<Source> | null | undefined;
  const inFlight = source && (source.kind === 'id' || source.kind === 'infohash') && typeof source.value === 'string' ? ({ kind: source.kind, value: source.value } as Source) : null;
  return {
    container_id: text(f.container_id),
    engine_base: text(f.engine_base),
    managed: f.managed === true,
    pid: text(f.pid),
    command_url: text(f.command_url),
    stream_id: text(f.stream_id),
    start_in_flight: inFlight,
  };
}

/** The pass-through parameters in a session's input (strings only), or none. */
function paramsOf(input: unknown): Record<string, string> {
  const params = (input as { params?: unknown } | null | undefined)?.params;
  if (typeof params !== 'object' || params === null) return {};
  return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
