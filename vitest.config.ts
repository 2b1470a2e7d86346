import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/pg/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
