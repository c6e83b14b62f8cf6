import { join } from 'node:path';
import type { Config } from './config.ts';

/** The folder a job's files live in: `<home>/jobs/<id>`. */
export function jobDir(config: Config, jobId: number): string {
  return join(config.home, 'jobs', String(jobId));
}

/** Inside a job's folder: every frame's presentation time in the source (a JSON array of seconds), written by the chunk stage. */
export const FRAME_TIMES_FILE = 'chunks/frame-times.json';

/** Inside a job's folder: the merge's small index (id maps, tracks, the pictures' index), written by the merge stage. */
export const MERGE_INDEX_FILE = 'merge.json';
