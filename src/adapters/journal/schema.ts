/** The journal's tables. `user_version` says which schema a file has. */
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

export function createSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= SCHEMA_VERSION) return;
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
    PRAGMA user_version = ${SCHEMA_VERSION};
  `);
}
