/**
 * Crash recovery on a real journal file: a session alive when its run died is found by the
 * next run, its engine session cleaned up and its stream ended; the report tells the truth
 * about the cleanups once they have run.
 */
import { expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PureWorld } from '../support/pure-world.ts';
import { InspectionHub } from '../../src/core/inspection-hub.ts';
import { Journal } from '../../src/adapters/journal/journal.ts';
import { JournalWriter } from '../../src/core/journal-writer.ts';
import { recoverAfterRestart } from '../../src/core/crash-recovery.ts';
import type { Cleanup } from '../../src/core/stop-janitor.ts';
import { silentLogger } from '../../src/log.ts';

test('after a crash the recovered sessions are cleaned up, and the report counts the cleanups once they ran', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acerelay-recovery-'));
  // The run that dies: one session streaming, journaled through the hub.
  const hub = new InspectionHub(new PureWorld().clock);
  const observed = new PureWorld({ observer: hub });
  const first = Journal.open({ dir, clock: observed.clock, logger: silentLogger }).journal;
  const sink = new JournalWriter(hub, first, null);
  observed.player(`id=${'a'.repeat(40)}`);
  observed.player(`id=${'b'.repeat(40)}`);
  await observed.advance(2_000);
  first.flush();
  sink.close();
  first.abandon();

  // The next run.
  const journal = Journal.open({ dir, clock: observed.clock, logger: silentLogger }).journal;
  const ran: Cleanup[] = [];
  const report = await recoverAfterRestart({
    journal,
    nextSeq: () => 0,
    writer: new JournalWriter(new InspectionHub(observed.clock), journal, null),
    outbox: null,
    janitor: {
      run: async (task) => {
        await new Promise((r) => setTimeout(r, 5));
        ran.push(task);
        if (ran.length === 2) throw new Error('engine unreachable');
      },
      resume: () => 0,
    },
    clock: observed.clock,
    logger: silentLogger,
    announce: false,
  });
  expect(report.sessions).toBe(2);
  const done = await report.cleanups;
  expect(ran.map((c) => c.kind)).toEqual(['stop', 'stop']);
  expect(done).toEqual({ stopped: 1, stopFailed: 1 });
  journal.close();
});
