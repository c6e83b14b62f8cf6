/**
 * merge.json: what the merge stage keeps in place of the merged frames. Small whatever the video's
 * length (per chunk: its result file, size, hash and id map; the tracks; the pictures' index), it
 * is enough to stream the output from the chunk results, one chunk at a time (merged-frames.ts).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PipelineError } from '../errors.ts';
import { MERGE_INDEX_FILE } from '../paths.ts';
import type { PictureIndex } from '../pictures/pictures.ts';
import { checkLayout, type MergeChunk, type TrackSummary } from './merge-plan.ts';

/** Bump when what merge.json holds changes: an older one is merged again, not misread. */
export const MERGE_INDEX_VERSION = 1;

/** One chunk as merged: where its result is, what it was when merged, and its local -> final ids. */
export interface MergedChunk {
  index: number;
  /** The result pickle, relative to the job folder. */
  result: string;
  bytes: number;
  sha256: string;
  firstFrame: number;
  frameCount: number;
  overlapFrames: number;
  /** [chunk-local track, final id] pairs, for the tracks seen in the chunk's own frames. */
  ids: Array<[number, number]>;
}

/** The content of merge.json. */
export interface MergeIndex {
  version: number;
  frameCount: number;
  /** Person observations over all frames. */
  persons: number;
  tracks: TrackSummary[];
  /** By first frame. */
  chunks: MergedChunk[];
  pictures: PictureIndex;
}

/** A merged chunk as a MergeChunk (absolute result path) for the readers. */
export function mergeChunkOf(jobDir: string, c: MergedChunk): MergeChunk {
  return { index: c.index, resultPath: resolve(jobDir, c.result), firstFrame: c.firstFrame, frameCount: c.frameCount, overlapFrames: c.overlapFrames };
}

/** jobDir/merge.json, checked to be this version and to cover frames 0..frameCount-1 exactly. */
export async function readMergeIndex(jobDir: string, frameCount: number): Promise<MergeIndex> {
  const file = join(jobDir, MERGE_INDEX_FILE);
  let index: MergeIndex;
  try {
    index = JSON.parse(await readFile(file, 'utf8')) as MergeIndex;
  } catch (error) {
    throw new PipelineError('internal', `Cannot read the merge index ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (index?.version !== MERGE_INDEX_VERSION) throw new PipelineError('internal', `The merge index ${file} is version ${JSON.stringify(index?.version)}, expected ${MERGE_INDEX_VERSION}`);
  if (!Array.isArray(index.chunks) || !Array.isArray(index.tracks) || !index.chunks.every((c) => typeof c?.result === 'string' && Array.isArray(c.ids))) {
    throw new PipelineError('internal', `The merge index ${file} has no chunks or tracks`);
  }
  try {
    if (index.frameCount !== frameCount) throw new Error('frame count');
    checkLayout(index.chunks.map((c) => mergeChunkOf(jobDir, c)), frameCount);
  } catch (error) {
    throw new PipelineError('internal', `The merge index ${file} does not hold frames 0..${frameCount - 1} exactly`, { cause: error });
  }
  return index;
}
