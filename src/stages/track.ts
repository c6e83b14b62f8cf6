import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { ChunkRow } from '../db/index.ts';
import { PipelineError, TrackerError } from '../errors.ts';
import type { TrackerWorker } from '../tracker/index.ts';
import { hashFile } from './stage.ts';
import { chunkNumber } from '../chunk-number.ts';

/** The track stage's recorded output: which backend ran, and its total busy time. */
export interface TrackerInfo {
  backend: string;
  version: string;
  device: string;
  /** The numeric precision a GPU backend ran its model at (fp32, bf16, fp16); absent for the others. */
  precision?: string;
  trackerMs: number;
}

/** A chunk's result as recorded on its row. */
export interface ChunkResult {
  file: string;
  bytes: number;
  sha256: string;
  trackerMs: number;
}

/** The fields of a chunk row that tracking reads (a remote worker gets only these from its coordinator). */
export type TrackedChunk = Pick<ChunkRow, 'idx' | 'file' | 'file_start' | 'first_frame' | 'frame_count' | 'overlap_frames'>;

/** Where a chunk row's result lives in its job folder, named by frame range (a split renumbers rows, never ranges). */
export function chunkResultFile(c: { first_frame: number; frame_count: number }): string {
  // Both numbers become a file name: anything but a whole number (a string from elsewhere) is a bug, never a path.
  if (!Number.isSafeInteger(c.first_frame) || c.first_frame < 0 || !Number.isSafeInteger(c.frame_count) || c.frame_count < 0) {
    throw new PipelineError('internal', `a chunk's frame range must be whole numbers, not ${JSON.stringify(c.first_frame)}+${JSON.stringify(c.frame_count)}`);
  }
  return `results/${String(c.first_frame).padStart(7, '0')}+${c.frame_count}.pkl`;
}

/**
 * Where a chunk row's worker log lives in its job folder (every attempt appended), named by frame
 * range like its result: a split renumbers rows, never ranges.
 */
export function chunkLogFile(c: { first_frame: number; frame_count: number }): string {
  return `logs/${String(c.first_frame).padStart(7, '0')}+${c.frame_count}.log`;
}

/**
 * Track one chunk row: the tail of the previous row (the overlap) and then the row's own frames,
 * in the long-lived worker. Trusts the result file, not the worker's word: done without a file
 * is not done.
 */
export async function trackChunk(ctx: {
  tracker: TrackerWorker;
  jobDir: string;
  jobId: number;
  chunk: TrackedChunk;
  previous: TrackedChunk | undefined;
  onProgress?: (framesTracked: number) => void;
}): Promise<ChunkResult> {
  const { chunk: c, previous } = ctx;
  const overlap = previous ? c.overlap_frames : 0;
  const file = chunkResultFile(c);
  const output = inside(ctx.jobDir, file);
  mkdirSync(join(ctx.jobDir, 'results'), { recursive: true });
  rmSync(output, { force: true });
  // The overlap is the end of the previous row's range, which may be in the same file after a split.
  const inputs = [
    ...(overlap > 0 ? [{ path: inside(ctx.jobDir, previous!.file), start: previous!.file_start + previous!.frame_count - overlap, count: overlap }] : []),
    { path: inside(ctx.jobDir, c.file), start: c.file_start, count: c.frame_count },
  ];
  const frameCount = c.frame_count + overlap;
  const done = await ctx.tracker.track(
    { id: `${ctx.jobId}:${c.idx}`, inputs, firstFrame: c.first_frame - overlap, frameCount, output },
    (p) => ctx.onProgress?.(p.frame),
  );
  if (!existsSync(output)) throw new TrackerError('internal', `the tracker reported chunk ${chunkNumber(c.idx)} done but wrote no result file`);
  if (done.frames !== frameCount) {
    throw new PipelineError('internal', `the tracker tracked ${done.frames} frames of chunk ${chunkNumber(c.idx)}, expected ${frameCount}`);
  }
  return { file, bytes: statSync(output).size, sha256: await hashFile(output), trackerMs: Math.round(done.seconds * 1000) };
}

/** `name` joined under `dir`, which it must not leave (a name with `..` or an absolute one is a bug here, never a path elsewhere). */
function inside(dir: string, name: string): string {
  const path = join(dir, name);
  if (!resolve(path).startsWith(resolve(dir) + sep)) throw new PipelineError('internal', `the file ${JSON.stringify(name)} is not inside the job folder`);
  return path;
}
