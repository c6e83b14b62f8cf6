import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import { PipelineError } from '../errors.ts';
import { MERGE_INDEX_FILE } from '../paths.ts';
import { buildPictures, checkFacts, checkPictureIndex, type PictureFacts } from './build-pictures.ts';
import type { Pictures } from './pictures.ts';

/** Bump when Pictures or how they are computed changes, so old caches are recomputed. */
const CACHE_VERSION = 2;
/** The caches of jobs merged before merge.json, keyed on their merged.json (the same Pictures). */
const MERGED_JSON_CACHE_VERSION = 1;

/** What pictures.json holds: the pictures and what they were computed from. */
interface CacheFile {
  version: number;
  /** merge.json's size and mtime (ns, as a string) when it was read. */
  merged: { size: number; mtimeNs: string };
  facts: PictureFacts;
  pictures: Pictures;
}

type MergedKey = CacheFile['merged'];

/** One computation per job and facts at a time: a page opened by several viewers reads merge.json once. */
const inFlight = new Map<string, Promise<Pictures | undefined>>();

async function mergedKey(file: string): Promise<MergedKey | undefined> {
  try {
    const info = await stat(file, { bigint: true });
    return { size: Number(info.size), mtimeNs: info.mtimeNs.toString() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const sameKey = (a: MergedKey, b: MergedKey): boolean => a.size === b.size && a.mtimeNs === b.mtimeNs;
const sameFacts = (a: PictureFacts, b: PictureFacts): boolean =>
  a.width === b.width && a.height === b.height && a.fps === b.fps && a.frameCount === b.frameCount;

/** The cached pictures when pictures.json (of `version`) was computed from the file of this key and these facts. */
async function readCache(file: string, key: MergedKey, facts: PictureFacts, version = CACHE_VERSION): Promise<Pictures | undefined> {
  let cache: CacheFile;
  try {
    cache = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
  } catch {
    return undefined; // missing or damaged: recompute
  }
  const usable =
    cache?.version === version && cache.merged && sameKey(cache.merged, key) && cache.facts && sameFacts(cache.facts, facts) &&
    Array.isArray(cache.pictures?.frames) && Array.isArray(cache.pictures?.tracks);
  return usable ? cache.pictures : undefined;
}

/**
 * Compute from merge.json's picture index (small whatever the video's length), and cache unless
 * merge.json changed while it was read (a re-merge renaming a new one into place): then the next
 * call computes again.
 */
async function compute(jobDir: string, facts: PictureFacts): Promise<Pictures | undefined> {
  const indexFile = join(jobDir, MERGE_INDEX_FILE);
  const cacheFile = join(jobDir, 'pictures.json');
  const before = await mergedKey(indexFile);
  if (!before) return mergedBefore(jobDir, facts);
  const cached = await readCache(cacheFile, before, facts);
  if (cached) return cached;
  let text: string;
  try {
    text = await readFile(indexFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let index: unknown;
  try {
    index = (JSON.parse(text) as { pictures?: unknown } | null)?.pictures;
  } catch (error) {
    throw new PipelineError('internal', `Cannot draw the pictures of ${indexFile}: ${(error as Error).message}`, { cause: error });
  }
  const pictures = buildPictures(checkPictureIndex(index, indexFile), facts);
  const after = await mergedKey(indexFile);
  if (after && sameKey(before, after)) await writeCache(cacheFile, { version: CACHE_VERSION, merged: before, facts, pictures });
  return pictures;
}

/**
 * A job merged by an older posepipe has no merge.json: its merged.json (which is never read here,
 * whatever its size) and the pictures.json computed from it when it was merged. That cache is its
 * pictures while merged.json is unchanged; otherwise there are none until it is merged again.
 */
async function mergedBefore(jobDir: string, facts: PictureFacts): Promise<Pictures | undefined> {
  const key = await mergedKey(join(jobDir, 'merged.json'));
  return key && readCache(join(jobDir, 'pictures.json'), key, facts, MERGED_JSON_CACHE_VERSION);
}

async function writeCache(cacheFile: string, cache: CacheFile): Promise<void> {
  try {
    await writeFileAtomic(cacheFile, JSON.stringify(cache));
  } catch (error) {
    // A cache that cannot be written (full disk, read-only folder) only costs a recomputation.
    if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
  }
}

/**
 * Cache pictures computed elsewhere (the merge stage, from the index it has just written) for the
 * merge.json now in jobDir; loadPictures then only reads the small cache.
 */
export async function cachePictures(jobDir: string, facts: PictureFacts, pictures: Pictures): Promise<void> {
  const key = await mergedKey(join(jobDir, MERGE_INDEX_FILE));
  if (key) await writeCache(join(jobDir, 'pictures.json'), { version: CACHE_VERSION, merged: key, facts: checkFacts(facts), pictures });
}

/**
 * The pictures of a job: undefined when the job has no merge.json yet. Cached in
 * jobDir/pictures.json (atomic write), invalidated when merge.json's size or mtime changes (or
 * the facts differ). Computing reads merge.json's picture index, never the result's frames;
 * concurrent calls for one job share that work. A merge.json without a sound picture index
 * rejects with PipelineError('internal').
 */
export async function loadPictures(jobDir: string, facts: PictureFacts): Promise<Pictures | undefined> {
  const f = checkFacts(facts);
  const key = JSON.stringify([jobDir, f.width, f.height, f.fps, f.frameCount]);
  let running = inFlight.get(key);
  if (!running) {
    running = compute(jobDir, f).finally(() => inFlight.delete(key));
    inFlight.set(key, running);
  }
  return running;
}
