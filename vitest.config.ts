import { defineConfig } from 'vitest/config';

// Tests run real ffmpeg, SQLite and Python: give them time, and run files one at a time
// so that timing-sensitive watcher tests are not starved of the machine's two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
