import { describe, expect, it } from 'vitest';
import { pickFrames } from '../../src/pictures/pick-frames.ts';
import { allTrackRuns, capRuns, shownTracks } from '../../src/pictures/track-runs.ts';

/** Frames 0..n-1 where `who(index)` lists the tracks present. */
function frames(n: number, who: (index: number) => number[]): Array<{ index: number; persons: Array<{ track: number }> }> {
  return Array.from({ length: n }, (_, index) => ({ index, persons: who(index).map((track) => ({ track })) }));
}

describe('pickFrames', () => {
  it('picks 8 frames evenly over the frames with people, never an empty one', () => {
    // People only in frames 100..199 of 300.
    const picked = pickFrames(frames(300, (i) => (i >= 100 && i < 200 ? [1] : [])), 8);
    expect(picked).toEqual([106, 118, 131, 143, 156, 168, 181, 193]);
  });

  it('picks evenly over all frames when nobody was tracked', () => {
    expect(pickFrames(frames(80, () => []), 8)).toEqual([5, 15, 25, 35, 45, 55, 65, 75]);
  });

  it('takes every frame with people when there are no more than 8, in order, whatever the input order', () => {
    const input = frames(50, (i) => (i % 10 === 3 ? [2] : [])).reverse();
    expect(pickFrames(input, 8)).toEqual([3, 13, 23, 33, 43]);
    expect(pickFrames([], 8)).toEqual([]);
  });
});

describe('allTrackRuns', () => {
  it('finds the maximal runs of consecutive frames of each track, counting a frame once', () => {
    const input = frames(12, (i) => [...(i < 3 || (i >= 5 && i < 7) || i === 11 ? [1] : []), ...(i >= 2 && i < 9 ? [2, 2] : [])]);
    const runs = allTrackRuns([...input].reverse());
    expect(runs.sort((a, b) => a.id - b.id)).toEqual([
      { id: 1, frames: 6, runs: [[0, 2], [5, 6], [11, 11]] },
      { id: 2, frames: 7, runs: [[2, 8]] },
    ]);
  });
});

describe('shownTracks', () => {
  it('shows the 30 tracks with most frames, ordered by first frame, and counts the rest', () => {
    // Track t (1..35) appears in frames t..t+t-1: t frames, first frame t. The 30 longest are 6..35.
    const input = frames(80, (i) => Array.from({ length: 35 }, (_, k) => k + 1).filter((t) => i >= t && i < 2 * t));
    const { tracks, moreTracks } = shownTracks(allTrackRuns(input));
    expect(moreTracks).toBe(5);
    expect(tracks.map((t) => t.id)).toEqual(Array.from({ length: 30 }, (_, k) => k + 6));
    expect(tracks[0]).toEqual({ id: 6, frames: 6, runs: [[6, 11]] });
  });

  it('breaks ties in frame count by the lower id, and orders equal first frames by id', () => {
    const input = frames(10, (i) => (i < 5 ? Array.from({ length: 32 }, (_, k) => 32 - k) : []));
    const { tracks, moreTracks } = shownTracks(allTrackRuns(input));
    expect(tracks.map((t) => t.id)).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
    expect(moreTracks).toBe(2);
  });
});

describe('capRuns', () => {
  it('merges the smallest gaps first (the earlier of equal gaps) until at most max runs are left', () => {
    const runs: Array<[number, number]> = [[0, 0], [5, 5], [7, 7], [9, 9], [20, 21], [23, 23]];
    // Gaps (frames between): 4, 1, 1, 10, 1.
    expect(capRuns(runs, 5)).toEqual([[0, 0], [5, 7], [9, 9], [20, 21], [23, 23]]);
    expect(capRuns(runs, 3)).toEqual([[0, 0], [5, 9], [20, 23]]);
    expect(capRuns(runs, 2)).toEqual([[0, 9], [20, 23]]);
    expect(capRuns(runs, 1)).toEqual([[0, 23]]);
    expect(capRuns(runs, 6)).toEqual(runs);
  });

  it('caps a track that flickers over four hours at 300 runs and keeps its true frame count', () => {
    // 4 h at 25 fps: the track is there for 10 frames out of every 37 (gaps of 27), plus a gap of 1 every 1000 frames.
    const n = 4 * 3600 * 25;
    const input = frames(n, (i) => (i % 37 < 10 && i % 1000 !== 500 ? [7] : []));
    const [all] = allTrackRuns(input);
    expect(all!.runs.length).toBeGreaterThan(9000);
    const { tracks } = shownTracks([all!]);
    expect(tracks[0]!.runs).toHaveLength(300);
    expect(tracks[0]!.frames).toBe(all!.frames);
    // Still in order and disjoint, covering the first and last appearance.
    const flat = tracks[0]!.runs.flat();
    expect(flat).toEqual([...flat].sort((a, b) => a - b));
    expect(flat[0]).toBe(all!.runs[0]![0]);
    expect(flat.at(-1)).toBe(all!.runs.at(-1)![1]);
  });
});
