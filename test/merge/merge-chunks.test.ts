import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChunkResultError, iou, joinTracks, type MergeChunk, mergeChunks, type MergeResult, readChunkPickle } from '../../src/merge/index.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

/** Write real pickles with Debian's python3 + numpy (see test/helpers/make-chunk-pickle.py). */
function writePickles(jobs: object[]): void {
  const r = spawnSync('/usr/bin/python3', [resolve('test/helpers/make-chunk-pickle.py')], { input: JSON.stringify(jobs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-chunk-pickle.py failed: ${r.stderr}`);
}

type Box = [number, number, number, number];

/** A synthetic person: seen in absolute frames [from, to], box a function of the frame. */
interface Actor {
  name: string;
  from: number;
  to: number;
  box: (frame: number) => Box;
  /** Chunks (by index) whose tracker does not see this actor, and frames it misses per chunk. */
  unseenIn?: (chunk: number, frame: number) => boolean;
}

interface Scenario {
  totalFrames: number;
  /** [firstFrame, frameCount, overlapFrames] per chunk. */
  layout: Array<[number, number, number]>;
  actors: Actor[];
  /** Shift the later chunks' boxes by this many px, so a test can tell whose data was kept. */
  laterShift?: number;
}

/**
 * Write one pickle per chunk as the worker would: local track ids restart at 1 in every chunk
 * and are given in reverse actor order, so they never equal the global ids by accident.
 */
function writeScenario(dir: string, s: Scenario, header: Partial<Record<string, number>> = {}): MergeChunk[] {
  const chunks: MergeChunk[] = [];
  const jobs = s.layout.map(([firstFrame, frameCount, overlapFrames], index) => {
    const start = firstFrame - overlapFrames;
    const visible = (a: Actor, f: number) => f >= a.from && f <= a.to && !(a.unseenIn?.(index, f) ?? false);
    const present = s.actors.filter((a) => Array.from({ length: frameCount + overlapFrames }, (_, k) => start + k).some((f) => visible(a, f)));
    const localId = new Map(present.map((a, k) => [a.name, present.length - k]));
    const rows = [];
    for (let f = start; f < firstFrame + frameCount; f++) {
      const here = present.filter((a) => visible(a, f)).sort((a, b) => localId.get(a.name)! - localId.get(b.name)!);
      for (const a of here) {
        const shift = index > 0 ? (s.laterShift ?? 0) : 0;
        const [x, y, w, h] = a.box(f);
        rows.push({ frame: f - start, track: localId.get(a.name)!, bbox: [x + shift, y, w, h], score: 0.5 + f / 1000, extras: { keypoints2d: [[x, y, 1 / 3]] } });
      }
    }
    const resultPath = join(dir, `chunk-${index}.pkl`);
    chunks.push({ index, resultPath, firstFrame, frameCount, overlapFrames });
    const chunk = { schema: 'posepipe.chunk/1', backend: 'test', backend_version: '0', device: 'cpu', first_frame: start, frame_count: frameCount + overlapFrames, width: 640, height: 480, rows, extraShapes: { keypoints2d: [1, 3] }, ...header };
    return { out: resultPath, chunk };
  });
  writePickles(jobs);
  return chunks;
}

async function mergeScenario(chunks: MergeChunk[], totalFrames: number, threshold?: number): Promise<MergeResult> {
  const inputs = await Promise.all(chunks.map(async (chunk) => ({ chunk, result: await readChunkPickle(chunk.resultPath) })));
  return mergeChunks(inputs, totalFrames, threshold);
}

/** track id -> frames where it is seen. */
function framesOf(merged: MergeResult): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const frame of merged.frames) for (const p of frame.persons) out.set(p.track, [...(out.get(p.track) ?? []), frame.index]);
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

const walker = (name: string, from: number, to: number, x0: number, dx: number, y = 100): Actor => ({ name, from, to, box: (f) => [x0 + dx * f, y, 40, 80] });

let ws: Workspace;
beforeEach(() => {
  ws = makeWorkspace('merge');
});
afterEach(() => ws.cleanup());

const THREE_CHUNKS: Array<[number, number, number]> = [
  [0, 20, 0],
  [20, 20, 5],
  [40, 10, 5],
];

describe('mergeChunks', () => {
  it('keeps one id for a person walking across two boundaries; overlap frames come from the earlier chunk', async () => {
    const chunks = writeScenario(ws.root, { totalFrames: 50, layout: THREE_CHUNKS, actors: [walker('a', 0, 49, 10, 2)], laterShift: 1 });
    const merged = await mergeScenario(chunks, 50);
    expect(merged.frames.map((f) => f.index)).toEqual(range(0, 49));
    expect(merged.tracks).toEqual([{ id: 1, firstFrame: 0, lastFrame: 49, frames: 50 }]);
    expect(merged.frames.every((f) => f.persons.length === 1 && f.persons[0]!.track === 1)).toBe(true);
    // Frame 19 is chunk 0's own frame (and chunk 1's overlap): chunk 0's box, unshifted.
    expect(merged.frames[19]!.persons[0]!.bbox).toEqual([48, 100, 40, 80]);
    // Frame 20 is chunk 1's own first frame: its shifted box.
    expect(merged.frames[20]!.persons[0]!.bbox).toEqual([51, 100, 40, 80]);
    expect(merged.frames[20]!.persons[0]!.keypoints2d).toEqual([[50, 100, 0.3333]]);
  });

  it('keeps two people apart when they cross inside the overlap', async () => {
    // a walks right, b walks left; they meet around frame 18, inside chunk 1's overlap (15..19).
    const actors = [walker('a', 0, 39, 0, 5), walker('b', 0, 39, 180, -5)];
    const chunks = writeScenario(ws.root, { totalFrames: 40, layout: [[0, 20, 0], [20, 20, 5]], actors });
    const merged = await mergeScenario(chunks, 40);
    expect(merged.tracks.map((t) => [t.id, t.firstFrame, t.lastFrame, t.frames])).toEqual([
      [1, 0, 39, 40],
      [2, 0, 39, 40],
    ]);
    // Id 1 is the leftmost at frame 0 (a); at the end a is on the right.
    const at = (frame: number, track: number) => merged.frames[frame]!.persons.find((p) => p.track === track)!.bbox[0];
    expect(at(0, 1)).toBe(0);
    expect(at(39, 1)).toBe(195);
    expect(at(39, 2)).toBe(-15);
  });

  it('joins a track the earlier chunk loses inside the overlap; it is absent where the earlier chunk missed it', async () => {
    const a: Actor = { ...walker('a', 0, 39, 10, 1), unseenIn: (chunk, f) => chunk === 0 && f >= 17 };
    const chunks = writeScenario(ws.root, { totalFrames: 40, layout: [[0, 20, 0], [20, 20, 5]], actors: [a, walker('b', 0, 39, 300, 0)] });
    const merged = await mergeScenario(chunks, 40);
    const seen = framesOf(merged);
    expect(merged.tracks.length).toBe(2);
    expect(seen.get(1)).toEqual([...range(0, 16), ...range(20, 39)]);
    expect(merged.tracks[0]).toEqual({ id: 1, firstFrame: 0, lastFrame: 39, frames: 37 });
    expect(seen.get(2)).toEqual(range(0, 39));
  });

  it('gives a new id to a person who appears only in the later chunk, and ignores later rows inside the overlap', async () => {
    const actors = [walker('a', 0, 39, 10, 0), walker('late', 25, 39, 300, 0), walker('ghost', 16, 18, 500, 0)];
    // "ghost" is seen only by chunk 1, only inside its overlap: those rows are used for joining only.
    const chunks = writeScenario(ws.root, { totalFrames: 40, layout: [[0, 20, 0], [20, 20, 5]], actors: actors.map((x) => (x.name === 'ghost' ? { ...x, unseenIn: (c) => c === 0 } : x)) });
    const merged = await mergeScenario(chunks, 40);
    expect(merged.tracks).toEqual([
      { id: 1, firstFrame: 0, lastFrame: 39, frames: 40 },
      { id: 2, firstFrame: 25, lastFrame: 39, frames: 15 },
    ]);
    expect(merged.frames.slice(15, 20).every((f) => f.persons.length === 1)).toBe(true);
  });

  it('handles empty chunks: no persons there, and no join across them', async () => {
    const a: Actor = { ...walker('a', 0, 49, 10, 0), unseenIn: (chunk) => chunk === 1 };
    const chunks = writeScenario(ws.root, { totalFrames: 50, layout: THREE_CHUNKS, actors: [a] });
    expect((await readChunkPickle(chunks[1]!.resultPath)).rows).toBe(0);
    const merged = await mergeScenario(chunks, 50);
    expect(merged.frames.length).toBe(50);
    expect(merged.frames.slice(20, 40).every((f) => f.persons.length === 0)).toBe(true);
    expect(merged.tracks).toEqual([
      { id: 1, firstFrame: 0, lastFrame: 19, frames: 20 },
      { id: 2, firstFrame: 40, lastFrame: 49, frames: 10 },
    ]);
  });

  it('numbers ids by first appearance (frame, then box x) and sorts persons by id', async () => {
    const actors = [walker('right', 0, 29, 400, 0), walker('left', 0, 29, 50, 0), walker('later', 3, 29, 10, 0)];
    const chunks = writeScenario(ws.root, { totalFrames: 30, layout: [[0, 10, 0], [10, 20, 4]], actors });
    const merged = await mergeScenario(chunks, 30);
    expect(merged.frames[5]!.persons.map((p) => [p.track, p.bbox[0]])).toEqual([
      [1, 50],
      [2, 400],
      [3, 10],
    ]);
  });

  it('rounds bbox to 2 decimals, score and extras to 4', async () => {
    const odd: Actor = { name: 'odd', from: 0, to: 9, box: () => [10.123456, 20.987654, 30.0061, 40.3333] };
    const chunks = writeScenario(ws.root, { totalFrames: 10, layout: [[0, 10, 0]], actors: [odd] });
    const merged = await mergeScenario(chunks, 10);
    const p = merged.frames[7]!.persons[0]!;
    expect(p.bbox).toEqual([10.12, 20.99, 30.01, 40.33]);
    expect(p.score).toBe(0.507);
    expect(p.keypoints2d).toEqual([[10.1235, 20.9877, 0.3333]]);
  });

  it('is deterministic: same input, and chunks given in any order, give identical JSON', async () => {
    const actors = [walker('a', 0, 49, 0, 3), walker('b', 5, 45, 150, -2), walker('c', 22, 49, 300, 1)];
    const chunks = writeScenario(ws.root, { totalFrames: 50, layout: THREE_CHUNKS, actors });
    const first = JSON.stringify(await mergeScenario(chunks, 50));
    expect(JSON.stringify(await mergeScenario(chunks, 50))).toBe(first);
    expect(JSON.stringify(await mergeScenario([...chunks].reverse(), 50))).toBe(first);
    expect(JSON.parse(first).tracks.length).toBe(3);
  });

  it('honours the IoU threshold: boxes shifted between chunks do not join at 0.99', async () => {
    const chunks = writeScenario(ws.root, { totalFrames: 40, layout: [[0, 20, 0], [20, 20, 5]], actors: [walker('a', 0, 39, 10, 0)], laterShift: 4 });
    expect((await mergeScenario(chunks, 40)).tracks.length).toBe(1);
    expect((await mergeScenario(chunks, 40, 0.99)).tracks.map((t) => [t.firstFrame, t.lastFrame])).toEqual([
      [0, 19],
      [20, 39],
    ]);
  });

  it('refuses a chunk whose first_frame or frame_count disagrees with its row, naming the chunk', async () => {
    const layout: Array<[number, number, number]> = [[0, 20, 0], [20, 20, 5]];
    const good = writeScenario(ws.root, { totalFrames: 40, layout, actors: [walker('a', 0, 39, 10, 0)] });
    const inputs = await Promise.all(good.map(async (chunk) => ({ chunk, result: await readChunkPickle(chunk.resultPath) })));
    const shifted = inputs.map((x, i) => (i === 1 ? { ...x, result: { ...x.result, firstFrame: 20 } } : x));
    expect(() => mergeChunks(shifted, 40)).toThrow(ChunkResultError);
    expect(() => mergeChunks(shifted, 40)).toThrow(`chunk 2: first_frame is 20, expected 15 (first own frame 20 - overlap 5) in ${good[1]!.resultPath}`);
    const short = inputs.map((x, i) => (i === 1 ? { ...x, result: { ...x.result, frameCount: 20 } } : x));
    expect(() => mergeChunks(short, 40)).toThrow(/chunk 2: frame_count is 20, expected 25/);
  });

  it('refuses chunk rows that do not tile the video', async () => {
    const chunks = writeScenario(ws.root, { totalFrames: 40, layout: [[0, 20, 0], [20, 20, 5]], actors: [] });
    const inputs = await Promise.all(chunks.map(async (chunk) => ({ chunk, result: await readChunkPickle(chunk.resultPath) })));
    expect(() => mergeChunks(inputs, 41)).toThrow('Cannot merge: chunks cover frames 0..39, expected 0..40');
    const gap = inputs.map((x, i) => (i === 1 ? { ...x, chunk: { ...x.chunk, firstFrame: 21 } } : x));
    expect(() => mergeChunks(gap, 40)).toThrow('Cannot merge: chunk 2 starts at frame 21, expected 20');
    const tooMuch = inputs.map((x, i) => (i === 1 ? { ...x, chunk: { ...x.chunk, overlapFrames: 21 } } : x));
    expect(() => mergeChunks(tooMuch, 40)).toThrow('Cannot merge: chunk 2 has 21 overlap frames, expected 0..20');
  });
});

describe('joinTracks', () => {
  const box = (frame: number, track: number, x: number) => ({ frame, track, x, y: 0, w: 10, h: 10 });

  it('computes IoU of x, y, w, h boxes', () => {
    expect(iou(box(0, 1, 0), box(0, 2, 0))).toBe(1);
    expect(iou(box(0, 1, 0), box(0, 2, 5))).toBeCloseTo(50 / 150);
    expect(iou(box(0, 1, 0), box(0, 2, 10))).toBe(0);
  });

  it('prefers the pair with more agreeing frames, and breaks ties deterministically', () => {
    // Earlier 1 agrees with later 7 in two frames, with later 8 in one: 1 -> 7, and 2 -> 8.
    const earlier = [box(0, 1, 0), box(1, 1, 0), box(2, 1, 0), box(2, 2, 1)];
    const later = [box(0, 7, 0), box(1, 7, 0), box(2, 8, 0)];
    expect([...joinTracks(earlier, later, 0.5)]).toEqual([
      [7, 1],
      [8, 2],
    ]);
    // Votes count before IoU: 3 frames at IoU 0.54 beat 2 frames at IoU 1.
    const e1 = [0, 1, 2, 3, 4].map((f) => box(f, 1, 0));
    const contested = [box(0, 7, 3), box(1, 7, 3), box(2, 7, 3), box(3, 8, 0), box(4, 8, 0)];
    expect([...joinTracks(e1, contested, 0.5)]).toEqual([[7, 1]]);
    // Two identical candidates: the lower earlier id wins.
    expect([...joinTracks([box(0, 2, 0), box(0, 1, 0)], [box(0, 5, 0)], 0.5)]).toEqual([[5, 1]]);
  });

  it('lets a pair formed on a shared box give way to the two pairs that agree once the people part (issue 12)', () => {
    // Two people under one detection in overlap frames 0..5, apart in 6..9. Earlier 1 had the
    // shared box and then stays with the left person; earlier 2 is the right one once apart.
    // Later 7 had the shared box and then follows the right person; later 8 is the left one.
    const f = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
    const earlier = [...f(0, 9).map((k) => box(k, 1, 0)), ...f(6, 9).map((k) => box(k, 2, 20))];
    const later = [...f(0, 5).map((k) => box(k, 7, 0)), ...f(6, 9).map((k) => box(k, 7, 20)), ...f(6, 9).map((k) => box(k, 8, 0))];
    // Greedy voting alone would pair 1 with 7 (6 shared frames) and leave 2 and 8 unjoined;
    // 1-8 and 2-7 agree in 4 + 4 frames.
    expect([...joinTracks(earlier, later, 0.5)].sort((p, q) => p[0] - q[0])).toEqual([
      [7, 2],
      [8, 1],
    ]);
    // Fewer frames apart than together: the shared pair stands (6 > 2 + 2).
    const shortApart = [...f(0, 7).map((k) => box(k, 1, 0)), ...f(6, 7).map((k) => box(k, 2, 20))];
    const laterShort = [...f(0, 5).map((k) => box(k, 7, 0)), ...f(6, 7).map((k) => box(k, 7, 20)), ...f(6, 7).map((k) => box(k, 8, 0))];
    expect([...joinTracks(shortApart, laterShort, 0.5)]).toEqual([[7, 1]]);
  });
});
