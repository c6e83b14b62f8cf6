/** How a TrackerWorker is started and watched, checked once when it is made. */
import { isAbsolute } from 'node:path';
import { repoPath } from '../repo-root.ts';

/** The worker script shipped with this package, found from this module's own location. */
export const DEFAULT_WORKER_SCRIPT = repoPath('python', 'posepipe_worker.py');

/** How TrackerWorker is started and watched. */
export interface TrackerWorkerOptions {
  /** Absolute path of the interpreter (the venv's own python, never found through PATH). */
  python: string;
  /** Absolute path of posepipe_worker.py; defaults to DEFAULT_WORKER_SCRIPT. */
  script?: string;
  backend: string;
  /** Added to the inherited environment (backend settings such as POSEPIPE_BUILTIN_*). */
  env?: Record<string, string>;
  /** Deadline for the `ready` event after spawning: model loading included. */
  startupMs: number;
  /** A request with no event (progress counts) for this long is a hang: the group is killed. */
  heartbeatMs: number;
  /**
   * A request whose progress `frame` has not increased for this long is stuck even if heartbeats
   * keep coming: the group is killed (a stall). Absent: no such deadline. It must cover the
   * slowest single frame and the decoding of a request's skipped `start` frames.
   */
  advanceMs?: number;
  /**
   * After a `done`, a worker whose resident memory (VmRSS) is above this is stopped so that the
   * next request starts a fresh one (a leak cannot grow until the machine swaps). Absent: never.
   */
  maxRssBytes?: number;
  /** Every stderr line, and every protocol problem, as one line. */
  onLog?: (line: string) => void;
}

/** The options as a worker keeps them: checked, frozen, the script filled in. */
export type WorkerSettings = Readonly<TrackerWorkerOptions> & { readonly script: string };

/** Check the options (a bad one is a caller bug: TypeError) and fill in the default script. */
export function workerSettings(opts: TrackerWorkerOptions): WorkerSettings {
  const script = opts.script ?? DEFAULT_WORKER_SCRIPT;
  if (!isAbsolute(opts.python)) throw new TypeError(`tracker option "python" must be an absolute path, got ${JSON.stringify(opts.python)}`);
  if (!isAbsolute(script)) throw new TypeError(`tracker option "script" must be an absolute path, got ${JSON.stringify(script)}`);
  for (const key of ['startupMs', 'heartbeatMs', 'advanceMs'] as const) {
    const value = opts[key];
    if (value === undefined && key === 'advanceMs') continue;
    if (!(typeof value === 'number' && value > 0)) throw new TypeError(`tracker option "${key}" must be a positive number of milliseconds`);
  }
  if (opts.maxRssBytes !== undefined && !(opts.maxRssBytes > 0)) throw new TypeError('tracker option "maxRssBytes" must be a positive number of bytes');
  return Object.freeze({ ...opts, script });
}
