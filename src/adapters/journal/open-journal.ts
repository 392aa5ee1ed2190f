/**
 * Opening the journal's file, and telling the two ways it can fail apart:
 *  - the file is at fault (truncated, its header overwritten, random bytes, a failed
 *    integrity check, a schema from a newer acerelay): it is moved aside whole, with its WAL,
 *    and a fresh one is started — history is lost, but never crash recovery from then on;
 *  - it cannot be opened now (its directory cannot be made, a read-only or full disk,
 *    another process holding the lock): the error is thrown and the caller tries again later.
 */
import Database from 'better-sqlite3';
import { mkdirSync, renameSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { SCHEMA_VERSION, createSchema } from './schema.ts';

export interface SetAside {
  /** What SQLite said about the file. */
  problem: string;
  /** Where the file (and its -wal, -shm) now is. */
  aside: string;
}

/**
 * SQLite's codes for "not now" (locks, I/O, space, permissions): the file may be perfectly
 * good. Every other SQLite error while opening, checking or upgrading it blames the file.
 */
const NOT_NOW = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|NOMEM|PERM|AUTH|INTERRUPT|NOLFS|PROTOCOL|ABORT)/;

export function blamesTheFile(err: unknown): boolean {
  return err instanceof Database.SqliteError && !NOT_NOW.test(err.code);
}

/**
 * Opens (or creates) the journal at `path` and runs `ready` on it (preparing statements: a
 * file whose tables are not ours fails there). An unreadable file is moved to
 * `<path>.corrupt-<now>` and a fresh one opened; anything else that fails is thrown.
 */
export function openJournalFile<T>(path: string, now: number, ready: (db: Database.Database) => T): { db: Database.Database; ready: T; setAside: SetAside | null } {
  if (path === ':memory:') {
    const db = configure(new Database(path));
    createSchema(db);
    return { db, ready: ready(db), setAside: null };
  }
  mkdirSync(dirname(path), { recursive: true });
  const first = attempt(path, ready);
  if ('db' in first) return { ...first, setAside: null };
  const aside = `${path}.corrupt-${now}`;
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  const fresh = attempt(path, ready);
  if ('db' in fresh) return { ...fresh, setAside: { problem: first.problem, aside } };
  throw new Error(`a fresh journal at ${path} failed too: ${fresh.problem}`);
}

/** The file opened, checked and brought to the current schema; or what is wrong with it. */
function attempt<T>(path: string, ready: (db: Database.Database) => T): { db: Database.Database; ready: T } | { problem: string } {
  let db: Database.Database | null = null;
  try {
    db = configure(new Database(path));
    const problem = integrityProblem(db);
    if (problem) {
      db.close();
      return { problem };
    }
    createSchema(db);
    // Waits for a lock from now on (a checkpoint of a reader); at open a lock is "not now".
    db.pragma('busy_timeout = 2000');
    return { db, ready: ready(db) };
  } catch (err) {
    try {
      db?.close();
    } catch {
      // Closing what failed to open: nothing more to learn.
    }
    if (blamesTheFile(err)) return { problem: `${(err as { code: string }).code}: ${(err as Error).message}` };
    throw err;
  }
}

function configure(db: Database.Database): Database.Database {
  // No waiting at open: a locked file is tried again later, not with the event loop held.
  db.pragma('busy_timeout = 0');
  // Before the first table exists, or it cannot be changed without a VACUUM.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

function integrityProblem(db: Database.Database): string | null {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) return `schema ${version} is newer than this acerelay (${SCHEMA_VERSION})`;
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
  const bad = rows.map((r) => r.quick_check).filter((v) => v !== 'ok');
  return bad.length > 0 ? bad.slice(0, 3).join('; ') : null;
}
