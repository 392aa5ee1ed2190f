/** The keeper on virtual time: a journal that cannot be opened is retried 1 s, 2 s, 4 s … 60 s, and opening late is announced once. */
import { expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../../src/adapters/journal/journal.ts';
import { JournalKeeper } from '../../../src/adapters/journal/journal-keeper.ts';
import { ManualClock } from '../../../src/clock.ts';
import { silentLogger } from '../../../src/log.ts';

test('a journal that cannot be opened is retried with backoff (1 s doubling to 60 s); when it opens the late-open hook runs once and the retries stop', () => {
  const blocker = join(mkdtempSync(join(tmpdir(), 'acerelay-keeper-')), 'blocker');
  writeFileSync(blocker, 'x');
  const clock = new ManualClock(0);
  const journal = new Journal({ dir: join(blocker, 'data'), clock, logger: silentLogger });
  const availability: boolean[] = [];
  const failures: string[] = [];
  let lateOpens = 0;
  const keeper = new JournalKeeper({
    journal,
    clock,
    logger: silentLogger,
    onFailure: (err) => failures.push((err as Error & { code?: string }).code ?? ''),
    onAvailability: (open) => availability.push(open),
  });
  keeper.onLateOpen(() => lateOpens++);

  expect(keeper.open()).toBe(false);
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const missing = keeper.missing!;
    expect(missing.error).toMatch(/^ENOTDIR/);
    delays.push(missing.retryInMs);
    clock.advance(missing.retryInMs - 1);
    // Not a millisecond early.
    expect(failures).toHaveLength(i + 1);
    clock.advance(1);
  }
  expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  expect(failures.every((c) => c === 'ENOTDIR')).toBe(true);
  expect(lateOpens).toBe(0);

  rmSync(blocker);
  mkdirSync(blocker);
  clock.advance(keeper.missing!.retryInMs);
  expect(journal.available).toBe(true);
  expect(keeper.missing).toBeNull();
  expect(lateOpens).toBe(1);
  expect(availability.at(-1)).toBe(true);
  expect(availability.filter((a) => a)).toHaveLength(1);
  expect(clock.pending).toBe(0);
  keeper.close();
  journal.close();
});

test('a journal that opens at once is not a late open, and close stops the retries of one that does not', () => {
  const clock = new ManualClock(0);
  const good = new Journal({ dir: mkdtempSync(join(tmpdir(), 'acerelay-keeper-')), clock, logger: silentLogger });
  let lateOpens = 0;
  const keeper = new JournalKeeper({ journal: good, clock, logger: silentLogger });
  keeper.onLateOpen(() => lateOpens++);
  expect(keeper.open()).toBe(true);
  expect(lateOpens).toBe(0);
  expect(clock.pending).toBe(0);
  good.close();

  const blocker = join(mkdtempSync(join(tmpdir(), 'acerelay-keeper-')), 'blocker');
  writeFileSync(blocker, 'x');
  const bad = new Journal({ dir: join(blocker, 'data'), clock, logger: silentLogger });
  const stopped = new JournalKeeper({ journal: bad, clock, logger: silentLogger });
  expect(stopped.open()).toBe(false);
  expect(clock.pending).toBe(1);
  stopped.close();
  expect(clock.pending).toBe(0);
});
