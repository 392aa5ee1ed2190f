/** Shared by the harness-sharpness tests: a planted bug must be caught by its invariant and shrunk short. */
import { expect } from 'vitest';
import { runChaos, type ChaosOptions } from '../../src/chaos/harness.ts';
import { formatReport } from '../../src/chaos/report.ts';
import type { PlantedFault } from '../../src/chaos/planted-faults.ts';
import type { RunOutcome } from '../../src/chaos/run.ts';

/** The first run that broke an invariant, and the shrunk one. */
export interface Caught {
  first: RunOutcome;
  shrunk: RunOutcome;
}

/**
 * The five single-player bugs are searched for with the classic mix (the harness before
 * crowds, run for run): their budgets were set on it. Crowd-only bugs pass their own options.
 */
export async function expectCaught(fault: PlantedFault, invariant: number, options: Partial<ChaosOptions> = {}): Promise<Caught> {
  let first: RunOutcome | null = null;
  const report = await runChaos({
    runs: 40,
    seed: 5,
    maxCommands: 10,
    profile: 'classic',
    // Memory is invariant 12's alone (its leak is caught by its own test); measuring costs collections.
    measure: false,
    ...options,
    plant: fault,
    onRun: (o) => {
      if (!first && o.results.some((r) => r.violations.length > 0)) first = o;
    },
  });
  const text = formatReport(report);
  expect(report.ok, text).toBe(false);
  expect(report.failure, text).not.toBeNull();
  const broken = report.failure!.results.filter((r) => r.violations.length > 0).map((r) => r.id);
  expect(broken, text).toContain(invariant);
  expect(report.failure!.commands.length, text).toBeLessThanOrEqual(5);
  expect(report.replay).toContain(`--plant ${fault}`);
  return { first: first!, shrunk: report.failure! };
}
