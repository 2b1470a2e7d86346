import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/pg/global-setup.ts'],
    // Vitest's default is one worker fewer than the cores: on CI's two cores,
    // one file at a time, and the four passes of .ci/run took 21 minutes. Two
    // at once take about three quarters of the time. What that asks of the
    // tests: no timing assertion; lock waits and connections counted for the
    // test's own table or pool, not the shared server; and leases longer than
    // a starved process's pause wherever a test is not about takeovers.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
