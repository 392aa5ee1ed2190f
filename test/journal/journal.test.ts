/** The journal on a real SQLite file: appends, the outbox, retention, and every way it can break. */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Journal } from '../../src/adapters/journal/journal.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { JournalEntry } from '../../src/core/inspection-hub.ts';

const open: Journal[] = [];
afterEach(() => {
  for (const j of open.splice(0)) j.close();
});

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'acerelay-journal-'));
}

function openJournal(d: string, extra: Partial<Parameters<typeof Journal.open>[0]> = {}) {
  const clock = new ManualClock(1_000_000);
  const result = Journal.open({ dir: d, clock, logger: silentLogger, ...extra });
  open.push(result.journal);
  return { ...result, clock };
}

let nextSeq = 0;
/** Entry `n` of an actor (1 = its creation); entry numbers are global, as the hub makes them. */
function entry(actor: string, n: number, over: Partial<JournalEntry> = {}): JournalEntry {
  const seq = ++nextSeq;
  return {
    seq,
    t: 1_000_000 + seq,
    actor,
    machine: 'session',
    session: actor,
    type: n === 1 ? 'created' : 'event',
    event: n === 1 ? null : { type: 'UPSTREAM_SYNCED' },
    ...(n === 1 ? { input: { sessionId: actor } } : {}),
    state: 'running.streaming',
    value: { running: 'streaming' },
    status: 'active',
    facts: { key: `id:${actor}` },
    ...over,
  };
}

