/**
 * The piscina worker that checks a chunk result uploaded by a remote worker: read it and parse it
 * within the pickle limits, in a thread of its own whose heap is capped (see
 * src/scheduler/result-check.ts), so that a hostile upload costs that thread at most, never the
 * coordinator's event loop or process. The answer is data: a problem in words, or none.
 */
import { readFile } from 'node:fs/promises';
import type { PickleLimits } from './pickle-limits.ts';
import { ChunkResultError, parseChunkPickle } from './read-chunk-pickle.ts';

/** Which file to check, and the frames it must hold (overlap included). */
export interface ResultCheckTask {
  file: string;
  firstFrame: number;
  frameCount: number;
  /** The pickle limits, when not the defaults (tests). */
  limits?: PickleLimits;
}

/** Check one uploaded chunk result: undefined when it is a readable chunk of exactly the frames asked, else what is wrong. */
export async function checkResult(task: ResultCheckTask): Promise<string | undefined> {
  try {
    const r = parseChunkPickle(await readFile(task.file), task.file, task.limits);
    if (r.firstFrame !== task.firstFrame || r.frameCount !== task.frameCount) return `it holds frames ${r.firstFrame}+${r.frameCount}, not ${task.firstFrame}+${task.frameCount}`;
    return undefined;
  } catch (error) {
    if (error instanceof ChunkResultError) return error.problem;
    return `it cannot be read (${(error as Error).message})`;
  }
}
