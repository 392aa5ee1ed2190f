/** The journal's tables. `user_version` says which schema a file has. */
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 3;

export function createSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= SCHEMA_VERSION) return;
  if (version < 1) createV1(db);
  if (version < 2) createV2(db);
  if (version < 3) createV3(db);
}

function createV1(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS entries (
      seq     INTEGER PRIMARY KEY AUTOINCREMENT,
      t       INTEGER NOT NULL,
      boot    TEXT NOT NULL,
      actor   TEXT NOT NULL,
      machine TEXT NOT NULL,
      session TEXT NOT NULL,
      type    TEXT NOT NULL,
      event   TEXT,
      input   TEXT,
      state   TEXT NOT NULL,
      value   TEXT NOT NULL,
      status  TEXT NOT NULL,
      facts   TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS entries_actor ON entries (actor, seq);
    CREATE INDEX IF NOT EXISTS entries_session ON entries (session, seq);
    CREATE INDEX IF NOT EXISTS entries_t ON entries (t);
    CREATE TABLE IF NOT EXISTS outbox (
      id           INTEGER PRIMARY KEY AUTOINCREMENT,
      stream_id    TEXT NOT NULL,
      type         TEXT NOT NULL,
      container_id TEXT NOT NULL,
      payload      TEXT NOT NULL,
      entry_seq    INTEGER,
      created_at   INTEGER NOT NULL,
      state        TEXT NOT NULL DEFAULT 'pending',
      attempts     INTEGER NOT NULL DEFAULT 0,
      delivered_at INTEGER,
      last_error   TEXT
    );
    CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id);
    CREATE INDEX IF NOT EXISTS outbox_stream ON outbox (stream_id, type);
    PRAGMA user_version = 1;
  `);
}

/**
 * One row per actor, kept with every write: its latest entry and status. "Which sessions
 * are there, which were alive at a crash" are then lookups, not scans of the whole log (on a
 * full journal those scans held the event loop — and every player — for a third of a second).
 */
function createV2(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS actors (
      actor    TEXT PRIMARY KEY,
      machine  TEXT NOT NULL,
      session  TEXT NOT NULL,
      boot     TEXT NOT NULL,
      first_t  INTEGER NOT NULL,
      last_seq INTEGER NOT NULL,
      last_t   INTEGER NOT NULL,
      status   TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS actors_machine ON actors (machine, last_seq);
    CREATE INDEX IF NOT EXISTS actors_status ON actors (status);
    INSERT OR REPLACE INTO actors (actor, machine, session, boot, first_t, last_seq, last_t, status)
      SELECT e.actor, e.machine, e.session, e.boot, f.first_t, e.seq, e.t, e.status
      FROM entries e JOIN (SELECT actor, MAX(seq) AS seq, MIN(t) AS first_t FROM entries GROUP BY actor) f
        ON f.actor = e.actor AND f.seq = e.seq;
    PRAGMA user_version = 2;
  `);
}

/**
 * Engine cleanups (a stop, or a replace-and-stop after a crash) not yet confirmed by their
 * engine. A row is written before the session that needed it is journaled as stopped and
 * removed when the engine confirms, so a crash in between leaves the duty to the next run.
 */
function createV3(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS cleanups (
      key     TEXT PRIMARY KEY,
      task    TEXT NOT NULL,
      since   INTEGER NOT NULL
    );
    PRAGMA user_version = 3;
  `);
}
