import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChunkResultError, type MergeChunk, mergeChunks, type MergeIndex, type MergeTask, readChunkPickle, type WorkerReply } from '../../src/merge/index.ts';
import { pickFrames } from '../../src/pictures/pick-frames.ts';
import { loadPictures } from '../../src/pictures/index.ts';
import { closeMergePool, createMergePool, merge, MERGE_WORKER_FILE, MERGE_WORKER_FUNCTION } from '../../src/stages/merge.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

/** Write real pickles with Debian's python3 + numpy (see test/helpers/make-chunk-pickle.py). */
function writePickles(jobs: object[]): void {
  const r = spawnSync('/usr/bin/python3', [resolve('test/helpers/make-chunk-pickle.py')], { input: JSON.stringify(jobs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-chunk-pickle.py failed: ${r.stderr}`);
}

/**
 * Three chunks of a 50-frame video (own frames 0-19, 20-39, 40-49; 5 overlap frames in front
 * of chunks 1 and 2) with one person walking through all of them, and another entering late.
 */
function writeJob(dir: string, firstFrameOf: (chunk: number, start: number) => number = (_c, s) => s): MergeChunk[] {
  const layout: Array<[number, number, number]> = [
    [0, 20, 0],
    [20, 20, 5],
    [40, 10, 5],
  ];
  const chunks: MergeChunk[] = [];
  const jobs = layout.map(([firstFrame, frameCount, overlapFrames], index) => {
    const start = firstFrame - overlapFrames;
    const rows = [];
    for (let f = start; f < firstFrame + frameCount; f++) {
      rows.push({ frame: f - start, track: 1, bbox: [10 + 2 * f, 50, 40, 80], score: 0.9, extras: { keypoints2d: [[f, f, 1]] } });
      if (f >= 30) rows.push({ frame: f - start, track: 2, bbox: [400, 60, 30, 70], score: 0.7, extras: { keypoints2d: [[1, 2, 3]] } });
    }
    const resultPath = join(dir, 'chunks', `${String(index).padStart(4, '0')}.pkl`);
    chunks.push({ index, resultPath, firstFrame, frameCount, overlapFrames });
    const header = { schema: 'posepipe.chunk/1', backend: 'test', backend_version: '0', device: 'cpu', first_frame: firstFrameOf(index, start), frame_count: frameCount + overlapFrames, width: 640, height: 480 };
    return { out: resultPath, chunk: { ...header, rows, extraShapes: { keypoints2d: [1, 3] } } };
  });
  mkdirSync(join(dir, 'chunks'), { recursive: true });
  writePickles(jobs);
  return chunks;
}

let ws: Workspace;
let pool: Piscina;
beforeAll(() => {
  pool = createMergePool();
});
afterAll(async () => {
  await pool.close();
  await closeMergePool();
});
beforeEach(() => {
  ws = makeWorkspace('merge-stage');
});
afterEach(() => ws.cleanup());

describe('merge stage', () => {
  it('runs the merge in a worker thread and writes merge.json: each chunk\'s file, its id map, the tracks', async () => {
    const chunks = writeJob(ws.root);
    const before = pool.completed;
    const out = await merge({ jobDir: ws.root, chunks, totalFrames: 50, pool });
    expect(pool.completed).toBe(before + 1);
    const written = readFileSync(join(ws.root, 'merge.json'), 'utf8');
    // The recorded size and hash are those of the file on disk: startup reconciliation relies on them.
    expect(out).toEqual({ file: 'merge.json', tracks: 2, persons: 50 + 20, bytes: Buffer.byteLength(written), sha256: createHash('sha256').update(written).digest('hex') });
    const index = JSON.parse(written) as MergeIndex;
    expect(index.frameCount).toBe(50);
    expect(index.tracks).toEqual([
      { id: 1, firstFrame: 0, lastFrame: 49, frames: 50 },
      { id: 2, firstFrame: 30, lastFrame: 49, frames: 20 },
    ]);
    // Each chunk's result as it was merged (relative to the job folder) and its local -> final ids.
    expect(index.chunks.map(({ index: i, result, firstFrame, frameCount, overlapFrames, ids }) => ({ i, result, firstFrame, frameCount, overlapFrames, ids }))).toEqual([
      { i: 0, result: 'chunks/0000.pkl', firstFrame: 0, frameCount: 20, overlapFrames: 0, ids: [[1, 1]] },
      { i: 1, result: 'chunks/0001.pkl', firstFrame: 20, frameCount: 20, overlapFrames: 5, ids: [[1, 1], [2, 2]] },
      { i: 2, result: 'chunks/0002.pkl', firstFrame: 40, frameCount: 10, overlapFrames: 5, ids: [[1, 1], [2, 2]] },
    ]);
    for (const c of index.chunks) {
      const bytes = readFileSync(join(ws.root, c.result));
      expect([c.bytes, c.sha256]).toEqual([bytes.length, createHash('sha256').update(bytes).digest('hex')]);
    }
    // Nothing of the frames themselves: the index stays small whatever the video's length.
    expect(written.length).toBeLessThan(3_000);
    // The ids and tracks are exactly what the pure merge gives in this thread.
    const inputs = await Promise.all(chunks.map(async (chunk) => ({ chunk, result: await readChunkPickle(chunk.resultPath) })));
    const merged = mergeChunks(inputs, 50);
    expect(index.tracks).toEqual(merged.tracks);
    expect(index.persons).toBe(merged.frames.reduce((n, f) => n + f.persons.length, 0));
    // The picture index: the frames pickFrames picks from the merged frames, with their boxes.
    expect(index.pictures.frames.map((f) => f.index)).toEqual(pickFrames(merged.frames, 8));
    for (const f of index.pictures.frames) expect(f.persons).toEqual(merged.frames[f.index]!.persons.map(({ track, bbox, score }) => ({ track, bbox, score })));
  });

  it("caches the status page's pictures beside merge.json, as loadPictures would compute them", async () => {
    const chunks = writeJob(ws.root);
    const facts = { width: 640, height: 480, fps: 25, frameCount: 50 };
    await merge({ jobDir: ws.root, chunks, totalFrames: 50, pool, pictureFacts: facts });
    const cacheFile = join(ws.root, 'pictures.json');
    const cached = readFileSync(cacheFile, 'utf8');
    const fromCache = await loadPictures(ws.root, facts);
    // The page read the cache: it was not rewritten.
    expect(readFileSync(cacheFile, 'utf8')).toBe(cached);
    expect(fromCache!.tracks.map((t) => t.id)).toEqual([1, 2]);
    expect(fromCache!.frames.length).toBeGreaterThan(0);
    // And it holds exactly what the page would have computed itself from merge.json.
    rmSync(cacheFile);
    expect(await loadPictures(ws.root, facts)).toEqual(fromCache);
  });

  it('the worker function runs on another thread', async () => {
    const chunks = writeJob(ws.root);
    const task: MergeTask = { task: 'merge', jobDir: ws.root, chunks, totalFrames: 50, iouThreshold: 0.5 };
    const reply = (await pool.run(task, { filename: MERGE_WORKER_FILE, name: MERGE_WORKER_FUNCTION })) as WorkerReply;
    expect(reply.ok).toBe(true);
    expect(reply.threadId).not.toBe(threadId);
    expect(reply.peakBytes).toBeGreaterThan(0);
  });

  it('gives identical bytes on a second run and leaves no temp file', async () => {
    const chunks = writeJob(ws.root);
    await merge({ jobDir: ws.root, chunks, totalFrames: 50, pool });
    const first = readFileSync(join(ws.root, 'merge.json'));
    const firstInode = statSync(join(ws.root, 'merge.json')).ino;
    await merge({ jobDir: ws.root, chunks, totalFrames: 50, pool });
    expect(readFileSync(join(ws.root, 'merge.json')).equals(first)).toBe(true);
    // Replaced by rename, not rewritten in place.
    expect(statSync(join(ws.root, 'merge.json')).ino).not.toBe(firstInode);
    expect(readdirSync(ws.root).sort()).toEqual(['chunks', 'home', 'inbox', 'merge.json', 'outbox']);
  });

  it('works without a pool (its own, closed by closeMergePool)', async () => {
    const chunks = writeJob(ws.root);
    const out = await merge({ jobDir: ws.root, chunks, totalFrames: 50 });
    expect(out.tracks).toBe(2);
    await closeMergePool();
  });

  it('a truncated chunk pickle fails the merge naming the chunk and file; nothing is written', async () => {
    const chunks = writeJob(ws.root);
    const damaged = chunks[1]!.resultPath;
    truncateSync(damaged, Math.floor(statSync(damaged).size / 2));
    const error = await merge({ jobDir: ws.root, chunks, totalFrames: 50, pool }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChunkResultError);
    expect((error as ChunkResultError).chunkIndex).toBe(1);
    expect((error as ChunkResultError).file).toBe(damaged);
    expect((error as ChunkResultError).kind).toBe('internal');
    expect((error as Error).message).toMatch(new RegExp(`^chunk 2: truncated or corrupt pickle \\(.*\\) in ${damaged}$`));
    expect(existsSync(join(ws.root, 'merge.json'))).toBe(false);
  });

  it('a chunk whose first_frame disagrees with its row fails, naming the chunk', async () => {
    const chunks = writeJob(ws.root, (chunk, start) => (chunk === 2 ? start + 1 : start));
    const error = await merge({ jobDir: ws.root, chunks, totalFrames: 50, pool }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChunkResultError);
    expect((error as Error).message).toBe(`chunk 3: first_frame is 36, expected 35 (first own frame 40 - overlap 5) in ${chunks[2]!.resultPath}`);
  });

  it('checks the frames the worker reports before writing anything', async () => {
    // A stand-in pool whose worker claims a gap: the stage must not trust it.
    const chunk = (index: number, firstFrame: number) => ({ index, result: `${index}.pkl`, bytes: 1, sha256: '', firstFrame, frameCount: 1, overlapFrames: 0, ids: [] });
    const index = { version: 1, frameCount: 2, persons: 0, tracks: [], chunks: [chunk(0, 0), chunk(1, 2)], pictures: { frames: [], tracks: [], moreTracks: 0 } };
    const gappy = { run: async () => ({ ok: true, task: 'merge', index, threadId: 1, peakBytes: 1 }) } as unknown as Piscina;
    await expect(merge({ jobDir: ws.root, chunks: [], totalFrames: 2, pool: gappy })).rejects.toThrow('Merge produced chunks that do not cover frames 0..1: Cannot merge: chunk 2 starts at frame 2, expected 1');
    await expect(merge({ jobDir: ws.root, chunks: [], totalFrames: 3, pool: gappy })).rejects.toThrow('Merge produced 2 frames, expected 3');
    expect(existsSync(join(ws.root, 'merge.json'))).toBe(false);
  });

  it('chunks that do not cover the video fail before anything is written', async () => {
    const chunks = writeJob(ws.root);
    await expect(merge({ jobDir: ws.root, chunks, totalFrames: 60, pool })).rejects.toThrow('Cannot merge: chunks cover frames 0..49, expected 0..59');
    expect(existsSync(join(ws.root, 'merge.json'))).toBe(false);
  });
});
