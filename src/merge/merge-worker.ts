/**
 * The piscina worker of the merge, emit and preview stages: one pure function of its task, run in
 * a worker thread so that reading chunk results and writing hundreds of megabytes of JSON never
 * blocks the event loop (status page, watcher). Every task streams: one chunk result in memory at
 * a time. Errors come back as data, because a thrown PipelineError loses its class and `kind` on
 * the way between threads.
 */
import { relative } from 'node:path';
import { threadId } from 'node:worker_threads';
import { writeStreamAtomic } from '../atomic-file.ts';
import type { OutputFormat } from '../config.ts';
import { classify, type FailureKind, PipelineError } from '../errors.ts';
import { picturePerson } from '../pictures/build-pictures.ts';
import { pickFlagged } from '../pictures/pick-frames.ts';
import { MAX_PICKED, type PictureIndex, type PicturePerson } from '../pictures/pictures.ts';
import { shownTracks, TrackRunsBuilder } from '../pictures/track-runs.ts';
import { chunkFrames, type ExtrasChoice } from './merge-chunks.ts';
import { MERGE_INDEX_VERSION, type MergedChunk, type MergeIndex } from './merge-index.ts';
import { type MergeChunk, type MergePlan, MergePlanner } from './merge-plan.ts';
import { mergedFrames, mergedFrameTexts, readMergedChunk } from './merged-frames.ts';
import { frameText, jsonDocument, jsonLines } from './output-document.ts';
import { PLAYER_EXTRAS, writePlayerFiles } from './player-files.ts';
import { ChunkResultError, readChunkFile } from './read-chunk-pickle.ts';

/** Plan the merge of a job's chunk results into merge.json's index (the stage writes it). */
export interface MergeTask {
  task: 'merge';
  jobDir: string;
  chunks: MergeChunk[];
  totalFrames: number;
  iouThreshold: number;
}

/** Stream the output document from the chunk results merge.json lists into `outboxFile` (temp, fsync, rename). */
export interface EmitTask {
  task: 'emit';
  jobDir: string;
  /** merge.json, as read and checked by the stage. */
  index: MergeIndex;
  outboxFile: string;
  /** Every field of the document but the frames, in output order. */
  header: object;
  frameTimes?: number[];
  fps: number;
  extras: ExtrasChoice;
  /** One JSON document, or JSON Lines (the header, then a frame a line). */
  format: OutputFormat;
}

/** Write the player's frame windows (jobDir/player) from the chunk results merge.json lists. */
export interface PlayerTask {
  task: 'player';
  jobDir: string;
  /** merge.json, as read and checked by the stage. */
  index: MergeIndex;
  frameTimes?: number[];
  width: number;
  height: number;
  fps: number;
}

/** What a stage sends to the worker. */
export type WorkerTask = MergeTask | EmitTask | PlayerTask;

/** How the thread did: which thread, and its peak of JS heap plus buffers (sampled per chunk), in bytes. */
export interface WorkerStats {
  threadId: number;
  peakBytes: number;
}

/** What the worker answers: the task's result, or the failure with what the pipeline needs to act on it. */
export type WorkerReply =
  | ({ ok: true } & ({ task: 'merge'; index: MergeIndex } | { task: 'emit'; bytes: number; sha256: string } | { task: 'player'; windows: number }) & WorkerStats)
  | ({ ok: false; kind: FailureKind; message: string; code?: string; chunkResult?: { file: string; problem: string; chunkIndex?: number }; written?: number } & WorkerStats);

/** A streaming write that failed after `written` bytes (the failure says how far it got). */
class WriteFailure extends Error {
  readonly written: number;
  constructor(error: unknown, written: number) {
    super('write failed', { cause: error });
    this.written = written;
  }
}

let peakBytes = 0;
/** Note the thread's memory now: its isolate's heap and the buffers it holds (chunk results, writes). */
function sample(): void {
  const m = process.memoryUsage();
  peakBytes = Math.max(peakBytes, m.heapUsed + m.external + m.arrayBuffers);
}

