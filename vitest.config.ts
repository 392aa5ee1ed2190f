import { defineConfig } from 'vitest/config';

// Wire tests open real sockets and spawn ffmpeg/chromium: two workers match the two cores
// of the CI machines, and generous timeouts absorb a noisy neighbour.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/temp-root.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