describe('journal', () => {
  test('entries and their outbox items are written together and read back in order', () => {
    const d = dir();
    const { journal } = openJournal(d);
    journal.append(entry('s1', 1));
    journal.append(entry('s1', 2), [{ streamId: 'acerelay-1', type: 'stream_started', containerId: 'c1', payload: { streamId: 'acerelay-1' } }]);
    journal.append(entry('p1', 3, { machine: 'player', session: 's1', state: 'streaming', value: 'streaming' }));
    const entries = journal.entriesOfSession('s1');
    expect(entries.map((e) => e.actor)).toEqual(['s1', 's1', 'p1']);
    expect(entries[0]!.input).toEqual({ sessionId: 's1' });
    expect(entries[1]!.event).toEqual({ type: 'UPSTREAM_SYNCED' });
    expect(journal.pendingOutbox().map((r) => [r.streamId, r.type, r.state])).toEqual([['acerelay-1', 'stream_started', 'pending']]);
    journal.settle('acerelay-1', 'stream_started', 'delivered');
    expect(journal.pendingOutbox()).toEqual([]);
    journal.close();
    // A new process sees what the old one left alive.
    const again = openJournal(d).journal;
    expect(again.unfinishedActors().map((a) => a.actor).sort()).toEqual(['p1', 's1']);
    expect(again.latestSessions(10).map((s) => s.last.actor)).toEqual(['s1']);
  });

  test('a journal of the previous schema (v2, no cleanups table) is upgraded in place, history kept', () => {
    const d = dir();
    const first = openJournal(d).journal;
    first.append(entry('s9', 1));
    first.close();
    // As acerelay before the cleanups table wrote it.
    const raw = new Database(join(d, 'journal.db'));
    raw.exec('DROP TABLE cleanups; PRAGMA user_version = 2;');
    raw.close();
    const { journal, warnings } = openJournal(d);
    expect(warnings).toEqual([]);
    expect(journal.handle.pragma('user_version', { simple: true })).toBe(3);
    expect(journal.unfinishedActors().map((a) => a.actor)).toEqual(['s9']);
    journal.saveCleanup('http://e:1/ace/cmd/x', { kind: 'stop', commandUrl: 'http://e:1/ace/cmd/x' }, 5);
    expect(journal.pendingCleanups()).toEqual([{ key: 'http://e:1/ace/cmd/x', task: { kind: 'stop', commandUrl: 'http://e:1/ace/cmd/x' }, since: 5 }]);
    journal.dropCleanup('http://e:1/ace/cmd/x');
    expect(journal.pendingCleanups()).toEqual([]);
  });

  test('a write that fails (disk full) neither throws nor loses the entry: it is counted and retried', () => {
    const d = dir();
    let errors = 0;
    const { journal } = openJournal(d, { onWriteError: () => errors++ });
    journal.append(entry('s1', 1));
    const pages = journal.handle.pragma('page_count', { simple: true }) as number;
    // SQLite's own "database or disk is full": no more pages than it has now.
    journal.handle.pragma(`max_page_count = ${pages}`);
    const big = 'x'.repeat(20_000);
    for (let i = 2; i < 40; i++) {
      expect(() => journal.append(entry('s1', i, { facts: { big } }))).not.toThrow();
      expect(() => journal.flush()).not.toThrow();
    }
    expect(errors).toBeGreaterThan(0);
    journal.handle.pragma('max_page_count = 1000000');
    expect(journal.flush()).toBe(true);
    expect(journal.entriesOfActor('s1')).toHaveLength(39);
  });

  test('a corrupted database is reported, moved aside, and a fresh one is started', () => {
    const d = dir();
    const first = openJournal(d).journal;
    for (let i = 1; i < 200; i++) first.append(entry('s1', i, { facts: { pad: 'y'.repeat(500) } }));
    first.close();
    const path = join(d, 'journal.db');
    const bytes = readFileSync(path);
    // Garbage over the middle pages.
    bytes.fill(0xa5, 4096 * 2, 4096 * 6);
    writeFileSync(path, bytes);
    const { journal, warnings } = openJournal(d);
    expect(warnings.join('\n')).toMatch(/failed its integrity check/);
    expect(readdirSync(d).some((f) => f.startsWith('journal.db.corrupt-'))).toBe(true);
    journal.append(entry('s2', 1));
    expect(journal.entriesOfActor('s2')).toHaveLength(1);
  });

  test('a torn WAL tail (a crash mid-write) loses only the torn writes', () => {
    const d = dir();
    const { journal } = openJournal(d);
    for (let i = 1; i <= 50; i++) {
      journal.append(entry('s1', i));
      journal.flush();
    }
    // Leave the WAL as a killed process would: no checkpoint, no close. Copy the files aside.
    const copy = dir();
    for (const f of ['journal.db', 'journal.db-wal']) {
      if (existsSync(join(d, f))) writeFileSync(join(copy, f), readFileSync(join(d, f)));
    }
    const wal = join(copy, 'journal.db-wal');
    const size = statSync(wal).size;
    expect(size).toBeGreaterThan(8192);
    // Chop the last 3000 bytes: the final frames are torn.
    writeFileSync(wal, readFileSync(wal).subarray(0, size - 3000));
    const reopened = openJournal(copy);
    expect(reopened.warnings).toEqual([]);
    const n = reopened.journal.entriesOfActor('s1').length;
    expect(n).toBeGreaterThan(30);
    expect(n).toBeLessThan(50);
  });

  test('retention drops old entries (never an unfinished actor’s) and the size bound drops the oldest finished ones', () => {
    const d = dir();
    const { journal, clock } = openJournal(d, { retentionMs: 60_000, maxBytes: 1024 * 1024 });
    journal.append(entry('old', 1, { t: clock.now() }));
    journal.append(entry('old', 2, { t: clock.now(), status: 'done', state: 'stopped', value: 'stopped' }));
    journal.append(entry('alive', 1, { t: clock.now() }));
    clock.advance(120_000);
    journal.append(entry('new', 1, { t: clock.now() }));
    journal.prune();
    expect(journal.entriesOfActor('old')).toEqual([]);
    expect(journal.entriesOfActor('alive')).toHaveLength(1);
    expect(journal.entriesOfActor('new')).toHaveLength(1);
    const done = { status: 'done', state: 'stopped', value: 'stopped' } as const;
    for (let i = 2; i < 3000; i++) journal.append(entry('new', i, { t: clock.now(), facts: { pad: 'z'.repeat(1000) }, ...(i === 2999 ? done : {}) }));
    expect(journal.sizeBytes()).toBeGreaterThan(1024 * 1024);
    journal.prune();
    expect(journal.sizeBytes()).toBeLessThanOrEqual(1024 * 1024);
    expect(journal.entriesOfActor('new').length).toBeLessThan(3000);
    expect(journal.entriesOfActor('alive')).toHaveLength(1);
  });
  test('the size bound never deletes the history of a live session, however old', () => {
    const d = dir();
    const { journal, clock } = openJournal(d, { maxBytes: 1024 * 1024 });
    // The longest-running stream: its entries are the oldest in the file.
    for (let i = 1; i <= 5; i++) journal.append(entry('alive', i, { t: clock.now() }));
    for (let a = 0; a < 1500; a++) {
      journal.append(entry(`done-${a}`, 1, { t: clock.now(), facts: { pad: 'z'.repeat(1000) } }));
      journal.append(entry(`done-${a}`, 2, { t: clock.now(), status: 'done', state: 'stopped', value: 'stopped', facts: { pad: 'z'.repeat(1000) } }));
    }
    expect(journal.sizeBytes()).toBeGreaterThan(1024 * 1024);
    journal.prune();
    expect(journal.entriesOfActor('alive')).toHaveLength(5);
    expect(journal.sizeBytes()).toBeLessThanOrEqual(1024 * 1024);
    expect(journal.entriesOfActor('done-0')).toEqual([]);
    // Finished actors whose entries are gone are gone from the listing too.
    expect(journal.latestSessions(5000).map((s) => s.last.actor)).not.toContain('done-0');
    journal.close();
    // The next run (after a crash) still has everything it needs to recover the live session.
    const next = openJournal(d, { maxBytes: 1024 * 1024 }).journal;
    expect(next.unfinishedActors().map((a) => a.actor)).toEqual(['alive']);
    expect(next.entriesOfActor('alive')).toHaveLength(5);
  });
});
