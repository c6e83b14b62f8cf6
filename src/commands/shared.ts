import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { acquireLock, openDb, type Db } from '../db/index.ts';
import { Pipeline, type PipelineEvent } from '../pipeline.ts';
import { closeMergePool } from '../stages/merge.ts';
import { TrackerWorker } from '../tracker/index.ts';

/** What a command that runs jobs holds: the lock, the database, the worker and the pipeline. */
export interface Engine {
  db: Db;
  tracker: TrackerWorker;
  pipeline: Pipeline;
  /** Stop the worker, close the database, release the lock. */
  close(): Promise<void>;
}

/** Take the data folder (one instance per folder), open the database and reconcile it. */
export function openEngine(config: Config, opts: { onEvent?: (e: PipelineEvent) => void; log: (line: string) => void }): Engine {
  for (const dir of [config.home, config.inbox, config.outbox]) mkdirSync(dir, { recursive: true });
  const lock = acquireLock(config.home);
  let db: Db;
  try {
    db = openDb(config.home);
  } catch (error) {
    lock.release();
    throw error;
  }
  // The worker's stderr (its logs, and whatever its libraries print) for troubleshooting; the last
  // lines of a failed chunk are also kept on its row.
  const workerLog = createWriteStream(join(config.home, 'worker.log'), { flags: 'a' });
  const tracker = new TrackerWorker({
    onLog: (line) => workerLog.write(`${line}\n`),
    python: config.python,
    backend: config.tracker,
    startupMs: config.startupSeconds * 1000,
    heartbeatMs: config.heartbeatSeconds * 1000,
    advanceMs: config.advanceSeconds * 1000,
    maxRssBytes: config.maxWorkerMemoryMb > 0 ? config.maxWorkerMemoryMb * 1024 * 1024 : undefined,
  });
  const pipeline = new Pipeline({ db, config, tracker, onEvent: opts.onEvent, log: opts.log });
  pipeline.reconcile();
  return {
    db,
    tracker,
    pipeline,
    async close() {
      await tracker.stop();
      await closeMergePool();
      await new Promise<void>((resolve) => workerLog.end(resolve));
      db.requeueStale();
      db.close();
      lock.release();
    },
  };
}
