/**
 * The merge stage: read every chunk's pickle, join track ids across chunk boundaries and write
 * `jobDir/merge.json`, the small index (id maps, tracks, the pictures' index) from which emit and
 * preview stream the frames. In a worker thread, so a long video's parsing never blocks the event
 * loop (status page, watcher); emit and preview run their streaming writes in the same pool.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { writeFileAtomic } from '../atomic-file.ts';
import { threadModule } from '../thread-module.ts';
import { PipelineError } from '../errors.ts';
import { ChunkResultError, DEFAULT_IOU_THRESHOLD, type MergeChunk, type MergeIndex, type WorkerReply, type WorkerStats, type WorkerTask } from '../merge/index.ts';
import { checkLayout } from '../merge/merge-plan.ts';
import { MERGE_INDEX_FILE } from '../paths.ts';
import { buildPictures, cachePictures, type PictureFacts } from '../pictures/index.ts';

/** The worker file the pool runs, and its threads' flags. */
const MERGE_THREAD = threadModule('merge-worker');
export const MERGE_WORKER_FILE = MERGE_THREAD.filename;
/** The one function it exports. */
export const MERGE_WORKER_FUNCTION = 'runWorkerTask';

/** How a task went in the worker thread, for the log: its thread, seconds and peak memory. */
export type WorkerReport = WorkerStats & { task: WorkerTask['task']; seconds: number };

/** Input of the merge stage. */
export interface MergeContext {
  jobDir: string;
  chunks: MergeChunk[];
  totalFrames: number;
  /** IoU a box pair needs in an overlap frame to vote for "same person"; default 0.5. */
  iouThreshold?: number;
  /** A pool to run in; without one the stage uses (and keeps) its own, see closeMergePool(). */
  pool?: Piscina;
  /**
   * The video's size, fps and frame count: the status page's pictures are then cached beside
   * merge.json, so the page reads only that small cache.
   */
  pictureFacts?: PictureFacts;
  onWorker?: (report: WorkerReport) => void;
}

/** What the merge stage records. */
export interface MergeOutput {
  file: 'merge.json';
  /** Size and hash of merge.json, so startup can tell a damaged one from a sound one. */
  bytes: number;
  sha256: string;
  tracks: number;
  /** Person observations over all frames. */
  persons: number;
}

/** A pool able to run the merge worker. */
export function createMergePool(options: { maxThreads?: number } = {}): Piscina {
  return new Piscina({
    filename: MERGE_WORKER_FILE,
    name: MERGE_WORKER_FUNCTION,
    execArgv: MERGE_THREAD.execArgv,
    minThreads: 0,
    maxThreads: options.maxThreads ?? 2,
    idleTimeout: 30_000,
  });
}

let sharedPool: Piscina | undefined;

/** Close the pool the stages made for themselves (when no pool was passed); a later task makes a new one. */
export async function closeMergePool(): Promise<void> {
  const pool = sharedPool;
  sharedPool = undefined;
  await pool?.close();
}

/**
 * Run a task in the worker (in `pool`, else the stages' own) and give its answer; a failure it
 * describes is thrown again as what it was: a ChunkResultError naming file and chunk, a
 * PipelineError of its kind, or an Error with the errno code (so disk-full is still recognised).
 */
export async function runInWorker<T extends WorkerTask>(task: T, pool: Piscina | undefined, onWorker?: (report: WorkerReport) => void): Promise<Extract<WorkerReply, { ok: true; task: T['task'] }>> {
  const started = performance.now();
  const reply = (await (pool ?? (sharedPool ??= createMergePool())).run(task, { filename: MERGE_WORKER_FILE, name: MERGE_WORKER_FUNCTION })) as WorkerReply;
  onWorker?.({ task: task.task, threadId: reply.threadId, peakBytes: reply.peakBytes, seconds: (performance.now() - started) / 1000 });
  if (!reply.ok) {
    if (reply.chunkResult !== undefined) {
      const { file, problem, chunkIndex } = reply.chunkResult;
      throw new ChunkResultError(file, problem, { chunkIndex });
    }
    if (reply.code !== undefined) throw Object.assign(new Error(reply.message), { code: reply.code, written: reply.written });
    throw new PipelineError(reply.kind, reply.message);
  }
  if (reply.task !== task.task) throw new TypeError(`The merge worker answered a ${reply.task} task for a ${task.task} task`);
  return reply as Extract<WorkerReply, { ok: true; task: T['task'] }>;
}

/** Throw unless the index's chunks cover exactly 0..totalFrames-1 (the worker's answer is checked, not trusted). */
function checkCoverage(index: MergeIndex, jobDir: string, totalFrames: number): void {
  if (index.frameCount !== totalFrames) throw new PipelineError('internal', `Merge produced ${index.frameCount} frames, expected ${totalFrames}`);
  try {
    checkLayout(index.chunks.map((c) => ({ index: c.index, resultPath: join(jobDir, c.result), firstFrame: c.firstFrame, frameCount: c.frameCount, overlapFrames: c.overlapFrames })), totalFrames);
  } catch (error) {
    throw new PipelineError('internal', `Merge produced chunks that do not cover frames 0..${totalFrames - 1}: ${(error as Error).message}`);
  }
}

/** Merge the chunk results of one job into `jobDir/merge.json`. */
export async function merge(ctx: MergeContext): Promise<MergeOutput> {
  const reply = await runInWorker(
    {
      task: 'merge',
      jobDir: ctx.jobDir,
      chunks: ctx.chunks.map((c) => ({ index: c.index, resultPath: c.resultPath, firstFrame: c.firstFrame, frameCount: c.frameCount, overlapFrames: c.overlapFrames, sha256: c.sha256 })),
      totalFrames: ctx.totalFrames,
      iouThreshold: ctx.iouThreshold ?? DEFAULT_IOU_THRESHOLD,
    },
    ctx.pool,
    ctx.onWorker,
  );
  const { index } = reply;
  checkCoverage(index, ctx.jobDir, ctx.totalFrames);
  const json = `${JSON.stringify(index)}\n`;
  await writeFileAtomic(join(ctx.jobDir, MERGE_INDEX_FILE), json);
  if (ctx.pictureFacts) await cachePictures(ctx.jobDir, ctx.pictureFacts, buildPictures(index.pictures, ctx.pictureFacts));
  return {
    file: MERGE_INDEX_FILE,
    bytes: Buffer.byteLength(json),
    sha256: createHash('sha256').update(json).digest('hex'),
    tracks: index.tracks.length,
    persons: index.persons,
  };
}
