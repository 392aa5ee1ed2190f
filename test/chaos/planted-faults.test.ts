/**
 * A planted fault lives in the acerelay of its own harness run only (it is wired into that
 * acerelay's ports): two runs in one process, one planted and one not, each get what they
 * asked for. (With a process-wide switch, the second run's start cleared the first's fault.)
 */
import { expect, test } from 'vitest';
import { runChaos } from '../../src/chaos/harness.ts';
import { formatReport } from '../../src/chaos/report.ts';

test('two harness runs in one process with different planted faults do not interfere', async () => {
  const [planted, clean] = await Promise.all([
    runChaos({ runs: 5, seed: 5, maxCommands: 6, profile: 'classic', measure: false, plant: 'skip-stream-ended-on-linger' }),
    runChaos({ runs: 3, seed: 20261127, maxCommands: 6, profile: 'classic', measure: false, plant: null }),
  ]);
  expect(planted.ok, formatReport(planted)).toBe(false);
  expect(planted.failure!.results.filter((r) => r.violations.length > 0).map((r) => r.id)).toContain(7);
  expect(clean.ok, formatReport(clean)).toBe(true);
  expect(clean.executions).toBe(3);
}, 600_000);