/** Run one task; never throws for a failure it can describe. */
export async function runWorkerTask(task: WorkerTask): Promise<WorkerReply> {
  peakBytes = 0;
  sample();
  try {
    switch (task.task) {
      case 'merge':
        return { ok: true, task: 'merge', index: await planMerge(task), threadId, peakBytes };
      case 'emit':
        return { ok: true, task: 'emit', ...(await writeOutput(task)), threadId, peakBytes };
      case 'player':
        return { ok: true, task: 'player', windows: await writePlayer(task), threadId, peakBytes };
    }
  } catch (thrown) {
    const written = thrown instanceof WriteFailure ? thrown.written : undefined;
    const error = thrown instanceof WriteFailure ? thrown.cause : thrown;
    const { kind, message } = classify(error);
    if (error instanceof ChunkResultError) {
      const { file, problem, chunkIndex } = error;
      return { ok: false, kind, message, chunkResult: { file, problem, chunkIndex }, threadId, peakBytes };
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (error instanceof PipelineError || typeof code === 'string') return { ok: false, kind, message, code, written, threadId, peakBytes };
    throw error;
  }
}

/**
 * Read every chunk's result once, in order (so that of several damaged chunks the first is always
 * the one reported), to plan the ids and note what the pictures need: which frames have people and
 * each track's runs. Then read again only the chunks of the picked frames, for their boxes.
 */
async function planMerge(task: MergeTask): Promise<MergeIndex> {
  const planner = new MergePlanner(task.chunks, task.totalFrames, task.iouThreshold);
  const withPeople = new Uint8Array(task.totalFrames);
  const runs = new TrackRunsBuilder();
  const files: Array<{ bytes: number; sha256: string }> = [];
  for (const chunk of planner.chunks) {
    let read;
    try {
      read = await readChunkFile(chunk.resultPath, chunk.sha256);
    } catch (error) {
      if (error instanceof ChunkResultError && error.chunkIndex === undefined) throw new ChunkResultError(error.file, error.problem, { chunkIndex: chunk.index, cause: error.cause });
      throw error;
    }
    planner.add(read.result, (frame, provisional) => {
      withPeople[frame] = 1;
      runs.add(frame, provisional);
    });
    files.push({ bytes: read.bytes, sha256: read.sha256 });
    sample();
  }
  const plan = planner.finish();
  const chunks: MergedChunk[] = plan.chunks.map((c, i) => ({
    index: c.index,
    result: relative(task.jobDir, c.resultPath),
    ...files[i]!,
    firstFrame: c.firstFrame,
    frameCount: c.frameCount,
    overlapFrames: c.overlapFrames,
    ids: [...plan.ids[i]!].filter(([, id]) => id > 0),
  }));
  const shown = shownTracks(runs.runs((id) => plan.finalId.get(id)!));
  const pictures: PictureIndex = { frames: await pickedFrames(task.jobDir, chunks, plan, withPeople), ...shown };
  return { version: MERGE_INDEX_VERSION, frameCount: task.totalFrames, persons: plan.persons, tracks: plan.tracks, chunks, pictures };
}

/** The persons of the frames the thumbnail strip shows, read from the chunks that hold them. */
async function pickedFrames(jobDir: string, chunks: readonly MergedChunk[], plan: MergePlan, withPeople: Uint8Array): Promise<PictureIndex['frames']> {
  const picked = pickFlagged(withPeople, MAX_PICKED);
  const out: PictureIndex['frames'] = [];
  for (const [i, c] of chunks.entries()) {
    const wanted = picked.filter((index) => index >= c.firstFrame && index < c.firstFrame + c.frameCount);
    if (wanted.length === 0) continue;
    const result = await readMergedChunk(jobDir, c);
    for (const frame of chunkFrames(plan.chunks[i]!, result, plan.ids[i]!, [])) {
      if (!wanted.includes(frame.index)) continue;
      out.push({ index: frame.index, persons: frame.persons.map(picturePerson).filter((p): p is PicturePerson => p !== undefined) });
    }
    sample();
  }
  return out;
}

/** The frames given, noting the thread's memory every `every` frames. */
async function* sampled<T>(frames: AsyncIterable<T>, every: number): AsyncGenerator<T> {
  let n = 0;
  for await (const frame of frames) {
    if (n++ % every === 0) sample();
    yield frame;
  }
}

async function* outputFrames(task: EmitTask): AsyncGenerator<string> {
  for await (const frame of sampled(mergedFrameTexts(task.jobDir, task.index, task.extras), 256)) yield frameText(frame.index, frame.persons, task.frameTimes, task.fps);
}

async function writeOutput(task: EmitTask): Promise<{ bytes: number; sha256: string }> {
  const written = { bytes: 0 };
  try {
    const pieces = (task.format === 'jsonl' ? jsonLines : jsonDocument)(task.header, outputFrames(task));
    return await writeStreamAtomic(task.outboxFile, pieces, written);
  } catch (error) {
    if (error instanceof ChunkResultError) throw error;
    throw new WriteFailure(error, written.bytes);
  }
}

async function writePlayer(task: PlayerTask): Promise<number> {
  const { index } = task;
  const frames = sampled(mergedFrames(task.jobDir, index, PLAYER_EXTRAS), 256);
  return writePlayerFiles({ jobDir: task.jobDir, frames, frameCount: index.frameCount, tracks: index.tracks, frameTimes: task.frameTimes, width: task.width, height: task.height, fps: task.fps });
}
