/**
 * The `smpl` export: one track of a phalp output as an AMASS-style `.npz`, what the SMPL add-ons
 * for Blender, smpl2bvh and AMASS-reading scripts load (docs/output.md, "SMPL export").
 *
 * Rows are the frames where the person was detected: posepipe's phalp backend writes a person
 * into a frame only when PHALP matched a detection to the track there (its predicted "ghosts" are
 * never written), so every row of the output is a detection and every frame of the track's span
 * without one is a gap, listed in `gaps`. Nothing is interpolated.
 *
 * `trans` is phalp's camera translation: PHALP's only per-frame placement of the body, the
 * translation that puts the SMPL body (as posed by `poses`, with `betas`) where the camera saw it,
 * in the camera's frame (x right, y down, z away from the camera, for the focal length
 * `focal_length`). There is no world frame: a moving camera moves the body.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeBytesAtomic } from '../atomic-file.ts';
import type { MergedFrame, TrackSummary } from '../merge/index.ts';
import type { SourceFacts } from '../stages/emit.ts';
import { float64Array, int64Array, type NpyArray, npyHeader, stringScalar } from './npz.ts';
import { axisAngle } from './rotation.ts';
import { type ZipEntry, zipEntries } from './zip.ts';

/** The output's header as this export reads it (the document's `source`, `tracker` and `tracks`). */
export interface SmplExportHeader {
  source: Pick<SourceFacts, 'fps' | 'width' | 'height'>;
  tracker: { backend: string };
  tracks: readonly TrackSummary[];
}

/** One frame of the output as this export reads it: index, time and persons, as the document holds them. */
export type SmplExportFrame = MergedFrame & { time: number };

/** A track that cannot be exported as SMPL (no such track, or a person without SMPL fields); the message names track, frame and field. */
export class SmplExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmplExportError';
  }
}

/** What was written. */
export interface SmplExportResult {
  file: string;
  /** Rows: the frames where the person was detected. */
  frames: number;
  /** Runs of frames without a detection inside the track's span. */
  gaps: number;
}

/** Values kept in memory before a column is written out to its file. */
const SPILL_VALUES = 8192;

/**
 * A column of the track's values (float64, or int64 for frame indices), written out to its own file
 * 64 KiB at a time, so a track of any length costs the same memory. Its file is the array's data
 * in the `.npy` entry (little-endian, C order).
 */
class Column {
  readonly path: string;
  readonly #int: boolean;
  #buffer: number[] = [];
  length = 0;

  constructor(dir: string, name: string, int = false) {
    this.path = join(dir, `${name}.data`);
    this.#int = int;
  }

  push(...values: number[]): void {
    for (const v of values) this.#buffer.push(v);
    this.length += values.length;
  }

