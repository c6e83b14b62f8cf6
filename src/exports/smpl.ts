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
import { writeFileAtomic } from '../atomic-file.ts';
import type { MergedFrame, TrackSummary } from '../merge/index.ts';
import type { SourceFacts } from '../stages/emit.ts';
import { float64Array, int64Array, type NpyArray, npzBytes, stringScalar } from './npz.ts';
import { axisAngle } from './rotation.ts';

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

/** A growing float64 column: doubling typed storage (8 bytes a value, no boxed numbers). */
class Column {
  #data = new Float64Array(1024);
  length = 0;

  push(...values: number[]): void {
    if (this.length + values.length > this.#data.length) {
      const grown = new Float64Array(Math.max(this.#data.length * 2, this.length + values.length));
      grown.set(this.#data.subarray(0, this.length));
      this.#data = grown;
    }
    this.#data.set(values, this.length);
    this.length += values.length;
  }

  at(k: number): number {
    return this.#data[k]!;
  }

  /** The values so far (a view, not a copy). */
  values(): Float64Array {
    return this.#data.subarray(0, this.length);
  }
}

/** The track's arrays, one row per detected frame. */
class Rows {
  readonly poses = new Column();
  readonly trans = new Column();
  readonly betas = new Column();
  readonly frameIndex = new Column();
  readonly time = new Column();
  readonly focal = new Column();
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
  const rows = new Rows();
  let last = -1;
  for await (const frame of frames) {
    // Gaps are read from consecutive rows: frames out of order would make them wrong.
    if (frame.index <= last) throw new TypeError(`exportSmplTrack: frame ${frame.index} after frame ${last} (frames must come in order)`);
    last = frame.index;
    if (frame.index < summary.firstFrame) continue;
    if (frame.index > summary.lastFrame) break;
    const person = frame.persons.find((p) => p.track === track);
    if (person) addRow(rows, frame, person, header.tracker.backend);
  }
  const t = rows.frameIndex.length;
  if (t === 0) throw new SmplExportError(`Cannot export track ${track} as SMPL: it is in no frame of the output (frames ${summary.firstFrame}..${summary.lastFrame} expected)`);
  const gaps: number[] = [];
  for (let k = 1; k < t; k++) {
    const [before, after] = [rows.frameIndex.at(k - 1), rows.frameIndex.at(k)];
    if (after > before + 1) gaps.push(before + 1, after - 1);
  }
  const arrays: NpyArray[] = [
    float64Array('poses', [t, 72], rows.poses.values()),
    float64Array('trans', [t, 3], rows.trans.values()),
    float64Array('betas', [10], medians(rows.betas.values(), 10)),
    float64Array('betas_per_frame', [t, 10], rows.betas.values()),
    stringScalar('gender', 'neutral'),
    float64Array('mocap_framerate', [], [fps]),
    int64Array('frame_index', [t], rows.frameIndex.values()),
    float64Array('time', [t], rows.time.values()),
    float64Array('camera_translation', [t, 3], rows.trans.values()),
    float64Array('focal_length', [t], rows.focal.values()),
    int64Array('image_size', [2], [header.source.width, header.source.height]),
    int64Array('track', [], [track]),
    int64Array('gaps', [gaps.length / 2, 2], gaps),
  ];
  await writeFileAtomic(file, npzBytes(arrays));
  return { file, frames: t, gaps: gaps.length / 2 };
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

/** Each column's median (numpy's: the mean of the middle two for an even count) of a (T, n) array given row by row. */
function medians(values: Float64Array, n: number): number[] {
  const t = values.length / n;
  return Array.from({ length: n }, (_, c) => {
    const column = Float64Array.from({ length: t }, (_, r) => values[r * n + c]!).sort();
    const mid = Math.floor(t / 2);
    return t % 2 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
  });
}
