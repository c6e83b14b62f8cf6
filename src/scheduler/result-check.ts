/**
 * Checking an uploaded chunk result off the main thread, in a small piscina pool of its own: its
 * threads have a capped heap (a thread past it is ended by Node and only its task fails) and each
 * check a time limit (the thread is ended on abort). Not the merge's pool: a hostile upload then
 * never waits in line with, or takes the thread of, a job's merge.
 */
import { Piscina } from 'piscina';
import type { PickleLimits } from '../merge/index.ts';
import type { ResultCheckTask } from '../merge/check-worker.ts';
import { threadModule } from '../thread-module.ts';

const CHECK_THREAD = threadModule('check-worker');

/** How a result check is bounded. */
export interface ResultCheckOptions {
  /** The old-generation heap of a checking thread, MiB (its buffers, the file and the arrays, come on top: they are bounded by the upload's size cap). */
  heapMb?: number;
  /** Longest a check may take, queueing included. */
  seconds?: number;
  /** Threads checking at once. */
  threads?: number;
  /** Pickle limits other than the defaults (tests). */
  limits?: PickleLimits;
}

/** The defaults: a phalp chunk of 100 people a frame (8.5 MB) is checked in well under a second and 40 MiB of heap. */
export const RESULT_CHECK_DEFAULTS = Object.freeze({ heapMb: 256, seconds: 120, threads: 2 });

/** Runs result checks in capped threads; one per coordinator. */
export class ResultChecker {
  readonly #pool: Piscina;
  readonly #heapMb: number;
  readonly #seconds: number;
  readonly #limits: PickleLimits | undefined;

  constructor(options: ResultCheckOptions = {}) {
    this.#heapMb = options.heapMb ?? RESULT_CHECK_DEFAULTS.heapMb;
    this.#seconds = options.seconds ?? RESULT_CHECK_DEFAULTS.seconds;
    this.#limits = options.limits;
    this.#pool = new Piscina({
      filename: CHECK_THREAD.filename,
      name: 'checkResult',
      execArgv: CHECK_THREAD.execArgv,
      minThreads: 0,
      maxThreads: options.threads ?? RESULT_CHECK_DEFAULTS.threads,
      idleTimeout: 30_000,
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
  }

  /**
   * Why the chunk result in `file` cannot be used as frames firstFrame..firstFrame+frameCount-1, or
   * undefined when it can. A thread that runs out of heap or time is a problem too, never a throw.
   */
  async problem(file: string, firstFrame: number, frameCount: number): Promise<string | undefined> {
    const task: ResultCheckTask = { file, firstFrame, frameCount, ...(this.#limits ? { limits: this.#limits } : {}) };
    try {
      return (await this.#pool.run(task, { signal: AbortSignal.timeout(this.#seconds * 1000) })) as string | undefined;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') return `checking it needed more than ${this.#heapMb} MiB of heap (the check's heap limit)`;
      if (e.name === 'AbortError') return `checking it took longer than ${this.#seconds} s (the check's time limit)`;
      return `it could not be checked (${e.message})`;
    }
  }

  /** End the pool's threads. */
  async close(): Promise<void> {
    await this.#pool.close({ force: true });
  }
}
