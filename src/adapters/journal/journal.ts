/**
 * The journal: an append-only SQLite log (WAL) of every machine's creation and events, and
 * the outbox of orchestrator events, written in the same transaction as the entry that
 * caused them. Not on the byte path: entries come from state changes only.
 *
 * Failure never stops streams, nor the delivery of stream events: a write that fails (disk
 * full, I/O error) is logged, counted, kept in memory and retried with the next write, and
 * what it carried goes on to the outbox all the same. A journal whose file cannot be opened
 * yet behaves the same way: writes wait in memory (bounded) until `tryOpen` succeeds. A file
 * SQLite cannot read is moved aside and a fresh one started (`open-journal.ts`); SQLite itself
 * discards a torn WAL tail, so a crash mid-write loses only the last writes.
 */
import type Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import type { JournalEntry, JournalStore, MachineKind, OutboxItem, OutboxRow, OutboxState, OutboxType } from '../../domain/journal.ts';
import { openJournalFile, type SetAside } from './open-journal.ts';

export interface JournalOptions {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** ':memory:' for tests; otherwise `journal.db` in `dir`. */
  filename?: string;
  retentionMs?: number;
  maxBytes?: number;
  onWriteError?: (err: Error) => void;
}

interface Pending {
  entry: JournalEntry;
  outbox: OutboxItem[];
  /**
   * Runs once the write was attempted, whether it succeeded or not: the outbox sends what
   * was written, and during a write outage what could not be (delivery does not wait for
   * the disk; the rows follow, with their outcomes, when a write succeeds).
   */
  then?: (() => void) | undefined;
}

const BACKLOG_MAX = 50_000;
/** Pruning's filter: only the entries of actors no longer running (a crash recovery replays the others). */
const FINISHED = `actor NOT IN (SELECT actor FROM actors WHERE status = 'active')`;

type Statements = ReturnType<typeof prepare>;

/** The JournalStore in SQLite. */
export class Journal implements JournalStore {
  /** This process's run: entries of other boots that never ended were live at a crash. */
  readonly boot = randomUUID();
  readonly path: string;
  /** Null until the file is open (`tryOpen`). */
  private db: Database.Database | null = null;
  private stmt: Statements | null = null;
  private backlog: Pending[] = [];
  /** Outbox outcomes known in memory, applied to rows written late (after a failed write). */
  private readonly outcomes = new Map<string, OutboxState>();
  /** Cleanups saved while the file was not open, written when it opens. */
  private readonly waitingCleanups = new Map<string, { task: string; since: number }>();
  /**
   * Those of them written at a late open and not confirmed since: this run's own, which its
   * janitor is still retrying — not an earlier run's for the recovery to take over.
   */
  private readonly lateCleanups = new Set<string>();
  private closed = false;
  private scheduled = false;
  /** Entries dropped unwritten since start (the backlog was full). */
  private lost = 0;
  /** Writes that failed since open (also exported as a metric). */
  writeErrors = 0;

  /** A journal not open yet: call `tryOpen` (until it succeeds); meanwhile writes wait in memory. */
  constructor(private readonly opts: JournalOptions) {
    this.path = opts.filename === ':memory:' ? ':memory:' : join(opts.dir, opts.filename ?? 'journal.db');
  }

  /** Opens (or creates) the journal, or throws. A file SQLite cannot read is moved aside and reported in `warnings`. */
  static open(opts: JournalOptions): { journal: Journal; warnings: string[] } {
    const journal = new Journal(opts);
    const setAside = journal.tryOpen();
    const warnings = setAside ? [`journal ${journal.path} could not be read (${setAside.problem}); moved to ${setAside.aside} and started a new one`] : [];
    return { journal, warnings };
  }

  /** Whether the file is open (writes reach the disk, history and recovery read from it). */
  get available(): boolean {
    return this.db !== null;
  }

