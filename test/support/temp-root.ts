/**
 * vitest's global setup: the tests' temporary folders (journals, data dirs, players' homes:
 * hundreds a run) go in one folder that goes when the run does, however vitest was started
 * (`npm test` or `npx vitest run …`), so a developer's /tmp does not fill up run by run. The
 * workers inherit TMPDIR, which os.tmpdir() reads, and so do the processes they start with
 * the environment (test/support/child.ts hands it on to acerelay's).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'acerelay-test-tmp-'));
  // World-writable and sticky like /tmp: some tests run players as `nobody`.
  chmodSync(root, 0o1777);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    // Retries: a process a test started may still be writing its last file.
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  };
}
