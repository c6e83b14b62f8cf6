import { configDefaults, defineConfig } from 'vitest/config';
import SlowFirst from './test/helpers/slow-first.ts';

/**
 * Files that assert how soon something happens (a deadline, a heartbeat, an idle cut-off, a rate,
 * a page answering within a second while hostile input is checked, which of two jobs' stages ends
 * first) or that wait on readiness delays: they run last, two at a time among themselves, never
 * beside the files that keep both cores busy (x264's threads, OpenCV's and torch's). None of them
 * uses more than about one core.
 */
const TIMING = [
  'test/e2e/faults.test.ts',
  'test/e2e/remote-results.test.ts',
  'test/e2e/bounds.test.ts',
  'test/watcher/watcher.test.ts',
  'test/tracker/worker-limits.test.ts',
  'test/scheduler/result-check.test.ts',
  'test/server/bounds.test.ts',
  'test/server/page-script.test.ts',
  'test/commands/coordinator-client.test.ts',
];
/** Asserts that the next jobs are prepared while one finishes: with both cores to itself, last. */
const ALONE = ['test/e2e/queue.test.ts'];

// Tests run real ffmpeg, SQLite and Python: give them time. 'busy' (everything else, two files at
// a time) runs first, then 'timing', then 'alone'.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    sequence: { sequencer: SlowFirst },
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'busy', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...TIMING, ...ALONE], maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'timing', include: TIMING, maxWorkers: 2, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 2 } } },
    ],
  },
});
