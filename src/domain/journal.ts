/**
 * The journal's port: what acerelay writes and reads back (entries, the outbox of stream
 * events, engine cleanups), whatever keeps it. adapters/journal/journal.ts keeps it in SQLite.
 * Types only. Entries and their state values are a stored format: see `facts.machine_version`.
 */
import type { Source } from './stream.ts';

export type MachineKind = 'session' | 'player';

/** A machine's state, as XState gives it (`'streaming'`, `{ running: 'streaming' }`). */
export type StateValue = string | { [key: string]: StateValue | undefined };

export interface SerializedEvent {
  type: string;
  [key: string]: unknown;
}

/** One actor's creation, or one event it processed and the state it led to. */
export interface JournalEntry {
  seq: number;
  t: number;
  actor: string;
  machine: MachineKind;
  /** The engine session this actor belongs to (itself, for a session). */
  session: string;
  type: 'created' | 'event';
  /** The processed event (null for `created`). */
  event: SerializedEvent | null;
  /** The actor's input (only on `created`). */
  input?: unknown;
  /** The state's name (`waiting_vpn`, `running.streaming`). */
  state: string;
  value: StateValue;
  status: 'active' | 'done' | 'error' | 'stopped';
  /** Context facts for people (the inspector's table), and those a crash recovery needs. */
  facts: Record<string, unknown>;
}

export type OutboxType = 'stream_started' | 'stream_ended';
export type OutboxState = 'pending' | 'delivered' | 'dropped';

export interface OutboxItem {
  streamId: string;
  type: OutboxType;
  containerId: string;
  payload: unknown;
  /**
   * An end whose start was never confirmed delivered (it was in flight at a crash): the
   * orchestrator may still register that start, so "not listed" is asked again for a while
   * before the end is given up. Set by the crash recovery; not stored.
   */
  startUnconfirmed?: boolean;
}

export interface OutboxRow extends OutboxItem {
  id: number;
  state: OutboxState;
  attempts: number;
  createdAt: number;
}

/** The log of entries. */
export interface EntryStore {
  /** Appends one entry and the outbox items it caused, atomically; `then` runs once the write was attempted. Never throws. */
  append(entry: JournalEntry, outbox?: OutboxItem[], then?: () => void): void;
  /** Tries to write everything waiting; returns whether nothing waits. */
  flush(): boolean;
  /** The highest entry number written or waiting to be. */
  maxSeq(): number;
  entriesOfActor(actor: string): JournalEntry[];
  entriesOfSession(session: string): JournalEntry[];
  /** The latest entry of each session actor, newest first. */
  latestSessions(limit: number): Array<{ last: JournalEntry; firstT: number }>;
  /** Actors an earlier run left active: live at a crash. */
  unfinishedActors(): Array<{ actor: string; machine: MachineKind; session: string }>;
}

/** The outbox's rows: what was delivered, what is still due. */
export interface OutboxStore {
  /** Marks an item delivered or dropped. */
  settle(streamId: string, type: OutboxType, state: Exclude<OutboxState, 'pending'>, error?: string | null): void;
  noteAttempt(streamId: string, type: OutboxType, error: string): void;
  /** Pending rows, oldest first (delivery resumes from these after a restart). */
  pendingOutbox(): OutboxRow[];
  /** Whether the orchestrator confirmed this stream's stream_started. */
  startConfirmed(streamId: string): boolean;
  /** Whether a stream_started for this id was ever queued by this instance (any run). */
  knowsStream(streamId: string): boolean;
}

/** Engine cleanups not yet confirmed by their engine (the stop janitor's), kept across a crash. */
export interface CleanupStore {
  saveCleanup(key: string, task: unknown, since: number): void;
  dropCleanup(key: string): void;
  /** Cleanups an earlier run left unconfirmed, oldest first. */
  pendingCleanups(): Array<{ key: string; task: unknown; since: number }>;
}

export interface JournalStore extends EntryStore, OutboxStore, CleanupStore {
  /** Whether writes reach their store now (history and recovery read from it); meanwhile they wait in memory. */
  readonly available: boolean;
}

/**
 * What a crash recovery needs of a session, in words that do not depend on its machine's
 * states: written into every session entry (`facts.recovery`), read instead of a replay when
 * the entries were written by another version of the session machine (`facts.machine_version`
 * of its `created` entry).
 */
export interface RecoveryFacts {
  /** The engine the session was given (null before it has one, or after it left one). */
  container_id: string | null;
  /** Where that engine answers (`http://host:port`). */
  engine_base: string | null;
  /** Whether the orchestrator manages that engine (only then do stream events go out). */
  managed: boolean;
  /** The `pid` of its starts on that engine. */
  pid: string | null;
  /** Where its engine session is stopped (null while none runs, or when the engine gave none). */
  command_url: string | null;
  /** The stream id announced with stream_started and not ended yet. */
  stream_id: string | null;
  /** A start sent and not answered: the engine may hold a session of this content under `pid`. */
  start_in_flight: Source | null;
}
