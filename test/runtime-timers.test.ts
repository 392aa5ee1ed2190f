/** A day of uptime must not pile up timers: idle acerelay on virtual time keeps a constant few. */
import { expect, test } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createAcerelay } from '../src/runtime.ts';
import { silentLogger } from '../src/log.ts';
import { tempDataDir } from './support/stack.ts';

test('an idle acerelay keeps the same handful of timers hour after hour', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 27));
  const { config } = loadConfig([], { ACERELAY_ENGINE_URL: 'http://127.0.0.1:9', ACERELAY_DATA_DIR: tempDataDir(), ACERELAY_LOG_LEVEL: 'silent' });
  const acerelay = await createAcerelay(config, { logger: silentLogger, clock });
  clock.advance(60_000);
  const after1m = clock.pending;
  for (let h = 0; h < 24; h++) clock.advance(3_600_000);
  expect(clock.pending).toBe(after1m);
  expect(clock.pending).toBeLessThan(10);
  await acerelay.close();
});