  /**
   * Opens the file if it is not open yet; throws when it cannot be opened now (nothing is
   * lost: writes keep waiting in memory). Returns the unreadable file it moved aside, if any.
   * What waited is written at once: entries, their outbox rows with the outcomes known since,
   * and this run's unconfirmed cleanups.
   */
  tryOpen(): SetAside | null {
    if (this.db || this.closed) return null;
    const opened = openJournalFile(this.path, this.opts.clock.now(), prepare);
    this.db = opened.db;
    this.stmt = opened.ready;
    this.renumberWaiting();
    for (const [key, c] of this.waitingCleanups) {
      this.safely(() => opened.ready.saveCleanup.run(key, c.task, c.since));
      this.lateCleanups.add(key);
    }
    this.waitingCleanups.clear();
    this.prune();
    return opened.setAside;
  }

  /**
   * Entries that waited for a late open were numbered by a hub that could not know the file's
   * last number: when they would collide with it, they follow it instead (in their order).
   */
  private renumberWaiting(): void {
    const fileMax = this.fileMaxSeq();
    if (!this.backlog.some((p) => p.entry.seq <= fileMax)) return;
    let seq = fileMax;
    for (const p of this.backlog) p.entry = { ...p.entry, seq: ++seq };
  }

  /**
   * Appends one entry and the outbox items it caused, atomically. Entries of one tick are
   * written in one transaction (a burst of 100 players costs one commit, not 300). Never
   * throws: a failure is counted and the write is retried with the next batch. `then` runs
   * once the write was attempted, written or not.
   */
  append(entry: JournalEntry, outbox: OutboxItem[] = [], then?: () => void): void {
    if (this.closed) {
      then?.();
      return;
    }
    this.backlog.push({ entry, outbox, then });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Tries to write everything waiting; returns whether the backlog is empty. */
  flush(): boolean {
    if (this.backlog.length === 0) return true;
    const batch = this.backlog;
    const callbacks = batch.map((p) => p.then).filter((f): f is () => void => f !== undefined);
    for (const p of batch) p.then = undefined;
    try {
      return this.write(batch);
    } finally {
      for (const f of callbacks) f();
    }
  }

  private write(batch: Pending[]): boolean {
    const { db, stmt } = this;
    if (!db || !stmt) {
      // Not open yet: the keeper is trying; the entries wait (bounded) for it.
      this.trimBacklog();
      return false;
    }
    try {
      db.transaction(() => {
        for (const { entry, outbox } of batch) {
          const info = stmt.entry.run({
            // The hub's number: history read back and live SSE entries share one sequence.
            seq: entry.seq > 0 ? entry.seq : null,
            t: entry.t,
            boot: this.boot,
            actor: entry.actor,
            machine: entry.machine,
            session: entry.session,
            type: entry.type,
            event: entry.event === null ? null : JSON.stringify(entry.event),
            input: entry.input === undefined ? null : JSON.stringify(entry.input),
            state: entry.state,
            value: JSON.stringify(entry.value),
            status: entry.status,
            facts: JSON.stringify(entry.facts),
          });
          stmt.actor.run({
            actor: entry.actor,
            machine: entry.machine,
            session: entry.session,
            boot: this.boot,
            t: entry.t,
            seq: info.lastInsertRowid,
            status: entry.status,
          });
          for (const item of outbox) {
            stmt.outbox.run({
              streamId: item.streamId,
              type: item.type,
              containerId: item.containerId,
              payload: JSON.stringify(item.payload),
              seq: info.lastInsertRowid,
              t: entry.t,
              state: this.outcomes.get(`${item.streamId}|${item.type}`) ?? 'pending',
            });
          }
        }
      })();
      this.backlog = [];
      // Rows written now carry their outcomes; later ones are settled in place.
      this.outcomes.clear();
      return true;
    } catch (err) {
      this.writeErrors++;
      this.opts.onWriteError?.(err as Error);
      if (this.writeErrors === 1 || this.writeErrors % 100 === 0) {
        this.opts.logger.error({ err: (err as Error).message, waiting: this.backlog.length }, 'journal write failed; streams and stream events go on, the write will be retried');
      }
      this.trimBacklog();
      return false;
    }
  }

  /** Memory matters more than history: past the bound the oldest unwritten entries go, said once per 10 000. */
  private trimBacklog(): void {
    const over = this.backlog.length - BACKLOG_MAX;
    if (over <= 0) return;
    this.backlog = this.backlog.slice(over);
    const before = this.lost;
    this.lost += over;
    if (before === 0 || Math.floor(before / 10_000) !== Math.floor(this.lost / 10_000)) {
      this.opts.logger.error({ lost: this.lost }, 'journal backlog full: oldest unwritten entries dropped');
    }
  }

  /** Marks an outbox item delivered or dropped (also remembered for rows written late). */
  settle(streamId: string, type: OutboxType, state: Exclude<OutboxState, 'pending'>, error: string | null = null): void {
    this.outcomes.set(`${streamId}|${type}`, state);
    this.flush();
    const stmt = this.stmt;
    if (stmt) this.safely(() => stmt.setOutbox.run({ streamId, type, state, at: this.opts.clock.now(), error }));
  }

  noteAttempt(streamId: string, type: OutboxType, error: string): void {
    const stmt = this.stmt;
    if (stmt) this.safely(() => stmt.attempt.run({ streamId, type, error: error.slice(0, 500) }));
  }

  /** Pending outbox rows, oldest first (delivery resumes from these after a restart). */
  pendingOutbox(): OutboxRow[] {
    this.flush();
    if (!this.db) return [];
    const rows = this.db
      .prepare(`SELECT id, stream_id, type, container_id, payload, state, attempts, created_at FROM outbox WHERE state = 'pending' ORDER BY id`)
      .all() as Array<Record<string, unknown>>;
    const out: OutboxRow[] = [];
    for (const r of rows) {
      const payload = parseJson(r.payload);
      if (payload === undefined) continue;
      out.push({
        id: Number(r.id),
        streamId: String(r.stream_id),
        type: r.type as OutboxType,
        containerId: String(r.container_id),
        payload,
        state: 'pending',
        attempts: Number(r.attempts),
        createdAt: Number(r.created_at),
      });
    }
    return out;
  }

  /** Whether the orchestrator confirmed this stream's stream_started. */
  startConfirmed(streamId: string): boolean {
    this.flush();
    if (!this.db) return false;
    return this.db.prepare(`SELECT 1 FROM outbox WHERE stream_id = ? AND type = 'stream_started' AND state = 'delivered' LIMIT 1`).get(streamId) !== undefined;
  }

  /** Whether a stream_started for this id was ever queued by this instance (any run). */
  knowsStream(streamId: string): boolean {
    this.flush();
    if (!this.db) return false;
    return this.db.prepare(`SELECT 1 FROM outbox WHERE stream_id = ? AND type = 'stream_started' LIMIT 1`).get(streamId) !== undefined;
  }

  /** Actors whose last entry (from an earlier boot) left them active: live at a crash. */
  unfinishedActors(): Array<{ actor: string; machine: MachineKind; session: string }> {
    this.flush();
    if (!this.db) return [];
    return this.db.prepare(`SELECT actor, machine, session FROM actors WHERE status = 'active' AND boot != ?`).all(this.boot) as Array<{
      actor: string;
      machine: MachineKind;
      session: string;
    }>;
  }

  entriesOfActor(actor: string): JournalEntry[] {
    this.flush();
    return this.rows(`SELECT * FROM entries WHERE actor = ? ORDER BY seq`, actor);
  }

  entriesOfSession(session: string): JournalEntry[] {
    this.flush();
    return this.rows(`SELECT * FROM entries WHERE session = ? ORDER BY seq`, session);
  }

  /** The latest entry of each session actor, newest first. */
  latestSessions(limit: number): Array<{ last: JournalEntry; firstT: number }> {
    this.flush();
    if (!this.db) return [];
    const rows = this.db
      .prepare(
        `SELECT e.*, a.first_t AS first_t FROM actors a JOIN entries e ON e.seq = a.last_seq
         WHERE a.machine = 'session' ORDER BY a.last_seq DESC LIMIT ?`,
      )
      .all(limit) as Array<Record<string, unknown>>;
    const out: Array<{ last: JournalEntry; firstT: number }> = [];
    for (const r of rows) {
      const entry = toEntry(r);
      if (entry) out.push({ last: entry, firstT: Number(r.first_t) });
    }
    return out;
  }

  /** Records an engine cleanup that has not landed yet (written at once, not batched). */
  saveCleanup(key: string, task: unknown, since: number): void {
    if (this.closed) return;
    const stmt = this.stmt;
    if (stmt) this.safely(() => stmt.saveCleanup.run(key, JSON.stringify(task), since));
    else this.waitingCleanups.set(key, { task: JSON.stringify(task), since });
  }

  dropCleanup(key: string): void {
    if (this.closed) return;
    this.waitingCleanups.delete(key);
    this.lateCleanups.delete(key);
    const stmt = this.stmt;
    if (stmt) this.safely(() => stmt.dropCleanup.run(key));
  }

  /** Cleanups an earlier run left unconfirmed, oldest first. */
  pendingCleanups(): Array<{ key: string; task: unknown; since: number }> {
    if (!this.db) return [];
    const rows = this.db.prepare(`SELECT key, task, since FROM cleanups ORDER BY since, key`).all() as Array<{ key: string; task: string; since: number }>;
    const out: Array<{ key: string; task: unknown; since: number }> = [];
    for (const r of rows) {
      if (this.lateCleanups.has(r.key)) continue;
      const task = parseJson(r.task);
      if (task !== undefined) out.push({ key: r.key, task, since: Number(r.since) });
    }
    return out;
  }

  /**
   * Drops finished actors' entries past the retention age, then finished actors' oldest
   * entries until the file fits the size bound. An actor still running keeps its whole
   * history, however old or large: a crash recovery replays it (to stop its engine session
   * and end its stream), and the longest-running streams are the oldest entries.
   */
  prune(): { deleted: number } {
    this.flush();
    const db = this.db;
    if (!db) return { deleted: 0 };
    const retention = this.opts.retentionMs ?? 7 * 86_400_000;
    const cutoff = this.opts.clock.now() - retention;
    let deleted = 0;
    this.safely(() => {
      deleted += db.prepare(`DELETE FROM entries WHERE t < ? AND ${FINISHED}`).run(cutoff).changes;
      db.prepare(`DELETE FROM outbox WHERE state != 'pending' AND created_at < ?`).run(cutoff);
      const max = this.opts.maxBytes;
      if (max && this.path !== ':memory:') {
        const count = db.prepare(`SELECT COUNT(*) AS n FROM entries WHERE ${FINISHED}`);
        const cut = db.prepare(`DELETE FROM entries WHERE seq IN (SELECT seq FROM entries WHERE ${FINISHED} ORDER BY seq LIMIT ?)`);
        for (let round = 0; round < 20; round++) {
          const size = this.sizeBytes();
          if (size <= max) break;
          const n = (count.get() as { n: number }).n;
          if (n === 0) break;
          // Aim under the bound (pages freed in part stay allocated), at least a tenth a round.
          const share = Math.max(0.1, 1 - (max * 0.8) / size);
          deleted += cut.run(Math.max(1, Math.ceil(n * share))).changes;
          // The vacuum's own writes go to the WAL: checkpointed after it, or the WAL keeps them.
          db.pragma('incremental_vacuum');
          db.pragma('wal_checkpoint(TRUNCATE)');
        }
      }
      // Finished actors whose last entry is gone (their earlier ones went first) are gone too.
      db.prepare(`DELETE FROM actors WHERE status != 'active' AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.seq = actors.last_seq)`).run();
    });
    return { deleted };
  }

  /** The highest entry number written or waiting to be: the hub continues from here. */
  maxSeq(): number {
    this.flush();
    let max = this.fileMaxSeq();
    for (const p of this.backlog) if (p.entry.seq > max) max = p.entry.seq;
    return max;
  }

  private fileMaxSeq(): number {
    if (!this.db) return 0;
    const row = this.db.prepare(`SELECT MAX(seq) AS seq FROM entries`).get() as { seq: number | null };
    return row.seq ?? 0;
  }

  sizeBytes(): number {
    if (this.path === ':memory:' || !this.db) return 0;
    this.flush();
    let n = 0;
    for (const suffix of ['', '-wal']) if (existsSync(this.path + suffix)) n += statSync(this.path + suffix).size;
    return n;
  }

  /** For tests of failure handling: the database handle. */
  get handle(): Database.Database {
    if (!this.db) throw new Error('the journal is not open');
    return this.db;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.db) this.db.close();
    else if (this.backlog.length > 0) this.opts.logger.warn({ lost: this.backlog.length }, 'journal closed before it could be opened: the entries kept in memory are not written');
  }

