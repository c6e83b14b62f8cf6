/** Real tracker workers for the tracker tests: made with test defaults, stopped after each test. */
import { afterEach, expect } from 'vitest';
import { TrackerError } from '../../src/errors.ts';
import { TrackerWorker } from '../../src/tracker/index.ts';

/** Debian's interpreter, with its numpy and OpenCV. */
export const PYTHON = '/usr/bin/python3';

/** For a test file: a maker of workers with test defaults, every one stopped after its test. */
export function trackerWorkersPerTest(): (backend?: string, env?: Record<string, string>, heartbeatMs?: number) => { worker: TrackerWorker; logs: string[] } {
  const workers: TrackerWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  return (backend = 'builtin', env = {}, heartbeatMs = 20_000) => {
    const logs: string[] = [];
    // builtin with HOG unless a test names its detector (as test/helpers/cli.ts says why), searching
    // the small fixtures as they are (its small-frame upscaling, 13x slower, has its own test).
    const worker = new TrackerWorker({ python: PYTHON, backend, env: { POSEPIPE_BUILTIN_DETECTOR: 'hog', POSEPIPE_BUILTIN_MIN_PERSON: '0', ...env }, startupMs: 30_000, heartbeatMs, onLog: (l) => logs.push(l) });
    workers.push(worker);
    return { worker, logs };
  };
}

/** The TrackerError a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<TrackerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrackerError);
  return error as TrackerError;
}
