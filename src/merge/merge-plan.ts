/**
 * The id map of a merge, computed one chunk at a time: overlap frames belong to the earlier chunk
 * (its tracker is warmed up there); the later chunk's rows in them only join identities across the
 * boundary. Only the previous chunk's overlap boxes are kept between chunks, so planning a video
 * of any length holds one chunk result and a summary per track.
 */
import { PipelineError } from '../errors.ts';
import { type OverlapBox, joinTracks } from './join-tracks.ts';
import { type ChunkResult, ChunkResultError } from './read-chunk-pickle.ts';
import { chunkNumber } from '../chunk-number.ts';

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
  /** The sha256 recorded when the result was tracked: a file that differs is refused before it is parsed. */
  sha256?: string;
}

/** A video-wide track: where it starts and ends and how many frames observe it. */
export interface TrackSummary {
  id: number;
  firstFrame: number;
  lastFrame: number;
  frames: number;
}

/** What planning gives: per chunk (by first frame), chunk-local track -> final id; the tracks; the person count. */
export interface MergePlan {
  chunks: MergeChunk[];
  ids: Map<number, number>[];
  tracks: TrackSummary[];
  persons: number;
  /** Provisional id (as passed to onRow) -> final id. */
  finalId: Map<number, number>;
}

/** The default IoU a box pair needs in an overlap frame to count as the same person. */
export const DEFAULT_IOU_THRESHOLD = 0.5;

/** Check that the chunks tile 0..totalFrames-1 with sane overlaps; returns them by first frame. */
export function checkLayout(chunks: readonly MergeChunk[], totalFrames: number): MergeChunk[] {
  const sorted = [...chunks].sort((a, b) => a.firstFrame - b.firstFrame);
  let next = 0;
  let previous: MergeChunk | undefined;
  for (const c of sorted) {
    const fail = (problem: string): never => {
      throw new PipelineError('internal', `Cannot merge: chunk ${chunkNumber(c.index)} ${problem}`);
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
export function checkHeader(chunk: MergeChunk, result: ChunkResult): void {
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

/** Where a provisional id is first seen (frame, box x), last seen, and in how many frames. */
interface Seen {
  frame: number;
  x: number;
  last: number;
  count: number;
}

/**
 * Plans a merge from chunk results given one at a time, in first-frame order. Final track ids are
 * 1..T in order of first appearance (first frame, then box x, then provisional id), so the same
 * input always gives the same output.
 */
export class MergePlanner {
  readonly chunks: readonly MergeChunk[];
  readonly #threshold: number;
  readonly #provisional: Map<number, number>[] = [];
  readonly #seen = new Map<number, Seen>();
  #overlap: OverlapBox[] = [];
  #nextId = 1;
  #persons = 0;

  /** `chunks` in any order; they must tile 0..totalFrames-1 (else a PipelineError before anything is read). */
  constructor(chunks: readonly MergeChunk[], totalFrames: number, threshold = DEFAULT_IOU_THRESHOLD) {
    this.chunks = checkLayout(chunks, totalFrames);
    this.#threshold = threshold;
  }

  /**
   * Take the next chunk's result; `onRow` sees each own-frame row with its provisional id (final
   * ids are known only at the end), in frame order.
   */
  add(result: ChunkResult, onRow?: (frame: number, provisional: number, row: number) => void): void {
    const i = this.#provisional.length;
    const chunk = this.chunks[i];
    if (chunk === undefined) throw new TypeError(`MergePlanner.add: all ${this.chunks.length} chunks were given already`);
    checkHeader(chunk, result);
    const overlapStart = chunk.firstFrame - chunk.overlapFrames;
    const joins = i > 0 && chunk.overlapFrames > 0 ? joinTracks(this.#overlap, boxesIn(result, overlapStart, chunk.firstFrame), this.#threshold) : new Map<number, number>();
    const ids = new Map<number, number>();
    for (const track of [...new Set(result.track)].sort((a, b) => a - b)) {
      const earlier = joins.get(track);
      ids.set(track, earlier === undefined ? this.#nextId++ : this.#provisional[i - 1]!.get(earlier)!);
    }
    this.#provisional.push(ids);
    for (let row = 0; row < result.rows; row++) {
      const frame = result.firstFrame + result.frame[row]!;
      if (frame < chunk.firstFrame) continue;
      const id = ids.get(result.track[row]!)!;
      this.#persons += 1;
      const seen = this.#seen.get(id);
      if (seen === undefined) this.#seen.set(id, { frame, x: result.bbox[4 * row]!, last: frame, count: 1 });
      else {
        seen.last = frame;
        seen.count += 1;
      }
      onRow?.(frame, id, row);
    }
    const next = this.chunks[i + 1];
    this.#overlap = next && next.overlapFrames > 0 ? boxesIn(result, next.firstFrame - next.overlapFrames, next.firstFrame) : [];
  }

  /** The plan, once every chunk was added. */
  finish(): MergePlan {
    if (this.#provisional.length !== this.chunks.length) throw new TypeError(`MergePlanner.finish: ${this.#provisional.length} of ${this.chunks.length} chunks given`);
    const order = [...this.#seen.entries()].sort(([idA, a], [idB, b]) => a.frame - b.frame || a.x - b.x || idA - idB);
    const finalId = new Map(order.map(([id], k) => [id, k + 1]));
    const tracks = order.map(([id, t]) => ({ id: finalId.get(id)!, firstFrame: t.frame, lastFrame: t.last, frames: t.count }));
    const ids = this.#provisional.map((m) => new Map([...m].map(([local, id]) => [local, finalId.get(id) ?? 0])));
    return { chunks: [...this.chunks], ids, tracks, persons: this.#persons, finalId };
  }
}
