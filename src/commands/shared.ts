import { accessSync, constants, createWriteStream, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CONFIG_SPEC, ConfigError, type Config } from '../config.ts';
import { acquireLock, openDb, type Db } from '../db/index.ts';
import { deviceVariable, Pipeline, planSlots, type PipelineEvent, type SlotPlan } from '../scheduler/index.ts';
import { closeMergePool } from '../stages/merge.ts';
import { TrackerWorker } from '../tracker/index.ts';
import { jobView } from '../views.ts';
import { createWebhook, type Webhook } from '../webhook.ts';

/** What a command that runs jobs holds: the lock, the database, the tracker slots and the pipeline. */
export interface Engine {
  db: Db;
  /** One long-lived worker per slot. */
  trackers: TrackerWorker[];
  /** What each slot is pinned to (the `workers` setting). */
  slots: SlotPlan[];
  pipeline: Pipeline;
  /** Stop the workers, close the database, release the lock. */
  close(): Promise<void>;
}

/** One slot's long-lived worker, pinned to the slot's device; `onLog` gets its stderr lines. */
export function slotTracker(config: Config, slot: SlotPlan, onLog: (line: string) => void): TrackerWorker {
  return new TrackerWorker({
    onLog,
    python: config.python,
    backend: config.tracker,
    startupMs: config.startupSeconds * 1000,
    heartbeatMs: config.heartbeatSeconds * 1000,
    advanceMs: config.advanceSeconds * 1000,
    maxRssBytes: config.maxWorkerMemoryMb > 0 ? config.maxWorkerMemoryMb * 1024 * 1024 : undefined,
    // The worker pins itself to this GPU (CUDA_VISIBLE_DEVICES) before anything starts CUDA.
    env: slot.device ? { [deviceVariable(config.tracker)]: slot.device } : undefined,
  });
}

const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the filesystem is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  ENOSPC: 'no space left on the device',
  ENOENT: 'a part of the path does not exist',
};

/**
 * Make a folder posepipe works in (home, inbox, outbox) if missing and check that it may be used
 * (written, for home and outbox); otherwise a ConfigError naming the setting, the cause and the fix.
 */
export function ensureFolder(config: Config, key: 'home' | 'inbox' | 'outbox'): void {
  const dir = config[key];
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.R_OK | constants.X_OK | (key === 'inbox' ? 0 : constants.W_OK));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const cause = CAUSES[code] ?? (error as Error).message;
    throw new ConfigError(`Cannot use the ${key} folder ${dir} (from ${config.sources[key]}): ${cause}; make it a folder this user may ${key === 'inbox' ? 'read' : 'write'}, or choose another with ${CONFIG_SPEC[key].flag} DIR`);
  }
}

/**
 * A second Ctrl-C: kill the tracker workers' process groups and exit 130 without waiting for the
 * rest of the shutdown. Nothing is lost: the next start resumes, as after a crash.
 */
export function forceStop(engine: Engine | undefined): never {
  for (const tracker of engine?.trackers ?? []) {
    if (tracker.pid === undefined) continue;
    try {
      process.kill(-tracker.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  process.exit(130);
}

/** Take the data folder (one instance per folder), open the database and reconcile it. */
export function openEngine(config: Config, opts: { onEvent?: (e: PipelineEvent) => void; log: (line: string) => void }): Engine {
  for (const key of ['home', 'inbox', 'outbox'] as const) ensureFolder(config, key);
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
  // Each line also goes to the log of the chunk its slot is tracking (the page links it).
  let pipeline: Pipeline | undefined;
  const slots = planSlots(config.workers, config.tracker, process.env);
  const slotNames = slots.map((slot, i) => `slot ${i + 1}${slot.device ? ` (${slot.device})` : ''}`);
  const trackers = slots.map((slot, i) =>
    slotTracker(config, slot, (line) => {
      // Each line says when, which slot, and which attempt it belongs to (none while loading).
      const about = pipeline?.workerLog(line, i);
      workerLog.write(`${new Date().toISOString()} [slot ${i + 1}${slot.device ? ` ${slot.device}` : ''}]${about ? ` ${about}` : ''} ${line}\n`);
    }),
  );
  let webhook: Webhook | undefined;
  if (config.webhookUrl) {
    webhook = createWebhook({
      url: config.webhookUrl,
      log: opts.log,
      describe: (id) => {
        const row = db.getJob(id);
        if (!row || (row.state !== 'done' && row.state !== 'failed')) return undefined;
        const v = jobView(db, config, row);
        return { id: v.id, name: v.name, state: row.state, output: row.state === 'done' ? v.outputPath : null, error: v.error, frames: v.frames, trackerSeconds: v.trackerSeconds, seconds: v.seconds };
      },
    });
  }
  const onEvent = (event: PipelineEvent) => {
    opts.onEvent?.(event);
    webhook?.onEvent(event);
  };
  pipeline = new Pipeline({ db, config, trackers, slotNames, onEvent, log: opts.log });
  pipeline.reconcile();
  db.registerWorkers(hostname(), slotNames);
  return {
    db,
    trackers,
    slots,
    pipeline,
    async close() {
      await Promise.all(trackers.map((t) => t.stop()));
      await pipeline?.close();
      // Deliveries still under way get a few seconds; the webhook is best effort.
      if (webhook) await Promise.race([webhook.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await closeMergePool();
      await new Promise<void>((resolve) => workerLog.end(resolve));
      db.requeueStale();
      db.stopWorkers(hostname());
      db.close();
      lock.release();
    },
  };
}
