/**
 * The pure merge: chunk results in, one frame-by-frame result with video-wide track ids out.
 * Overlap frames belong to the earlier chunk (its tracker is warmed up there); the later chunk's
 * rows in them only serve to join identities across the boundary, then are dropped.
 */
import { PipelineError } from '../errors.ts';
import { type OverlapBox, joinTracks } from './join-tracks.ts';
import { type ChunkResult, ChunkResultError } from './read-chunk-pickle.ts';
import type { NdArray } from './unpickle-numpy.ts';

/** Where one chunk sits in the video, as the chunk stage recorded it. */
export interface MergeChunk {
  index: number;
  /** Absolute path of the chunk's result pickle. */
  resultPath: string;
  /** Absolute index of the chunk's first own frame. */
  firstFrame: number;
  /** Own frames (overlap excluded). */
  frameCount: number;
  /** Frames of the previous chunk tracked in front of this one. */
  overlapFrames: number;
}

/** One person in one frame; backend extras (keypoints2d, joints3d, …) sit beside the fixed fields. */
export interface Person {
  track: number;
  bbox: [number, number, number, number];
  score: number;
  [extra: string]: unknown;
}

/** One frame of the merged result. */
export interface MergedFrame {
  index: number;
  persons: Person[];
}

/** A video-wide track: where it starts and ends and how many frames observe it. */
export interface TrackSummary {
  id: number;
  firstFrame: number;
  lastFrame: number;
  frames: number;
}

/** The merged result: exactly one entry per frame, 0..N-1; persons sorted by track. */
export interface MergeResult {
  frames: MergedFrame[];
  tracks: TrackSummary[];
}

/** The default IoU a box pair needs in an overlap frame to count as the same person. */
export const DEFAULT_IOU_THRESHOLD = 0.5;

/** Round to a fixed number of decimals so floats print the same on every run; NaN -> null. */
function round(value: number, decimals: 2 | 4): number | null {
  if (Number.isNaN(value)) return null;
  const factor = decimals === 2 ? 100 : 10_000;
  const r = Math.round(value * factor) / factor;
  return r === 0 ? 0 : r;
}

/** Check that the chunks tile 0..totalFrames-1 with sane overlaps; returns them by first frame. */
function checkLayout(chunks: readonly MergeChunk[], totalFrames: number): MergeChunk[] {
  const sorted = [...chunks].sort((a, b) => a.firstFrame - b.firstFrame);
  let next = 0;
  let previous: MergeChunk | undefined;
  for (const c of sorted) {
    const fail = (problem: string): never => {
      throw new PipelineError('internal', `Cannot merge: chunk ${c.index} ${problem}`);
    };
    if (c.firstFrame !== next) fail(`starts at frame ${c.firstFrame}, expected ${next}`);
    if (!Number.isSafeInteger(c.frameCount) || c.frameCount < 1) fail(`has ${c.frameCount} frames`);
    const maxOverlap = previous?.frameCount ?? 0;
    if (!Number.isSafeInteger(c.overlapFrames) || c.overlapFrames < 0 || c.overlapFrames > maxOverlap) {
      fail(`has ${c.overlapFrames} overlap frames, expected 0..${maxOverlap}`);
    }
    next = c.firstFrame + c.frameCount;
    previous = c;
  }
  if (next !== totalFrames) throw new PipelineError('internal', `Cannot merge: chunks cover frames 0..${next - 1}, expected 0..${totalFrames - 1}`);
  return sorted;
}

/** Check that a chunk's pickle describes the frames the chunk row says it tracked. */
function checkHeader(chunk: MergeChunk, result: ChunkResult): void {
  const expectFirst = chunk.firstFrame - chunk.overlapFrames;
  const expectCount = chunk.frameCount + chunk.overlapFrames;
  const problem =
    result.firstFrame !== expectFirst
      ? `first_frame is ${result.firstFrame}, expected ${expectFirst} (first own frame ${chunk.firstFrame} - overlap ${chunk.overlapFrames})`
      : result.frameCount !== expectCount
        ? `frame_count is ${result.frameCount}, expected ${expectCount} (own ${chunk.frameCount} + overlap ${chunk.overlapFrames})`
        : undefined;
  if (problem !== undefined) throw new ChunkResultError(chunk.resultPath, problem, { chunkIndex: chunk.index });
}

/** The rows of `result` whose absolute frames lie in [from, to), as boxes. */
function boxesIn(result: ChunkResult, from: number, to: number): OverlapBox[] {
  const boxes: OverlapBox[] = [];
  for (let r = 0; r < result.rows; r++) {
    const frame = result.firstFrame + result.frame[r]!;
    if (frame < from || frame >= to) continue;
    const b = result.bbox;
    boxes.push({ frame, track: result.track[r]!, x: b[4 * r]!, y: b[4 * r + 1]!, w: b[4 * r + 2]!, h: b[4 * r + 3]! });
  }
  return boxes;
}

/** One row kept for the output: which chunk result, which row, which provisional id. */
interface Observation {
  result: ChunkResult;
  row: number;
  id: number;
}

