import { describe, expect, it } from 'vitest';
import { cleanCutPoints, planChunks, type Packet } from '../../src/media/plan-cuts.ts';

/** Packets in decode order from "pts" words, "K" marking keyframes: "0K, 3, 1, 2". */
function packets(spec: string): Packet[] {
  return spec.split(/\s*,\s*/).map((word) => ({ pts: Number(word.replace('K', '')), keyframe: word.endsWith('K'), discard: false }));
}

describe('cleanCutPoints', () => {
  it('closed GOPs with B-frames: every keyframe is a cut point at its frame index', () => {
    // decode order I P B B | I P B B, shown 0..7
    expect(cleanCutPoints(packets('0K, 3, 1, 2, 4K, 7, 5, 6'))).toEqual([0, 4]);
  });

  it('an open-GOP keyframe (leading B-frames after it in decode order) is not a cut point', () => {
    // the second keyframe is shown at 6, after B-frames 4 and 5 that follow it in decode order
    expect(cleanCutPoints(packets('0K, 3, 1, 2, 6K, 4, 5, 7'))).toEqual([0]);
  });

  it('no copy at all without timestamps, with discarded packets, or without a keyframe first', () => {
    expect(cleanCutPoints([])).toBeNull();
    expect(cleanCutPoints(packets('1, 0K, 2K'))).toBeNull();
    expect(cleanCutPoints([{ pts: 0, keyframe: true, discard: false }, { pts: null, keyframe: false, discard: false }])).toBeNull();
    expect(cleanCutPoints([{ pts: 0, keyframe: true, discard: true }, { pts: 1, keyframe: true, discard: false }])).toBeNull();
  });
});

describe('planChunks', () => {
  it('keyframes every 25, target 60: the last keyframe past half the target, never over it', () => {
    const points = Array.from({ length: 8 }, (_, i) => i * 25);
    expect(planChunks(200, points, 60)).toEqual([50, 50, 50, 50]);
  });

  it('x264 default GOP of 205, target 500: chunks of 410 and a shorter tail', () => {
    const points = Array.from({ length: 15 }, (_, i) => i * 205);
    expect(planChunks(3000, points, 500)).toEqual([410, 410, 410, 410, 410, 410, 410, 130]);
  });

  it('no keyframe in the second half of the target: the first one after it, up to 1.5x', () => {
    expect(planChunks(300, [0, 40, 140, 250], 100)).toEqual([140, 110, 50]);
  });

  it('null when a chunk would exceed 1.5x the target', () => {
    expect(planChunks(150, [0], 25)).toBeNull();
    expect(planChunks(205, [0, 150], 50)).toBeNull();
    expect(planChunks(400, [0, 200], 100)).toBeNull();
  });

  it('a short source, or a tail within 1.5x, is one chunk', () => {
    expect(planChunks(90, [0], 100)).toEqual([90]);
    expect(planChunks(140, [0], 100)).toEqual([140]);
    expect(planChunks(1, [0], 1)).toEqual([1]);
  });

  it('target 1 with a keyframe on every frame', () => {
    expect(planChunks(3, [0, 1, 2], 1)).toEqual([1, 1, 1]);
  });
});
