/** A merged.json for the pictures tests, shaped as src/merge writes it (MergeResult). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MergeResult, Person } from '../../src/merge/index.ts';

/** Box of track 1 in frame f: moves right one pixel per frame. */
export const boxOf1 = (f: number): [number, number, number, number] => [10 + f * 0.5, 20.25, 40, 60.5];

/**
 * 120 frames: track 1 in frames 10..89, track 2 in 40..59 and 70..79, track 3 only in frame 100
 * with a box the tracker could not give (nulls: NaN in the pickle). Persons carry a backend extra
 * (keypoints2d) the pictures must not copy.
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

/** Write `result` as jobDir/merged.json (compact, as the merge stage does). */
export function writeMerged(jobDir: string, result: MergeResult = mergedResult()): string {
  const file = join(jobDir, 'merged.json');
  writeFileSync(file, JSON.stringify(result));
  return file;
}
