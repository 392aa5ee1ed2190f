/**
 * The property-based recovery harness inside the test suite: a bounded number of random
 * runs with a fixed seed (the CLI runs long soaks with random ones), and the CLI's contract.
 */
import { expect, test } from 'vitest';
import { runChaos } from '../../src/chaos/harness.ts';
import { formatReport } from '../../src/chaos/report.ts';
import { runAcerelay } from '../support/child.ts';

test('random fault scenarios against the real acerelay and simulator break no invariant', async () => {
  const report = await runChaos({ runs: 10, seed: 20261127, maxCommands: 14 });
  const text = formatReport(report);
  expect(report.ok, text).toBe(true);
  expect(report.executions).toBe(10);
  // Every invariant actually looked at something.
  for (const tally of report.tallies) expect(tally.checks, tally.name).toBeGreaterThan(0);
}, 300_000);

test('acerelay chaos: exit 2 on bad arguments, 1 with the shrunk run and a replay command when an invariant breaks', async () => {
  const bad = runAcerelay(['chaos', '--runs', 'many']);
  expect(await bad.exited).toBe(2);
  expect(bad.stderr()).toContain('--runs');
  const plantedBad = runAcerelay(['chaos', '--plant', 'no-such-bug']);
  expect(await plantedBad.exited).toBe(2);

  const broken = runAcerelay(['chaos', '--runs', '5', '--seed', '5', '--max-commands', '6', '--plant', 'skip-stream-ended-on-linger']);
  expect(await broken.exited).toBe(1);
  const out = broken.stdout();
  expect(out).toMatch(/FAIL\s+7\./);
  const replay = /Replay exactly this run: (acerelay chaos .*)$/m.exec(out)?.[1];
  expect(replay).toMatch(/--seed 5 --path [\d:]+/);

  // The replay command reproduces the failure.
  const again = runAcerelay(replay!.replace(/^acerelay /, '').split(' '));
  expect(await again.exited).toBe(1);
  expect(again.stdout()).toMatch(/FAIL\s+7\./);
}, 300_000);
