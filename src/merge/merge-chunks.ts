/**
 * The frames of a merge, one chunk at a time: a chunk result's own frames with video-wide track
 * ids and rounded numbers (see MergePlanner for the ids). `mergeChunks` puts the two together in
 * memory, for tests and small inputs; the pipeline streams (merge-worker.ts).
 */
import { type MergeChunk, MergePlanner, type TrackSummary } from './merge-plan.ts';
import type { ChunkResult } from './read-chunk-pickle.ts';
import type { NdArray } from './unpickle-numpy.ts';

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

/** The merged result: exactly one entry per frame, 0..N-1; persons sorted by track. */
export interface MergeResult {
  frames: MergedFrame[];
  tracks: TrackSummary[];
}

/** Which backend extras a person keeps: all, or those named (track, bbox and score always). */
export type ExtrasChoice = 'all' | readonly string[];

/** Round to a fixed number of decimals so floats print the same on every run; NaN -> null. */
function round(value: number, decimals: 2 | 4): number | null {
  if (Number.isNaN(value)) return null;
  const factor = decimals === 2 ? 100 : 10_000;
  const r = Math.round(value * factor) / factor;
  return r === 0 ? 0 : r;
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

/** The extras kept, in name order (so persons' keys come in one order whatever the worker wrote). */
function extraLayouts(result: ChunkResult, extras: ExtrasChoice): ExtraLayout[] {
  const names = [...result.extras.keys()].sort().filter((name) => extras === 'all' || extras.includes(name));
  return names.map((name) => {
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

function toPerson(track: number, result: ChunkResult, row: number, extras: readonly ExtraLayout[]): Person {
  const b = result.bbox;
  const bbox = [b[4 * row]!, b[4 * row + 1]!, b[4 * row + 2]!, b[4 * row + 3]!].map((v) => round(v, 2)!) as Person['bbox'];
  const person: Person = { track, bbox, score: round(result.score[row]!, 4)! };
  for (const extra of extras) person[extra.name] = extraValue(extra, row);
  return person;
}

/**
 * The chunk's own frames (chunk.firstFrame .. + frameCount), each with its persons sorted by
 * final track id; `ids` maps the chunk's local tracks to final ids (MergePlan.ids). One frame at a
 * time: a chunk's frames are never all built at once.
 */
export function* chunkFrames(chunk: MergeChunk, result: ChunkResult, ids: ReadonlyMap<number, number>, extras: ExtrasChoice = 'all'): Generator<MergedFrame> {
  const layouts = extraLayouts(result, extras);
  let row = 0;
  while (row < result.rows && result.firstFrame + result.frame[row]! < chunk.firstFrame) row++;
  for (let index = chunk.firstFrame; index < chunk.firstFrame + chunk.frameCount; index++) {
    const persons: Person[] = [];
    for (; row < result.rows && result.firstFrame + result.frame[row]! === index; row++) {
      persons.push(toPerson(ids.get(result.track[row]!)!, result, row, layouts));
    }
    yield { index, persons: persons.sort((p, q) => p.track - q.track) };
  }
}

/** A number as JSON.stringify writes it (finite: the shortest round-trip text; otherwise null). */
const numberText = (value: number | null): string => (value !== null && Number.isFinite(value) ? String(value) : 'null');

/** Row `row` of an extra as JSON text: exactly JSON.stringify(extraValue(extra, row)), without the arrays. */
function extraText(extra: ExtraLayout, row: number): string {
  const { data, inner, steps } = extra;
  const last = inner.length - 1;
  const build = (offset: number, depth: number): string => {
    if (depth > last) return numberText(round(Number(data[offset]!), 4));
    let text = '[';
    for (let k = 0; k < inner[depth]!; k++) {
      if (k > 0) text += ',';
      text += depth === last ? numberText(round(Number(data[offset + k]!), 4)) : build(offset + k * steps[depth]!, depth + 1);
    }
    return `${text}]`;
  };
  return build(row * extra.size, 0);
}

/** One person as JSON text: exactly JSON.stringify(toPerson(…)), written directly (the output's hot path). */
function personText(track: number, result: ChunkResult, row: number, extras: readonly ExtraLayout[], keys: readonly string[]): string {
  const b = result.bbox;
  let text = `{"track":${track},"bbox":[${numberText(round(b[4 * row]!, 2))},${numberText(round(b[4 * row + 1]!, 2))},${numberText(round(b[4 * row + 2]!, 2))},${numberText(round(b[4 * row + 3]!, 2))}],"score":${numberText(round(result.score[row]!, 4))}`;
  for (let e = 0; e < extras.length; e++) text += `,${keys[e]}:${extraText(extras[e]!, row)}`;
  return `${text}}`;
}

/**
 * chunkFrames as JSON text: each own frame's index and its persons array as JSON.stringify would
 * write it (same bytes), without building the persons. What the output document streams.
 */
export function* chunkFrameTexts(chunk: MergeChunk, result: ChunkResult, ids: ReadonlyMap<number, number>, extras: ExtrasChoice = 'all'): Generator<{ index: number; persons: string }> {
  const layouts = extraLayouts(result, extras);
  const keys = layouts.map((layout) => JSON.stringify(layout.name));
  let row = 0;
  while (row < result.rows && result.firstFrame + result.frame[row]! < chunk.firstFrame) row++;
  for (let index = chunk.firstFrame; index < chunk.firstFrame + chunk.frameCount; index++) {
    const persons: Array<{ track: number; text: string }> = [];
    for (; row < result.rows && result.firstFrame + result.frame[row]! === index; row++) {
      const track = ids.get(result.track[row]!)!;
      persons.push({ track, text: personText(track, result, row, layouts, keys) });
    }
    persons.sort((p, q) => p.track - q.track);
    yield { index, persons: `[${persons.map((p) => p.text).join(',')}]` };
  }
}

/**
 * Merge chunk results (given with their chunk rows, in any order) into one result covering
 * frames 0..totalFrames-1, in memory: the same frames the pipeline streams.
 */
export function mergeChunks(inputs: ReadonlyArray<{ chunk: MergeChunk; result: ChunkResult }>, totalFrames: number, iouThreshold?: number): MergeResult {
  const planner = new MergePlanner(inputs.map((input) => input.chunk), totalFrames, iouThreshold);
  const resultOf = new Map(inputs.map((input) => [input.chunk, input.result]));
  for (const chunk of planner.chunks) planner.add(resultOf.get(chunk)!);
  const plan = planner.finish();
  const frames = plan.chunks.flatMap((chunk, i) => [...chunkFrames(chunk, resultOf.get(chunk)!, plan.ids[i]!)]);
  return { frames, tracks: plan.tracks };
}
