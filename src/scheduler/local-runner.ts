/**
 * The tracker slot posepipe has today: one long-lived worker process on this machine, its models
 * loaded once and reused for every chunk of every job. Every load of the backend is recorded.
 */
import type { Db } from '../db/index.ts';
import { withStderr } from '../errors.ts';
import { trackChunk, type ChunkResult } from '../stages/track.ts';
import type { ReadyEvent, TrackerWorker } from '../tracker/index.ts';
import type { ChunkAttempt, ChunkRunner } from './types.ts';

/** ChunkRunner over one local TrackerWorker. */
export class LocalRunner implements ChunkRunner {
  readonly where: string;
  readonly #tracker: TrackerWorker;
  readonly #db: Db;
  #recordedLoads = 0;

  constructor(tracker: TrackerWorker, db: Db, where = 'slot 1') {
    this.#tracker = tracker;
    this.#db = db;
    this.where = where;
  }

  /** Start the worker if it is not running; record each load of the backend. */
  async ready(): Promise<ReadyEvent> {
    const startedMs = Date.now();
    let ready: ReadyEvent;
    try {
      ready = await this.#tracker.start();
    } catch (error) {
      // Shown on the page and in `status` (with the backend's traceback) until a later start succeeds.
      this.#db.workerHealth(this.where, 'unhealthy', { error: withStderr(error) });
      throw error;
    }
    this.#db.workerHealth(this.where, 'ready', { device: ready.device });
    if (this.#tracker.loads > this.#recordedLoads) {
      this.#recordedLoads = this.#tracker.loads;
      this.#db.recordTrackerLoad({
        backend: ready.backend,
        version: ready.version,
        device: ready.device,
        pid: ready.pid,
        started_ms: startedMs,
        load_ms: Math.round(ready.loadSeconds * 1000),
      });
    }
    return ready;
  }

  run(attempt: ChunkAttempt): Promise<ChunkResult> {
    return trackChunk({ tracker: this.#tracker, ...attempt });
  }

  /** Out of memory (or a CUDA fault) can leave the worker's memory in any state: a fresh process. */
  reset(): Promise<void> {
    return this.#tracker.recycle();
  }

  stop(): Promise<void> {
    return this.#tracker.stop();
  }
}
