/** The run's temporary folder (test/support/temp-root.ts): what tests create under tmpdir() goes with the run. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, test } from 'vitest';

test("a test's temporary folders land in the run's own folder, not in the system's", () => {
  const made = mkdtempSync(join(tmpdir(), 'acerelay-probe-'));
  expect(dirname(made)).toBe(process.env.TMPDIR);
  expect(dirname(made)).toMatch(/acerelay-test-tmp-[^/]+$/);
});