/** Give every chunk-local track a provisional video-wide id, joining across each boundary. */
function assignIds(chunks: readonly MergeChunk[], results: readonly ChunkResult[], threshold: number): Map<number, number>[] {
  let nextId = 1;
  const maps: Map<number, number>[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    const result = results[i]!;
    const overlapStart = chunk.firstFrame - chunk.overlapFrames;
    const joins =
      i > 0 && chunk.overlapFrames > 0
        ? joinTracks(boxesIn(results[i - 1]!, overlapStart, chunk.firstFrame), boxesIn(result, overlapStart, chunk.firstFrame), threshold)
        : new Map<number, number>();
    const local = [...new Set(result.track)].sort((a, b) => a - b);
    const ids = new Map<number, number>();
    for (const track of local) {
      const earlier = joins.get(track);
      ids.set(track, earlier === undefined ? nextId++ : maps[i - 1]!.get(earlier)!);
    }
    maps.push(ids);
  }
  return maps;
}

/** One extra of one chunk, ready to slice per row: its data, the shape of one row and that row's size. */
interface ExtraLayout {
  name: string;
  data: NdArray['data'];
  inner: readonly number[];
  /** Elements per index of each inner dimension (C order). */
  steps: number[];
  size: number;
}

/** Extras of a chunk in name order (so persons' keys come in one order whatever the worker wrote). */
function extraLayouts(result: ChunkResult): ExtraLayout[] {
  return [...result.extras.keys()].sort().map((name) => {
    const array = result.extras.get(name)!;
    const inner = array.shape.slice(1);
    const steps = inner.map((_, d) => inner.slice(d + 1).reduce((a, b) => a * b, 1));
    return { name, data: array.data, inner, steps, size: inner.reduce((a, b) => a * b, 1) };
  });
}

/** Row `row` of an extra as a number or nested number arrays, rounded to 4 decimals. */
function extraValue(extra: ExtraLayout, row: number): unknown {
  const { data, inner, steps } = extra;
  const last = inner.length - 1;
  const build = (offset: number, depth: number): unknown => {
    if (depth > last) return round(Number(data[offset]!), 4);
    const out = new Array<unknown>(inner[depth]!);
    if (depth === last) {
      for (let k = 0; k < out.length; k++) out[k] = round(Number(data[offset + k]!), 4);
    } else {
      for (let k = 0; k < out.length; k++) out[k] = build(offset + k * steps[depth]!, depth + 1);
    }
    return out;
  };
  return build(row * extra.size, 0);
}

function toPerson(track: number, { result, row }: Observation, extras: readonly ExtraLayout[]): Person {
  const b = result.bbox;
  const bbox = [b[4 * row]!, b[4 * row + 1]!, b[4 * row + 2]!, b[4 * row + 3]!].map((v) => round(v, 2)!) as Person['bbox'];
  const person: Person = { track, bbox, score: round(result.score[row]!, 4)! };
  for (const extra of extras) person[extra.name] = extraValue(extra, row);
  return person;
}

/**
 * Merge chunk results (given with their chunk rows, in any order) into one result covering
 * frames 0..totalFrames-1. Final track ids are 1..T in order of first appearance (first frame,
 * then box x, then provisional id), so the same input always gives the same output.
 */
export function mergeChunks(inputs: ReadonlyArray<{ chunk: MergeChunk; result: ChunkResult }>, totalFrames: number, iouThreshold = DEFAULT_IOU_THRESHOLD): MergeResult {
  const chunks = checkLayout(inputs.map((input) => input.chunk), totalFrames);
  const resultOf = new Map(inputs.map((input) => [input.chunk, input.result]));
  const results = chunks.map((chunk) => resultOf.get(chunk)!);
  chunks.forEach((chunk, i) => checkHeader(chunk, results[i]!));
  const idMaps = assignIds(chunks, results, iouThreshold);

  const byFrame: Observation[][] = Array.from({ length: totalFrames }, () => []);
  const first = new Map<number, { frame: number; x: number; last: number; count: number }>();
  chunks.forEach((chunk, i) => {
    const result = results[i]!;
    for (let row = 0; row < result.rows; row++) {
      const frame = result.firstFrame + result.frame[row]!;
      if (frame < chunk.firstFrame) continue;
      const id = idMaps[i]!.get(result.track[row]!)!;
      byFrame[frame]!.push({ result, row, id });
      const seen = first.get(id);
      if (seen === undefined) first.set(id, { frame, x: result.bbox[4 * row]!, last: frame, count: 1 });
      else {
        seen.last = frame;
        seen.count += 1;
      }
    }
  });

  const order = [...first.entries()].sort(([idA, a], [idB, b]) => a.frame - b.frame || a.x - b.x || idA - idB);
  const finalId = new Map(order.map(([id], k) => [id, k + 1]));
  const tracks = order.map(([id, t]) => ({ id: finalId.get(id)!, firstFrame: t.frame, lastFrame: t.last, frames: t.count }));
  const layouts = new Map(results.map((result) => [result, extraLayouts(result)]));
  const frames = byFrame.map((observations, index) => ({
    index,
    persons: observations
      .map((o) => toPerson(finalId.get(o.id)!, o, layouts.get(o.result)!))
      .sort((p, q) => p.track - q.track),
  }));
  return { frames, tracks };
}
