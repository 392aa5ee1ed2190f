/**
 * The property-based recovery harness inside the test suite: a bounded number of random
 * runs with a fixed seed (the CLI runs long soaks with random ones), and the CLI's contract.
 */
import { expect, test } from 'vitest';
import { runChaos } from '../../src/chaos/harness.ts';
import { formatReport } from '../../src/chaos/report.ts';
import { runAcerelay } from '../support/child.ts';
import { MIN_CROWD } from '../../src/chaos/crowd-commands.ts';

test('random fault scenarios with crowds against the real acerelay and simulator break no invariant', async () => {
  const report = await runChaos({ runs: 10, seed: 20261127, maxCommands: 12, profile: 'short' });
  const text = formatReport(report);
  expect(report.ok, text).toBe(true);
  expect(report.executions).toBe(10);
  // Crowds came: far more players at once than single joins make.
  expect(report.peakPlayers, text).toBeGreaterThanOrEqual(MIN_CROWD);
  // Every invariant actually looked at something.
  for (const tally of report.tallies) expect(tally.checks, tally.name).toBeGreaterThan(0);
}, 600_000);

test('a long run (minutes of waiting, outages lasting minutes) breaks no invariant', async () => {
  const report = await runChaos({ runs: 1, seed: 19, maxCommands: 40, profile: 'long' });
  const text = formatReport(report);
  expect(report.ok, text).toBe(true);
  expect(report.virtualMs, text).toBeGreaterThan(15 * 60_000);
}, 600_000);

test('acerelay chaos: exit 2 on bad arguments, 1 with the shrunk run and a replay command when an invariant breaks', async () => {
  const bad = runAcerelay(['chaos', '--runs', 'many']);
  expect(await bad.exited).toBe(2);
  expect(bad.stderr()).toContain('--runs');
  const plantedBad = runAcerelay(['chaos', '--plant', 'no-such-bug']);
  expect(await plantedBad.exited).toBe(2);
  for (const args of [['--profile', 'huge'], ['--soak', 'forever'], ['--soak', '30m']]) {
    const wrong = runAcerelay(['chaos', ...args]);
    expect(await wrong.exited, args.join(' ')).toBe(2);
    expect(wrong.stderr()).toContain(args[0]);
  }

  const broken = runAcerelay(['chaos', '--runs', '5', '--seed', '5', '--max-commands', '6', '--profile', 'classic', '--plant', 'skip-stream-ended-on-linger']);
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
