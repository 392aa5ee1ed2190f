/** Journal files for tests: one full of finished sessions, and the ways the issue found them damaged. */
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Journal } from '../../../src/adapters/journal/journal.ts';
import { systemClock, type Clock } from '../../../src/clock.ts';
import { silentLogger } from '../../../src/log.ts';

/**
 * Adds `sessions` finished sessions (two entries of ~1 KB each) to the journal in `dir`,
 * numbered after what it holds and stamped now, so that neither retention nor numbering
 * sets them apart from real ones.
 */
export function addFinishedSessions(dir: string, sessions: number, clock: Clock = systemClock): void {
  const { journal } = Journal.open({ dir, clock, logger: silentLogger });
  const pad = 'q'.repeat(1000);
  for (let a = 0; a < sessions; a++) {
    const actor = `finished-${a}`;
    const base = { seq: 0, t: clock.now(), actor, machine: 'session' as const, session: actor, facts: { pad } };
    journal.append({ ...base, type: 'created', event: null, input: { sessionId: actor }, state: 'acquiring', value: 'acquiring', status: 'active' });
    journal.append({ ...base, type: 'event', event: { type: 'STOPPED' }, state: 'stopped', value: 'stopped', status: 'done' });
  }
  journal.close();
}

export const DAMAGE: Array<[string, (path: string) => void]> = [
  ['truncated to 40 %', (path) => truncateSync(path, Math.floor(statSync(path).size * 0.4))],
  [
    'with its first 4 KB overwritten by random bytes',
    (path) => {
      const bytes = readFileSync(path);
      randomBytes(4096).copy(bytes, 0);
      writeFileSync(path, bytes);
    },
  ],
  ['made of random bytes only', (path) => writeFileSync(path, randomBytes(statSync(path).size))],
];

/** Stream starts the orchestrator confirmed, as the journal in `dir` has them (read-only, beside a live writer). */
export function confirmedStarts(dir: string): number {
  const db = new Database(join(dir, 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE type = 'stream_started' AND state = 'delivered'`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Holds the journal in `dir` as another process would (no one else can open it) until `release`. */
export function holdJournal(dir: string): { release(): void } {
  const other = new Database(join(dir, 'journal.db'));
  other.pragma('locking_mode = EXCLUSIVE');
  other.exec('BEGIN EXCLUSIVE; COMMIT;');
  return { release: () => other.close() };
}