  /** Write out what is buffered when there is enough of it (or all of it, at the end). */
  async spill(all = false): Promise<void> {
    if (!all && this.#buffer.length < SPILL_VALUES) return;
    const typed = this.#int ? BigInt64Array.from(this.#buffer, (v) => BigInt(v)) : Float64Array.from(this.#buffer);
    this.#buffer = [];
    await appendFile(this.path, new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  }
}

/** The track's arrays, one row per detected frame, each in its own file under `dir`. */
class Rows {
  readonly poses: Column;
  readonly trans: Column;
  readonly betas: Column;
  readonly frameIndex: Column;
  readonly time: Column;
  readonly focal: Column;

  constructor(dir: string) {
    this.poses = new Column(dir, 'poses');
    this.trans = new Column(dir, 'trans');
    this.betas = new Column(dir, 'betas');
    this.frameIndex = new Column(dir, 'frame_index', true);
    this.time = new Column(dir, 'time');
    this.focal = new Column(dir, 'focal_length');
  }

  async spill(all = false): Promise<void> {
    for (const c of [this.poses, this.trans, this.betas, this.frameIndex, this.time, this.focal]) await c.spill(all);
  }
}

/**
 * Write track `track` of an output (its header, and its frames in order, read once and never
 * held) to `file` as an AMASS-style `.npz`, atomically: `poses` (T, 72) axis-angle (global orient,
 * then SMPL's 23 body joints), `trans` (T, 3), `betas` (10,) (each component's median over the
 * track), `betas_per_frame` (T, 10), `gender` 'neutral', `mocap_framerate` (the source's average
 * rate), `frame_index` (T,), `time` (T,) (seconds, the output's), `camera_translation` (T, 3) (=
 * trans), `focal_length` (T,) (pixels), `image_size` [width, height], `track` and `gaps` (K, 2)
 * (first and last frame of each run without a detection). Throws SmplExportError when the track is
 * not in the output or a detected frame lacks an SMPL field (another backend, or the `extras`
 * setting dropped it).
 */
export async function exportSmplTrack(header: SmplExportHeader, frames: AsyncIterable<SmplExportFrame>, track: number, file: string): Promise<SmplExportResult> {
  const summary = header.tracks.find((t) => t.id === track);
  if (!summary) throw new SmplExportError(`Cannot export track ${track} as SMPL: the output has no such track (tracks: ${header.tracks.map((t) => t.id).join(', ') || 'none'})`);
  const fps = header.source.fps;
  if (!(Number.isFinite(fps) && fps > 0)) throw new SmplExportError(`Cannot export track ${track} as SMPL: the source's fps is ${fps}`);
  // The columns go to a hidden folder beside the file, removed whatever happens.
  const dir = await mkdtemp(join(dirname(file), `.${basename(file)}.columns-`));
  try {
    const rows = new Rows(dir);
    const gaps: number[] = [];
    let last = -1;
    let previous = -1;
    for await (const frame of frames) {
      // Gaps are read from consecutive rows: frames out of order would make them wrong.
      if (frame.index <= last) throw new TypeError(`exportSmplTrack: frame ${frame.index} after frame ${last} (frames must come in order)`);
      last = frame.index;
      if (frame.index < summary.firstFrame) continue;
      if (frame.index > summary.lastFrame) break;
      const person = frame.persons.find((p) => p.track === track);
      if (!person) continue;
      addRow(rows, frame, person, header.tracker.backend);
      if (previous >= 0 && frame.index > previous + 1) gaps.push(previous + 1, frame.index - 1);
      previous = frame.index;
      await rows.spill();
    }
    await rows.spill(true);
    const t = rows.frameIndex.length;
    if (t === 0) throw new SmplExportError(`Cannot export track ${track} as SMPL: it is in no frame of the output (frames ${summary.firstFrame}..${summary.lastFrame} expected)`);
    const fromFile = (name: string, shape: readonly number[], column: Column, dtype = '<f8'): ZipEntry => ({ name: `${name}.npy`, parts: [npyHeader({ name, dtype, shape, data: new Uint8Array(0) }), { path: column.path }] });
    const inMemory = (array: NpyArray): ZipEntry => ({ name: `${array.name}.npy`, parts: [npyHeader(array), array.data] });
    const entries: ZipEntry[] = [
      fromFile('poses', [t, 72], rows.poses),
      fromFile('trans', [t, 3], rows.trans),
      inMemory(float64Array('betas', [10], await medians(rows.betas.path, t, 10))),
      fromFile('betas_per_frame', [t, 10], rows.betas),
      inMemory(stringScalar('gender', 'neutral')),
      inMemory(float64Array('mocap_framerate', [], [fps])),
      fromFile('frame_index', [t], rows.frameIndex, '<i8'),
      fromFile('time', [t], rows.time),
      fromFile('camera_translation', [t, 3], rows.trans),
      fromFile('focal_length', [t], rows.focal),
      inMemory(int64Array('image_size', [2], [header.source.width, header.source.height])),
      inMemory(int64Array('track', [], [track])),
      inMemory(int64Array('gaps', [gaps.length / 2, 2], gaps)),
    ];
    await writeBytesAtomic(file, zipEntries(entries));
    return { file, frames: t, gaps: gaps.length / 2 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Append one detected frame's SMPL values, checking every shape. */
function addRow(rows: Rows, frame: SmplExportFrame, person: MergedFrame['persons'][number], backend: string): void {
  const field = (name: string, shape: readonly number[]): number[] => {
    const flat: number[] = [];
    const walk = (value: unknown, depth: number): boolean => {
      if (depth === shape.length) {
        if (typeof value !== 'number' || !Number.isFinite(value)) return false;
        flat.push(value);
        return true;
      }
      return Array.isArray(value) && value.length === shape[depth] && value.every((v) => walk(v, depth + 1));
    };
    if (!(name in person)) {
      throw new SmplExportError(`Cannot export track ${person.track} as SMPL: frame ${frame.index} has no ${name} (the ${backend} backend does not give it, or the extras setting left it out; smpl needs phalp's smpl_* fields and camera_translation)`);
    }
    if (!walk(person[name], 0)) {
      throw new SmplExportError(`Cannot export track ${person.track} as SMPL: frame ${frame.index}'s ${name} is not ${shape.length ? `a (${shape.join(', ')}) array of` : 'a'} finite number${shape.length ? 's' : ''}`);
    }
    return flat;
  };
  const orient = field('smpl_global_orient', [1, 3, 3]);
  const body = field('smpl_body_pose', [23, 3, 3]);
  for (let j = 0; j < 24; j++) rows.poses.push(...axisAngle(j === 0 ? orient : body, j === 0 ? 0 : 9 * (j - 1)));
  rows.betas.push(...field('smpl_betas', [10]));
  rows.trans.push(...field('camera_translation', [3]));
  rows.focal.push(...field('focal_length', []));
  rows.frameIndex.push(frame.index);
  rows.time.push(frame.time);
}

/**
 * Each column's median (numpy's: the mean of the middle two for an even count) of a (T, n) float64
 * array in a file, row by row: one column read at a time (8 bytes a row in memory).
 */
async function medians(path: string, t: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let c = 0; c < n; c++) {
    const column = new Float64Array(t);
    let row = 0;
    let carry: Buffer = Buffer.alloc(0);
    for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      const data = carry.length ? Buffer.concat([carry, piece]) : piece;
      const whole = Math.floor(data.length / (8 * n));
      for (let r = 0; r < whole; r++) column[row++] = data.readDoubleLE((r * n + c) * 8);
      carry = data.subarray(whole * 8 * n);
    }
    column.sort();
    const mid = Math.floor(t / 2);
    out.push(t % 2 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2);
  }
  return out;
}