  /** As a killed process would: what was not written yet is lost. (Chaos harness.) */
  abandon(): void {
    if (this.closed) return;
    this.backlog = [];
    this.closed = true;
    this.db?.close();
  }

  private rows(sql: string, ...params: unknown[]): JournalEntry[] {
    const out: JournalEntry[] = [];
    if (!this.db) return out;
    for (const r of this.db.prepare(sql).all(...params) as Array<Record<string, unknown>>) {
      const entry = toEntry(r);
      // A row that does not parse (a corrupted record) is skipped, not fatal.
      if (entry) out.push(entry);
    }
    return out;
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.writeErrors++;
      this.opts.onWriteError?.(err as Error);
      this.opts.logger.error({ err: (err as Error).message }, 'journal update failed');
    }
  }
}

function prepare(db: Database.Database) {
  return {
    entry: db.prepare(
      `INSERT INTO entries (seq, t, boot, actor, machine, session, type, event, input, state, value, status, facts)
       VALUES (@seq, @t, @boot, @actor, @machine, @session, @type, @event, @input, @state, @value, @status, @facts)`,
    ),
    outbox: db.prepare(
      `INSERT INTO outbox (stream_id, type, container_id, payload, entry_seq, created_at, state)
       VALUES (@streamId, @type, @containerId, @payload, @seq, @t, @state)`,
    ),
    actor: db.prepare(
      `INSERT INTO actors (actor, machine, session, boot, first_t, last_seq, last_t, status)
       VALUES (@actor, @machine, @session, @boot, @t, @seq, @t, @status)
       ON CONFLICT(actor) DO UPDATE SET boot = excluded.boot, last_seq = excluded.last_seq, last_t = excluded.last_t, status = excluded.status`,
    ),
    setOutbox: db.prepare(`UPDATE outbox SET state = @state, delivered_at = @at, last_error = @error WHERE stream_id = @streamId AND type = @type AND state = 'pending'`),
    attempt: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = @error WHERE stream_id = @streamId AND type = @type AND state = 'pending'`),
    saveCleanup: db.prepare(`INSERT OR REPLACE INTO cleanups (key, task, since) VALUES (?, ?, ?)`),
    dropCleanup: db.prepare(`DELETE FROM cleanups WHERE key = ?`),
  };
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v === null ? null : undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

function toEntry(r: Record<string, unknown>): JournalEntry | null {
  const value = parseJson(r.value);
  const facts = parseJson(r.facts);
  const event = r.event === null ? null : parseJson(r.event);
  if (value === undefined || facts === undefined || event === undefined) return null;
  const entry: JournalEntry = {
    seq: Number(r.seq),
    t: Number(r.t),
    actor: String(r.actor),
    machine: r.machine as JournalEntry['machine'],
    session: String(r.session),
    type: r.type as JournalEntry['type'],
    event: event as JournalEntry['event'],
    state: String(r.state),
    value: value as JournalEntry['value'],
    status: r.status as JournalEntry['status'],
    facts: facts as Record<string, unknown>,
  };
  if (r.input !== null && r.input !== undefined) entry.input = parseJson(r.input);
  return entry;
}
