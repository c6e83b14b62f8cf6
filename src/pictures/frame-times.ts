/**
 * A job's frame times (the chunk stage's FRAME_TIMES_FILE: every frame's presentation time in the
 * source), for the page: thumbnails are seeked by them and captioned with them. The last few jobs'
 * are kept in memory, since a page asks for several thumbnails of one job at once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FRAME_TIMES_FILE } from '../paths.ts';

const cache = new Map<string, Promise<number[] | undefined>>();

/** The times of `jobDir`'s frames, or undefined (a job chunked without them, or before they were kept). */
export function readFrameTimes(jobDir: string): Promise<number[] | undefined> {
  let times = cache.get(jobDir);
  if (!times) {
    times = readFile(join(jobDir, FRAME_TIMES_FILE), 'utf8').then(
      (text) => {
        let list: unknown;
        try {
          list = JSON.parse(text);
        } catch {
          return undefined; // damaged: the frames are looked up at index / fps
        }
        return Array.isArray(list) && list.every((t) => typeof t === 'number' && Number.isFinite(t)) ? (list as number[]) : undefined;
      },
      () => undefined,
    );
    cache.set(jobDir, times);
    if (cache.size > 4) cache.delete(cache.keys().next().value!);
    // A job without times yet (or a damaged file) is read again next time.
    void times.then((found) => {
      if (!found && cache.get(jobDir) === times) cache.delete(jobDir);
    });
  }
  return times;
}
