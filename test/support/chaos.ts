/** Shared by the harness-sharpness tests: a planted bug must be caught by its invariant and shrunk short. */
import { expect } from 'vitest';
import { runChaos } from '../../src/chaos/harness.ts';
import { formatReport } from '../../src/chaos/report.ts';
import type { PlantedFault } from '../../src/chaos/planted-faults.ts';

export async function expectCaught(fault: PlantedFault, invariant: number): Promise<void> {
  const report = await runChaos({ runs: 40, seed: 5, maxCommands: 10, plant: fault });
  const text = formatReport(report);
  expect(report.ok, text).toBe(false);
  expect(report.failure, text).not.toBeNull();
  const broken = report.failure!.results.filter((r) => r.violations.length > 0).map((r) => r.id);
  expect(broken, text).toContain(invariant);
  expect(report.failure!.commands.length, text).toBeLessThanOrEqual(5);
  expect(report.replay).toContain(`--plant ${fault}`);
}
