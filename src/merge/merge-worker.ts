/**
 * The piscina worker for the merge stage: one pure function of its task (chunk files in,
 * merged result out). Errors come back as data, because a thrown PipelineError loses its class
 * and `kind` on the way between threads.
 */
import { threadId } from 'node:worker_threads';
import { classify, type FailureKind, PipelineError } from '../errors.ts';
import { buildPictures, type PictureFacts } from '../pictures/build-pictures.ts';
import type { Pictures } from '../pictures/pictures.ts';
import { type MergeChunk, mergeChunks } from './merge-chunks.ts';
import { ChunkResultError, readChunkPickle } from './read-chunk-pickle.ts';

/** What the merge stage sends to the worker. */
export interface MergeTask {
  chunks: MergeChunk[];
  totalFrames: number;
  iouThreshold: number;
  /** When given, the status page's pictures are computed here too, from the merged result in hand. */
  pictureFacts?: PictureFacts;
}

/**
 * What the worker answers: the merged result already serialised (a 100 MB result would block
 * the main thread for seconds in structured clone + JSON.stringify) with the facts the stage
 * checks and records; or the failure with what the pipeline needs to act on it.
 */
export type MergeReply =
  | { ok: true; json: string; frameIndexes: Int32Array; tracks: number; persons: number; pictures?: Pictures; threadId: number }
  | { ok: false; kind: FailureKind; message: string; chunkResult?: { file: string; problem: string; chunkIndex?: number }; threadId: number };

/** Read every chunk's pickle and merge them; never throws for a failure it can describe. */
export async function mergeChunkFiles(task: MergeTask): Promise<MergeReply> {
  try {
    // One after another, so that of several damaged chunks the first is always the one reported.
    const results = [];
    for (const chunk of task.chunks) {
      try {
        results.push({ chunk, result: await readChunkPickle(chunk.resultPath) });
      } catch (error) {
        if (error instanceof ChunkResultError && error.chunkIndex === undefined) {
          throw new ChunkResultError(error.file, error.problem, { chunkIndex: chunk.index, cause: error.cause });
        }
        throw error;
      }
    }
    const merged = mergeChunks(results, task.totalFrames, task.iouThreshold);
    return {
      ok: true,
      json: `${JSON.stringify(merged)}\n`,
      frameIndexes: Int32Array.from(merged.frames, (frame) => frame.index),
      tracks: merged.tracks.length,
      persons: merged.frames.reduce((sum, frame) => sum + frame.persons.length, 0),
      pictures: task.pictureFacts ? buildPictures(merged, task.pictureFacts, 'merged.json') : undefined,
      threadId,
    };
  } catch (error) {
    const { kind, message } = classify(error);
    if (error instanceof ChunkResultError) {
      const { file, problem, chunkIndex } = error;
      return { ok: false, kind, message, chunkResult: { file, problem, chunkIndex }, threadId };
    }
    if (error instanceof PipelineError) return { ok: false, kind, message, threadId };
    throw error;
  }
}
