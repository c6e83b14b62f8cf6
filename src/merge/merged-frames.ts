/**
 * The merged frames, streamed: chunk results read one at a time as merge.json lists them, each
 * checked to be the file that was merged (size and sha256), and its own frames given one by one
 * with their final ids. Memory holds one chunk, whatever the video's length.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type ExtrasChoice, chunkFrames, chunkFrameTexts, type MergedFrame } from './merge-chunks.ts';
import { type MergedChunk, type MergeIndex, mergeChunkOf } from './merge-index.ts';
import { checkHeader } from './merge-plan.ts';
import { type ChunkResult, ChunkResultError, parseChunkPickle } from './read-chunk-pickle.ts';

/**
 * Read one merged chunk's result, refusing one that is not the file merged (size and sha256,
 * checked before it is parsed): a ChunkResultError naming file and chunk.
 */
export async function readMergedChunk(jobDir: string, c: MergedChunk): Promise<ChunkResult> {
  const chunk = mergeChunkOf(jobDir, c);
  const fail = (problem: string, cause?: unknown): never => {
    throw new ChunkResultError(chunk.resultPath, problem, { chunkIndex: c.index, cause });
  };
  let bytes: Buffer;
  try {
    bytes = await readFile(chunk.resultPath);
  } catch (error) {
    return fail(`cannot read chunk result (${(error as Error).message})`, error);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== c.bytes || sha256 !== c.sha256) {
    fail(`the chunk result changed since it was merged (${bytes.length} bytes, sha256 ${sha256.slice(0, 12)}; merged: ${c.bytes} bytes, ${c.sha256.slice(0, 12)})`);
  }
  let result: ChunkResult;
  try {
    result = parseChunkPickle(bytes, chunk.resultPath);
  } catch (error) {
    if (error instanceof ChunkResultError) return fail(error.problem, error.cause);
    throw error;
  }
  checkHeader(chunk, result);
  return result;
}

/** Frames 0..frameCount-1 of a merge, in order, with the extras chosen. */
export async function* mergedFrames(jobDir: string, index: MergeIndex, extras: ExtrasChoice = 'all'): AsyncGenerator<MergedFrame> {
  for (const c of index.chunks) {
    const result = await readMergedChunk(jobDir, c);
    yield* chunkFrames(mergeChunkOf(jobDir, c), result, new Map(c.ids), extras);
  }
}

/** mergedFrames as JSON text per frame (see chunkFrameTexts): what the output document streams. */
export async function* mergedFrameTexts(jobDir: string, index: MergeIndex, extras: ExtrasChoice = 'all'): AsyncGenerator<{ index: number; persons: string }> {
  for (const c of index.chunks) {
    const result = await readMergedChunk(jobDir, c);
    yield* chunkFrameTexts(mergeChunkOf(jobDir, c), result, new Map(c.ids), extras);
  }
}
