/** The journal on a real SQLite file: appends, the outbox, retention, and every way it can break. */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Journal } from '../../../src/adapters/journal/journal.ts';
import { ManualClock } from '../../../src/clock.ts';
import { silentLogger } from '../../../src/log.ts';
import type { JournalEntry } from '../../../src/domain/journal.ts';
import { DAMAGE, addFinishedSessions, holdJournal } from './journal-files.ts';

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
    expect(warnings).toHaveLength(1);
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

/** A journal of ~4 MB (finished sessions), closed, then damaged as the issue found them. */
function damagedJournal(damage: (path: string) => void): { d: string; original: number } {
  const d = dir();
  addFinishedSessions(d, 1800, new ManualClock(1_000_000));
  const path = join(d, 'journal.db');
  expect(statSync(path).size).toBeGreaterThan(3_500_000);
  damage(path);
  return { d, original: statSync(path).size };
}

describe('a journal file SQLite cannot read', () => {
  test.each(DAMAGE)('%s: moved aside whole, and a fresh journal is started', (_name, damage) => {
    const { d, original } = damagedJournal(damage);
    const { journal, warnings } = openJournal(d);
    expect(warnings).toHaveLength(1);
    const aside = readdirSync(d).filter((f) => /^journal\.db\.corrupt-\d+$/.test(f));
    expect(aside).toHaveLength(1);
    // Kept as it was, for whoever wants to look at it.
    expect(statSync(join(d, aside[0]!)).size).toBe(original);
    expect(journal.maxSeq()).toBe(0);
    journal.append(entry('s2', 1));
    expect(journal.entriesOfActor('s2')).toHaveLength(1);
    journal.close();
    // The next start finds the fresh one healthy: nothing more is moved.
    const again = openJournal(d);
    expect(again.warnings).toEqual([]);
    expect(again.journal.entriesOfActor('s2')).toHaveLength(1);
    expect(readdirSync(d).filter((f) => /^journal\.db\.corrupt-\d+$/.test(f))).toHaveLength(1);
  });

  test('a journal another process holds locked is not moved aside: it cannot be opened now, and opens once released', () => {
    const d = dir();
    const first = openJournal(d).journal;
    first.append(entry('kept', 1));
    first.close();
    const other = holdJournal(d);
    try {
      expect(() => openJournal(d)).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    } finally {
      other.release();
    }
    expect(readdirSync(d).filter((f) => f.startsWith('journal.db.corrupt-'))).toEqual([]);
    const { journal, warnings } = openJournal(d);
    expect(warnings).toEqual([]);
    expect(journal.entriesOfActor('kept')).toHaveLength(1);
  });
});

describe('a journal that cannot be opened yet', () => {
  test('keeps entries, outbox outcomes and cleanups in memory, hands events on, and writes them all when it opens', () => {
    const blocker = join(dir(), 'not-a-directory');
    writeFileSync(blocker, 'x');
    const d = join(blocker, 'data');
    const journal = new Journal({ dir: d, clock: new ManualClock(1_000_000), logger: silentLogger });
    open.push(journal);
    expect(() => journal.tryOpen()).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(journal.available).toBe(false);
    let handedOn = 0;
    const written = [entry('s1', 1), entry('s1', 2), entry('s1', 3)];
    journal.append(written[0]!);
    journal.append(written[1]!, [{ streamId: 'acerelay-7', type: 'stream_started', containerId: 'c1', payload: { streamId: 'acerelay-7' } }], () => handedOn++);
    journal.append(written[2]!);
    expect(journal.flush()).toBe(false);
    // Delivery does not wait for the disk.
    expect(handedOn).toBe(1);
    journal.settle('acerelay-7', 'stream_started', 'delivered');
    journal.saveCleanup('http://e:1/ace/cmd/a', { kind: 'stop', commandUrl: 'http://e:1/ace/cmd/a' }, 5);
    journal.saveCleanup('http://e:1/ace/cmd/b', { kind: 'stop', commandUrl: 'http://e:1/ace/cmd/b' }, 6);
    journal.dropCleanup('http://e:1/ace/cmd/b');
    // Not a write failure: the keeper counts the failed opens.
    expect(journal.writeErrors).toBe(0);

    rmSync(blocker);
    mkdirSync(blocker);
    expect(journal.tryOpen()).toBeNull();
    expect(journal.available).toBe(true);
    expect(journal.entriesOfActor('s1').map((e) => e.seq)).toEqual(written.map((e) => e.seq));
    expect(journal.startConfirmed('acerelay-7')).toBe(true);
    expect(journal.pendingOutbox()).toEqual([]);
    // This run's own cleanup (its janitor still has it) is not an earlier run's to take over…
    expect(journal.pendingCleanups()).toEqual([]);
    journal.close();
    // …but the next run (after a crash) finds it, and the session alive.
    const next = openJournal(d).journal;
    expect(next.pendingCleanups()).toEqual([{ key: 'http://e:1/ace/cmd/a', task: { kind: 'stop', commandUrl: 'http://e:1/ace/cmd/a' }, since: 5 }]);
    expect(next.unfinishedActors().map((a) => a.actor)).toEqual(['s1']);
  });

  test('opened late onto a journal with history: what waited is numbered after it, in order, and nothing is lost', () => {
    const d = dir();
    const prior = openJournal(d).journal;
    for (let i = 1; i <= 20; i++) prior.append(entry('old', i));
    const priorMax = prior.maxSeq();
    prior.close();
    // Another process holds the file: the journal cannot open it now.
    const other = holdJournal(d);
    const journal = new Journal({ dir: d, clock: new ManualClock(1_000_000), logger: silentLogger });
    open.push(journal);
    try {
      expect(() => journal.tryOpen()).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
      // Numbered by a hub that started from 0: it could not know the file's last number.
      for (let i = 1; i <= 5; i++) journal.append({ ...entry('late', i), seq: i, t: 2_000_000 + i });
      journal.flush();
    } finally {
      other.release();
    }
    expect(journal.tryOpen()).toBeNull();
    const late = journal.entriesOfActor('late');
    expect(late.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5].map((i) => priorMax + i));
    expect(late.map((e) => e.t)).toEqual([1, 2, 3, 4, 5].map((i) => 2_000_000 + i));
    expect(journal.entriesOfActor('old')).toHaveLength(20);
    expect(journal.maxSeq()).toBe(priorMax + 5);
    expect(readdirSync(d).filter((f) => f.startsWith('journal.db.corrupt-'))).toEqual([]);
  });
});

