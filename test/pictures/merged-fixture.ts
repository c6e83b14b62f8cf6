/** A merged result for the pictures tests (MergeResult), and the merge.json the merge stage would write for it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MERGE_INDEX_VERSION, type MergeResult, type Person } from '../../src/merge/index.ts';
import { MERGE_INDEX_FILE } from '../../src/paths.ts';
import { pictureIndex } from '../../src/pictures/build-pictures.ts';

/** Box of track 1 in frame f: moves right one pixel per frame. */
export const boxOf1 = (f: number): [number, number, number, number] => [10 + f * 0.5, 20.25, 40, 60.5];

/**
 * 120 frames: track 1 in frames 10..89, track 2 in 40..59 and 70..79, track 3 only in frame 100
 * with a box that cannot be drawn (nulls). Persons carry a backend extra (keypoints2d) the
 * pictures must not copy.
 */
export function mergedResult(frameCount = 120): MergeResult {
  const frames = Array.from({ length: frameCount }, (_, index) => {
    const persons: Person[] = [];
    if (index >= 10 && index < 90) persons.push({ track: 1, bbox: boxOf1(index), score: 0.9, keypoints2d: [[1, 2, 0.5]] });
    if ((index >= 40 && index < 60) || (index >= 70 && index < 80)) persons.push({ track: 2, bbox: [100, 30, 50, 80], score: 0.75, keypoints2d: [[1, 2, 0.5]] });
    if (index === 100) persons.push({ track: 3, bbox: [null, null, null, null] as unknown as Person['bbox'], score: null as unknown as number });
    return { index, persons };
  });
  const tracks = [
    { id: 1, firstFrame: 10, lastFrame: 89, frames: 80 },
    { id: 2, firstFrame: 40, lastFrame: 79, frames: 30 },
    { id: 3, firstFrame: 100, lastFrame: 100, frames: 1 },
  ];
  return { frames, tracks };
}

/**
 * Write jobDir/merge.json for `result` as far as the page reads it: its picture index (what the
 * merge computes while streaming the chunk results; the same function of the frames) and tracks.
 */
export function writeMerged(jobDir: string, result: MergeResult = mergedResult()): string {
  const file = join(jobDir, MERGE_INDEX_FILE);
  const persons = result.frames.reduce((n, f) => n + f.persons.length, 0);
  writeFileSync(file, JSON.stringify({ version: MERGE_INDEX_VERSION, frameCount: result.frames.length, persons, tracks: result.tracks, chunks: [], pictures: pictureIndex(result, 'the fixture') }));
  return file;
}
