/**
 * The job page player's files (see src/stages/preview.ts): the frames cut into windows of
 * WINDOW_FRAMES (`frames-<k>.json`: frame index, time and each person's track, box, score, 2D
 * keypoints and, for the 3D view, 3D joints with the camera translation and focal length: what is
 * drawn) and `index.json` (sizes, each window's first time, the tracks), written from frames given
 * one at a time into a temporary folder renamed into place.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';
import type { MergedFrame, Person } from './merge-chunks.ts';
import type { TrackSummary } from './merge-plan.ts';
import { outputTime } from './output-document.ts';

/** Frames per window file: ~10 s of 25 fps video, a few KB to a few hundred KB. */
export const WINDOW_FRAMES = 256;
export const PLAYER_DIR = 'player';
const PLAYER_VERSION = 1;

/** The backend extras the player's windows carry (read from the chunk results whatever the `extras` setting keeps in the JSON). */
export const PLAYER_EXTRAS = ['keypoints2d', 'joints3d', 'camera_translation', 'focal_length'] as const;

/** One person as the player draws it. */
export interface PlayerPerson {
  track: number;
  bbox: [number, number, number, number];
  score: number;
  /** 2D keypoints in pixels to the hundredth: phalp's first 25 (OpenPose BODY_25), COCO's 17 as they are. */
  keypoints2d?: unknown;
  /** 3D joints in metres, camera axes, relative to the body, to the millimetre: phalp's 45, null where not drawn. */
  joints3d?: unknown;
  /** Where the body is in the camera's frame, metres, to the millimetre. */
  camera_translation?: unknown;
  /** The pinhole camera's focal length in image pixels that camera_translation is for. */
  focal_length?: unknown;
}

/** One frame as the player gets it. */
export interface PlayerFrame {
  index: number;
  /** Seconds from the first frame (the output JSON's `time`). */
  time: number;
  persons: PlayerPerson[];
}

/** player/index.json. */
export interface PlayerIndex {
  version: number;
  frameCount: number;
  fps: number;
  width: number;
  height: number;
  windowFrames: number;
  /** The time of each window's first frame. */
  windowTimes: number[];
  tracks: TrackSummary[];
  /** True when some person carries 2D keypoints (drawn as a skeleton). */
  keypoints: boolean;
  /** True when some person carries 3D joints and a camera translation (the page's 3D view). */
  joints3d: boolean;
}

/** Numbers (in nested arrays) rounded to 1 / factor (not finite: null): the view needs millimetres, not the JSON's tenths of one. */
function rounded(value: unknown, factor: number): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * factor) / factor || 0 : null;
  if (Array.isArray(value)) return value.map((v) => rounded(v, factor));
  return null;
}

/**
 * Of phalp's 45 points, those drawn: OpenPose's 25 (in 2D and 3D), and in 3D the spine and head
 * (37..43). The others (25..36 repeat limb joints, 44 is the body's origin) are left out of the
 * windows, which they would make a third bigger.
 */
const BODY_25 = 25;
const drawn3d = (i: number) => i < BODY_25 || (i >= 37 && i <= 43);

function playerPerson(p: Person): PlayerPerson {
  const out: PlayerPerson = { track: p.track, bbox: p.bbox, score: p.score };
  // Pixels to the hundredth (and scores, for COCO's [x, y, score]); phalp's first 25 points.
  if (Array.isArray(p.keypoints2d)) out.keypoints2d = rounded(p.keypoints2d.length > BODY_25 ? p.keypoints2d.slice(0, BODY_25) : p.keypoints2d, 100);
  // The 3D view needs both: joints relative to the body, and where the body is. Joints not drawn are null (indexes kept).
  if (Array.isArray(p.joints3d) && Array.isArray(p.camera_translation)) {
    out.joints3d = p.joints3d.map((j, i) => (drawn3d(i) ? rounded(j, 1000) : null));
    out.camera_translation = rounded(p.camera_translation, 1000);
    if (typeof p.focal_length === 'number' || Array.isArray(p.focal_length)) out.focal_length = rounded(p.focal_length, 10);
  }
  return out;
}

/** What the player's files are made of: the frames 0..frameCount-1 in order, and the merge's facts. */
export interface PlayerSource {
  jobDir: string;
  frames: AsyncIterable<MergedFrame> | Iterable<MergedFrame>;
  frameCount: number;
  tracks: TrackSummary[];
  frameTimes?: readonly number[];
  width: number;
  height: number;
  fps: number;
}

/** Write jobDir/player (whole, then renamed into place); returns the number of windows. */
export async function writePlayerFiles(ctx: PlayerSource): Promise<number> {
  const { frameCount, frameTimes } = ctx;
  if (frameTimes && frameTimes.length !== frameCount) throw new PipelineError('internal', `Cannot build the player: ${frameTimes.length} frame times for ${frameCount} frames`);
  const time = (i: number) => outputTime(i, frameTimes, ctx.fps);
  const temp = join(ctx.jobDir, `.${PLAYER_DIR}.tmp-${process.pid}`);
  const final = join(ctx.jobDir, PLAYER_DIR);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  const windowTimes: number[] = [];
  let keypoints = false;
  let joints3d = false;
  let window: PlayerFrame[] = [];
  const flush = async () => {
    windowTimes.push(time(window[0]!.index));
    await writeFile(join(temp, `frames-${windowTimes.length - 1}.json`), JSON.stringify(window));
    window = [];
  };
  let next = 0;
  for await (const f of ctx.frames) {
    if (f.index !== next) throw new PipelineError('internal', `Cannot build the player: frame ${f.index} came where frame ${next} was expected`);
    next += 1;
    const persons = f.persons.map(playerPerson);
    if (persons.some((p) => p.keypoints2d !== undefined)) keypoints = true;
    if (persons.some((p) => p.joints3d !== undefined)) joints3d = true;
    window.push({ index: f.index, time: time(f.index), persons });
    if (window.length === WINDOW_FRAMES) await flush();
  }
  if (window.length > 0) await flush();
  if (next !== frameCount) throw new PipelineError('internal', `Cannot build the player: ${next} frames where ${frameCount} were expected`);
  const index: PlayerIndex = { version: PLAYER_VERSION, frameCount, fps: ctx.fps, width: ctx.width, height: ctx.height, windowFrames: WINDOW_FRAMES, windowTimes, tracks: ctx.tracks, keypoints, joints3d };
  await writeFile(join(temp, 'index.json'), JSON.stringify(index));
  await rm(final, { recursive: true, force: true });
  await rename(temp, final);
  return windowTimes.length;
}
