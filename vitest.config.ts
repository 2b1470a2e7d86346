import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/pg/global-setup.ts'],
    // Vitest's default is one worker fewer than the cores: on CI's two cores,
    // one file at a time, and the four passes of .ci/run took 21 minutes. The
    // tests assert no timing, so two at once is safe, and the suite runs in
    // about three quarters of the time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
