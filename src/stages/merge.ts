/**
 * The merge stage: read every chunk's pickle and join them into `jobDir/merged.json`, in a
 * worker thread so a long video's parsing never blocks the event loop (status page, watcher).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { writeFileAtomic } from '../atomic-file.ts';
import { PipelineError } from '../errors.ts';
import { ChunkResultError, DEFAULT_IOU_THRESHOLD, type MergeChunk, type MergeReply, type MergeTask } from '../merge/index.ts';
import { cachePictures, type PictureFacts } from '../pictures/index.ts';

/** The worker file the pool runs (TypeScript; loaded through tsx in the worker). */
export const MERGE_WORKER_FILE = fileURLToPath(new URL('../merge/merge-worker.ts', import.meta.url));
const MERGE_WORKER_FUNCTION = 'mergeChunkFiles';

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
   * The video's size, fps and frame count: the status page's pictures are then computed in the
   * worker thread and cached beside merged.json, so the page never parses a long video's result.
   */
  pictureFacts?: PictureFacts;
}

/** What the merge stage records. */
export interface MergeOutput {
  file: 'merged.json';
  /** Size and hash of merged.json, so startup can tell a damaged one from a sound one. */
  bytes: number;
  sha256: string;
  tracks: number;
  /** Person observations over all frames. */
  persons: number;
}

/** `--import <tsx>` by absolute URL, so workers load .ts files whatever the current folder is. */
function tsxImport(): string {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch {
    return 'tsx';
  }
}

/** A pool able to run the merge worker: threads load TypeScript through tsx, also under vitest. */
export function createMergePool(options: { maxThreads?: number } = {}): Piscina {
  return new Piscina({
    filename: MERGE_WORKER_FILE,
    name: MERGE_WORKER_FUNCTION,
    execArgv: ['--import', tsxImport()],
    minThreads: 0,
    maxThreads: options.maxThreads ?? 2,
    idleTimeout: 30_000,
  });
}

let sharedPool: Piscina | undefined;

/** Close the pool the stage made for itself (when no pool was passed); a later merge makes a new one. */
export async function closeMergePool(): Promise<void> {
  const pool = sharedPool;
  sharedPool = undefined;
  await pool?.close();
}

/** Throw unless the merged frames are exactly 0..totalFrames-1, in order. */
function checkCoverage(frameIndexes: Int32Array, totalFrames: number): void {
  if (frameIndexes.length !== totalFrames) {
    throw new PipelineError('internal', `Merge produced ${frameIndexes.length} frames, expected ${totalFrames}`);
  }
  frameIndexes.forEach((index, i) => {
    if (index !== i) throw new PipelineError('internal', `Merge produced frame ${index} at position ${i}`);
  });
}


/** Merge the chunk results of one job into `jobDir/merged.json`. */
export async function merge(ctx: MergeContext): Promise<MergeOutput> {
  const pool = ctx.pool ?? (sharedPool ??= createMergePool());
  const task: MergeTask = {
    chunks: ctx.chunks.map((c) => ({ index: c.index, resultPath: c.resultPath, firstFrame: c.firstFrame, frameCount: c.frameCount, overlapFrames: c.overlapFrames })),
    totalFrames: ctx.totalFrames,
    iouThreshold: ctx.iouThreshold ?? DEFAULT_IOU_THRESHOLD,
    pictureFacts: ctx.pictureFacts,
  };
  const reply = (await pool.run(task, { filename: MERGE_WORKER_FILE, name: MERGE_WORKER_FUNCTION })) as MergeReply;
  if (!reply.ok) {
    if (reply.chunkResult !== undefined) {
      const { file, problem, chunkIndex } = reply.chunkResult;
      throw new ChunkResultError(file, problem, { chunkIndex });
    }
    throw new PipelineError(reply.kind, reply.message);
  }
  checkCoverage(reply.frameIndexes, ctx.totalFrames);
  await writeFileAtomic(join(ctx.jobDir, 'merged.json'), reply.json);
  if (reply.pictures && ctx.pictureFacts) await cachePictures(ctx.jobDir, ctx.pictureFacts, reply.pictures);
  return {
    file: 'merged.json',
    bytes: Buffer.byteLength(reply.json),
    sha256: createHash('sha256').update(reply.json).digest('hex'),
    tracks: reply.tracks,
    persons: reply.persons,
  };
}
