import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/errors.ts';
import { loadPictures, type Pictures } from '../../src/pictures/index.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';
import { boxOf1, mergedResult, writeMerged } from './merged-fixture.ts';

const workspace = workspacesPerTest();
const FACTS = { width: 160, height: 120, fps: 25, frameCount: 120 };

function jobDir(): string {
  const dir = join(workspace('pictures').home, 'jobs', '7');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Replace moreTracks in pictures.json, leaving its key alone: a later load that returns it read the cache. */
function tamperCache(dir: string, moreTracks: number): void {
  const file = join(dir, 'pictures.json');
  const cache = JSON.parse(readFileSync(file, 'utf8')) as { pictures: Pictures };
  cache.pictures.moreTracks = moreTracks;
  writeFileSync(file, JSON.stringify(cache));
}

describe('loadPictures', () => {
  it('is undefined before the merge, and writes nothing', async () => {
    const dir = jobDir();
    expect(await loadPictures(dir, FACTS)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a job merged by an older posepipe (merged.json, no merge.json) keeps the pictures it cached then, and merged.json itself is never read', async () => {
    const dir = jobDir();
    writeMerged(dir);
    const pictures = (await loadPictures(dir, FACTS))!;
    // As the older posepipe left it: merged.json (unreadable here, to show it is not parsed) and its cache, keyed on it.
    const cache = JSON.parse(readFileSync(join(dir, 'pictures.json'), 'utf8')) as { version: number; merged: { size: number; mtimeNs: string } };
    writeFileSync(join(dir, 'merged.json'), 'not json: never parsed');
    const info = statSync(join(dir, 'merged.json'), { bigint: true });
    writeFileSync(join(dir, 'pictures.json'), JSON.stringify({ ...cache, version: 1, merged: { size: Number(info.size), mtimeNs: info.mtimeNs.toString() } }));
    rmSync(join(dir, 'merge.json'));
    expect(await loadPictures(dir, FACTS)).toEqual(pictures);
    // merged.json changed since: no pictures (until the job is merged again), and no error.
    writeFileSync(join(dir, 'merged.json'), 'not json either, and longer');
    expect(await loadPictures(dir, FACTS)).toBeUndefined();
  });

  it('picks frames with people, keeps only what is drawn, and finds each track runs', async () => {
    const dir = jobDir();
    writeMerged(dir);
    const pictures = (await loadPictures(dir, FACTS))!;
    expect(pictures).toMatchObject({ width: 160, height: 120, fps: 25, frameCount: 120, moreTracks: 0 });
    // 81 frames have people (10..89 and 100): the middles of 8 equal slices of them.
    expect(pictures.frames.map((f) => f.index)).toEqual([15, 25, 35, 45, 55, 65, 75, 85]);
    const frame45 = pictures.frames[3]!;
    expect(frame45.time).toBe(45 / 25);
    expect(frame45.persons).toEqual([
      { track: 1, bbox: boxOf1(45), score: 0.9 },
      { track: 2, bbox: [100, 30, 50, 80], score: 0.75 },
    ]);
    expect(pictures.tracks).toEqual([
      { id: 1, frames: 80, runs: [[10, 89]] },
      { id: 2, frames: 30, runs: [[40, 59], [70, 79]] },
      { id: 3, frames: 1, runs: [[100, 100]] },
    ]);
  });

  it('leaves out a box with nulls but still picks its frame', async () => {
    const dir = jobDir();
    const result = mergedResult();
    for (const frame of result.frames) if (frame.index !== 100) frame.persons = [];
    writeMerged(dir, result);
    const pictures = (await loadPictures(dir, FACTS))!;
    expect(pictures.frames).toEqual([{ index: 100, time: 4, persons: [] }]);
    expect(pictures.tracks).toEqual([{ id: 3, frames: 1, runs: [[100, 100]] }]);
  });

  it('caches in pictures.json and recomputes when merge.json changes size or mtime, or the facts change', async () => {
    const dir = jobDir();
    const merged = writeMerged(dir);
    expect((await loadPictures(dir, FACTS))!.moreTracks).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['merge.json', 'pictures.json']);

    tamperCache(dir, 99);
    expect((await loadPictures(dir, FACTS))!.moreTracks).toBe(99);

    // Same size, other mtime.
    const { mtime } = statSync(merged);
    utimesSync(merged, mtime, new Date(mtime.getTime() - 60_000));
    expect((await loadPictures(dir, FACTS))!.moreTracks).toBe(0);

    // Other size (one more track), same mtime.
    tamperCache(dir, 99);
    const result = mergedResult();
    result.frames[5]!.persons.push({ track: 9, bbox: [1, 2, 3, 4], score: 0.5 });
    const before = statSync(merged).mtime;
    writeMerged(dir, result);
    utimesSync(merged, before, before);
    const changed = (await loadPictures(dir, FACTS))!;
    expect(changed.moreTracks).toBe(0);
    expect(changed.tracks.map((t) => t.id)).toEqual([9, 1, 2, 3]);

    // Other facts.
    tamperCache(dir, 99);
    const faster = (await loadPictures(dir, { ...FACTS, fps: 50 }))!;
    expect(faster.moreTracks).toBe(0);
    expect(faster.frames.map((f) => f.time)).toEqual(faster.frames.map((f) => f.index / 50));
  });

  it('recomputes over a damaged cache and rewrites it', async () => {
    const dir = jobDir();
    writeMerged(dir);
    writeFileSync(join(dir, 'pictures.json'), '{"version":1,"merged":');
    expect((await loadPictures(dir, FACTS))!.tracks).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(dir, 'pictures.json'), 'utf8')).pictures.tracks).toHaveLength(3);
  });

  it('concurrent loads of one job agree and leave one cache file, no temp files', async () => {
    const dir = jobDir();
    writeMerged(dir);
    const all = await Promise.all(Array.from({ length: 6 }, () => loadPictures(dir, FACTS)));
    for (const p of all) expect(p).toEqual(all[0]);
    expect(readdirSync(dir).sort()).toEqual(['merge.json', 'pictures.json']);
  });

  it('rejects a merge.json without a sound picture index, and nonsense facts', async () => {
    const dir = jobDir();
    const write = (pictures: unknown) => writeFileSync(join(dir, 'merge.json'), JSON.stringify({ version: 1, pictures }));
    writeFileSync(join(dir, 'merge.json'), '{"pictures":');
    await expect(loadPictures(dir, FACTS)).rejects.toBeInstanceOf(PipelineError);
    write(undefined);
    await expect(loadPictures(dir, FACTS)).rejects.toThrow(/has no picture index/);
    write({ frames: [{ index: 0, persons: [{ track: '1', bbox: [1, 2, 3, 4], score: 1 }] }], tracks: [], moreTracks: 0 });
    await expect(loadPictures(dir, FACTS)).rejects.toThrow(/track "1"/);
    write({ frames: [{ index: 0, persons: [] }, { index: 0, persons: [] }], tracks: [], moreTracks: 0 });
    await expect(loadPictures(dir, FACTS)).rejects.toThrow(/frame 0 appears twice/);
    write({ frames: [], tracks: [{ id: 1, frames: 2, runs: [[0, 'x']] }], moreTracks: 0 });
    await expect(loadPictures(dir, FACTS)).rejects.toThrow(/track 1 has runs that are not frame ranges/);
    expect(existsSync(join(dir, 'pictures.json'))).toBe(false);
    for (const bad of [{ fps: 0 }, { fps: Number.NaN }, { width: -1 }, { frameCount: 1.5 }]) {
      await expect(loadPictures(dir, { ...FACTS, ...bad })).rejects.toBeInstanceOf(TypeError);
    }
  });
});
