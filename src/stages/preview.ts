/**
 * The preview stage (after emit, so the user's JSON never waits for it): what the job page's
 * player needs.
 *
 * - `preview.mp4`: the source as a browser plays it (media/make-preview.ts), unless previewSize is 0.
 * - `player/`: the frames cut into windows of WINDOW_FRAMES (`frames-<k>.json`, frame index, time
 *   and each person's track, box, score and 2D keypoints: what is drawn, not the backend's other
 *   extras) and `index.json` (sizes, each window's first time, the tracks). The page asks for the
 *   frames being watched (GET /api/jobs/:id/frames?from=&to=), so a one-hour job is never sent whole.
 *
 * Both are written under temporary names and renamed into place; the stage is a pure function of
 * the staged source, merged.json and the frame times, so running it again gives the same files.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskFullError } from '../disk.ts';
import { PipelineError } from '../errors.ts';
import { makePreview, type PreviewFile } from '../media/make-preview.ts';
import { ToolFailure } from '../media/run-tools.ts';
import type { MergeResult, Person } from '../merge/index.ts';
import { outputTime, readMerged } from './emit.ts';

/** Frames per window file: ~10 s of 25 fps video, a few KB to a few hundred KB. */
export const WINDOW_FRAMES = 256;
export const PLAYER_DIR = 'player';
export const PREVIEW_FILE = 'preview.mp4';
const PLAYER_VERSION = 1;

/** One person as the player draws it. */
export interface PlayerPerson {
  track: number;
  bbox: [number, number, number, number];
  score: number;
  keypoints2d?: unknown;
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
  tracks: MergeResult['tracks'];
  /** True when some person carries 2D keypoints (drawn as a skeleton). */
  keypoints: boolean;
}

/** What the stage records. */
export interface PreviewOutput {
  /** The preview video, or null with the reason when there is none. */
  preview: (PreviewFile & { file: string }) | null;
  reason: string | null;
  player: { dir: string; windows: number };
}

function playerPerson(p: Person): PlayerPerson {
  const out: PlayerPerson = { track: p.track, bbox: p.bbox, score: p.score };
  if (Array.isArray(p.keypoints2d)) out.keypoints2d = p.keypoints2d;
  return out;
}

/** The player's files for `merged`, in a folder `dir` (written whole, then renamed into place). */
export async function writePlayerFiles(ctx: { jobDir: string; merged: MergeResult; frameTimes?: readonly number[]; width: number; height: number; fps: number }): Promise<number> {
  const { merged, frameTimes } = ctx;
  const frameCount = merged.frames.length;
  if (frameTimes && frameTimes.length !== frameCount) throw new PipelineError('internal', `Cannot build the player: ${frameTimes.length} frame times for ${frameCount} frames`);
  const time = (i: number) => outputTime(i, frameTimes, ctx.fps);
  const temp = join(ctx.jobDir, `.${PLAYER_DIR}.tmp-${process.pid}`);
  const final = join(ctx.jobDir, PLAYER_DIR);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  const windowTimes: number[] = [];
  let keypoints = false;
  for (let first = 0, k = 0; first < frameCount; first += WINDOW_FRAMES, k++) {
    const frames: PlayerFrame[] = merged.frames.slice(first, first + WINDOW_FRAMES).map((f) => {
      const persons = f.persons.map(playerPerson);
      if (persons.some((p) => p.keypoints2d !== undefined)) keypoints = true;
      return { index: f.index, time: time(f.index), persons };
    });
    windowTimes.push(time(first));
    await writeFile(join(temp, `frames-${k}.json`), JSON.stringify(frames));
  }
  const index: PlayerIndex = { version: PLAYER_VERSION, frameCount, fps: ctx.fps, width: ctx.width, height: ctx.height, windowFrames: WINDOW_FRAMES, windowTimes, tracks: merged.tracks, keypoints };
  await writeFile(join(temp, 'index.json'), JSON.stringify(index));
  await rm(final, { recursive: true, force: true });
  await rename(temp, final);
  return windowTimes.length;
}

/** Leftovers of an interrupted run of this stage. */
async function clearTemps(jobDir: string): Promise<void> {
  for (const name of await readdir(jobDir)) {
    if (name.startsWith(`${PREVIEW_FILE}.tmp-`) || name.startsWith(`.${PLAYER_DIR}.tmp-`)) await rm(join(jobDir, name), { recursive: true, force: true });
  }
}

/** Run the stage: the preview video (when size > 0) and the player's frame windows. */
export async function preview(ctx: {
  jobDir: string;
  /** The staged source, relative to jobDir. */
  source: string;
  displayName: string;
  size: number;
  width: number;
  height: number;
  fps: number;
  /** The frames merged.json must hold. */
  frameCount: number;
  frameTimes?: readonly number[];
  onFrame?: (frame: number) => void;
}): Promise<PreviewOutput> {
  await clearTemps(ctx.jobDir);
  const merged = await readMerged(ctx.jobDir, ctx.frameCount);
  let windows: number;
  try {
    windows = await writePlayerFiles({ jobDir: ctx.jobDir, merged, frameTimes: ctx.frameTimes, width: ctx.width, height: ctx.height, fps: ctx.fps });
  } catch (error) {
    if (error instanceof PipelineError) throw error;
    throw await diskFullError(error, ctx.jobDir, `writing the player's frames of "${ctx.displayName}"`);
  }
  const player = { dir: PLAYER_DIR, windows };
  if (ctx.size === 0) return { preview: null, reason: 'previewSize is 0: no preview video is made', player };
  try {
    const made = await makePreview({ cwd: ctx.jobDir, input: ctx.source, output: PREVIEW_FILE, size: ctx.size, onFrame: ctx.onFrame });
    if (made.frames !== merged.frames.length) {
      // Never expected (every decoded frame is kept); the boxes would drift, so no preview rather than a wrong one.
      await rm(join(ctx.jobDir, PREVIEW_FILE), { force: true });
      return { preview: null, reason: `the preview has ${made.frames} frames where the video has ${merged.frames.length}`, player };
    }
    return { preview: { file: PREVIEW_FILE, ...made }, reason: null, player };
  } catch (error) {
    // A source ffmpeg can decode (it was tracked) but not turn into a preview: the job keeps its
    // JSON and its player's boxes, without a video to draw them on.
    if (error instanceof ToolFailure) return { preview: null, reason: `ffmpeg could not make the preview of "${ctx.displayName}": ${(error.stderr.trim().split('\n').at(-1) ?? '') || error.message}`, player };
    throw error;
  }
}
