/**
 * `acerelay chaos --soak`: one acerelay through a steady mix for simulated hours, a line of
 * heap, external memory, timers and handles every simulated hour. (The verdict on a day of
 * samples is growth.test.ts's; a whole day is run by hand, see docs/recovery.md.)
 */
import { expect, test } from 'vitest';
import { runAcerelay } from '../support/child.ts';

test('acerelay chaos --soak 1h prints the hour’s figures and exits 0 when nothing broke', async () => {
  const soak = runAcerelay(['chaos', '--soak', '1h', '--seed', '11']);
  expect(await soak.exited, soak.stdout() + soak.stderr()).toBe(0);
  const hour = /^hour\s+1: heap ([\d.]+) MiB, external ([\d.]+) MiB, timers (\d+) virtual \+ (\d+) real, handles (\d+); (\d+) commands, (\d+) players/m.exec(soak.stdout());
  expect(hour, soak.stdout()).not.toBeNull();
  expect(Number(hour![1])).toBeGreaterThan(0);
  expect(Number(hour![6])).toBeGreaterThan(10);
  // One sample judges no growth.
  expect(soak.stdout()).toMatch(/heap \+ external: not judged/);
}, 300_000);
