import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Files whose outcome does not hang on timing (no deadline, lease, heartbeat, readiness delay or
 * rate is asserted or relied on: crash points, fixed inputs, ffmpeg, the Python stand-ins): they
 * share the machine's two cores, two files at a time, first. Most are busy on one core (a Python
 * stand-in, ffmpeg, a worker thread), so two at once take little more than one.
 */
const PAIRED = [
  'test/e2e/long-output.test.ts',
  'test/e2e/crash-points.test.ts',
  'test/e2e/backends.test.ts',
  'test/e2e/street-people.test.ts',
  'test/e2e/disk-full.test.ts',
  'test/e2e/golden-output.test.ts',
  'test/e2e/jsonl-output.test.ts',
  'test/e2e/models-pull.test.ts',
  'test/stages/**/*.test.ts',
  'test/media/**/*.test.ts',
  'test/merge/**/*.test.ts',
  'test/pictures/**/*.test.ts',
  'test/models/**/*.test.ts',
  'test/db/**/*.test.ts',
  'test/tracker/phalp.test.ts',
  'test/tracker/builtin.test.ts',
  'test/tracker/keypoints.test.ts',
  'test/tracker/python-units.test.ts',
  'test/config.test.ts',
  'test/docs.test.ts',
  'test/schema.test.ts',
  'test/imports.test.ts',
];

// Tests run real ffmpeg, SQLite and Python: give them time. The rest (watcher, deadlines, leases,
// remote workers, the browser, live updates) then run one file at a time, so that none is starved
// of the machine's two cores.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'paired', include: PAIRED, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'serial', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...PAIRED], maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
