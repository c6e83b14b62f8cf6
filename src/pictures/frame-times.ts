/**
 * A job's frame times (the chunk stage's frame-times.json: every frame's presentation time in the
 * source), for the page: thumbnails are seeked by them and captioned with them. The last few jobs'
 * are kept in memory, since a page asks for several thumbnails of one job at once.
 */
import { readFrameTimes } from '../stages/chunk.ts';

const cache = new Map<string, Promise<number[] | undefined>>();

/** The times of `jobDir`'s frames, or undefined (none recorded, or damaged: the page uses index / fps). */
export function cachedFrameTimes(jobDir: string): Promise<number[] | undefined> {
  let times = cache.get(jobDir);
  if (!times) {
    times = readFrameTimes(jobDir).catch(() => undefined);
    cache.set(jobDir, times);
    if (cache.size > 4) cache.delete(cache.keys().next().value!);
    // A job without times yet (or a damaged file) is read again next time.
    void times.then((found) => {
      if (!found && cache.get(jobDir) === times) cache.delete(jobDir);
    });
  }
  return times;
}
