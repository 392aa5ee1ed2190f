#!/usr/bin/env node
// Runs vitest with its usual output, then prints the one line CI reads: "N passed, N failed".
// The counts come from vitest's JSON reporter, so a crash before any result still ends in a
// failing line instead of a silent zero.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'acerelay-test-'));
const out = join(dir, 'results.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)];
// The tests' own temporary folders: test/support/temp-root.ts (vitest's global setup).
const run = spawnSync('npx', args, { stdio: 'inherit' });

let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  // A file that fails to load has no tests but must still count as a failure.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) {
      failed += 1;
      console.log(`failed to load: ${file.name}`);
    }
    for (const a of file.assertionResults ?? []) if (a.status === 'failed') console.log(`failed: ${file.name} > ${a.fullName ?? a.title}`);
  }
} catch {
  failed = Math.max(failed, 1);
}
if (run.status !== 0 && failed === 0) failed = 1;
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && run.status === 0 ? 0 : 1);
