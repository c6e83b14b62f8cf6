/**
 * The preview stage (after emit, so the user's JSON never waits for it): what the job page's
 * player needs.
 *
 * - `preview.mp4`: the source as a browser plays it (media/make-preview.ts), unless previewSize is 0.
 * - `player/`: the frames cut into windows of WINDOW_FRAMES (`frames-<k>.json`, frame index, time
 *   and each person's track, box, score, 2D keypoints and 3D joints with the camera translation and
 *   focal length: what is drawn, not the backend's other extras) and `index.json` (sizes, each window's first time, the tracks). The page asks for the
 *   frames being watched (GET /api/jobs/:id/frames?from=&to=), so a one-hour job is never sent whole.
 *   They are streamed from the chunk results as merge.json says to join them, in the merge's
 *   worker thread (src/merge/player-files.ts), one chunk at a time.
 *
 * Both are written under temporary names and renamed into place; the stage is a pure function of
 * the staged source, merge.json, the chunk results and the frame times, so running it again gives
 * the same files.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Piscina } from 'piscina';
import { diskFullError } from '../disk.ts';
import { PipelineError } from '../errors.ts';
import { makePreview, type PreviewFile } from '../media/make-preview.ts';
import { ToolFailure } from '../media/run-tools.ts';
import { PLAYER_DIR, readMergeIndex } from '../merge/index.ts';
import { runInWorker, type WorkerReport } from './merge.ts';

export { PLAYER_DIR, type PlayerFrame, type PlayerIndex, type PlayerPerson, WINDOW_FRAMES } from '../merge/index.ts';
export const PREVIEW_FILE = 'preview.mp4';

/** What the stage records. */
export interface PreviewOutput {
  /** The preview video, or null with the reason when there is none. */
  preview: (PreviewFile & { file: string }) | null;
  reason: string | null;
  player: { dir: string; windows: number };
}

/** Leftovers of an interrupted run of this stage. */
async function clearTemps(jobDir: string): Promise<void> {
  for (const name of await readdir(jobDir)) {
    if (name.startsWith(`${PREVIEW_FILE}.tmp-`) || name.startsWith(`.${PLAYER_DIR}.tmp-`)) await rm(join(jobDir, name), { recursive: true, force: true });
  }
}

/** What the preview video needs. */
export interface PreviewVideoContext {
  jobDir: string;
  /** The staged source, relative to jobDir. */
  source: string;
  displayName: string;
  size: number;
  /** The frames the video must have (the boxes would drift otherwise). */
  frameCount: number;
  onFrame?: (frame: number) => void;
}

/** The preview video (when size > 0) beside player files already written; the stage's record. */
export async function previewVideo(ctx: PreviewVideoContext, windows: number): Promise<PreviewOutput> {
  const player = { dir: PLAYER_DIR, windows };
  if (ctx.size === 0) return { preview: null, reason: 'previewSize is 0: no preview video is made', player };
  try {
    const made = await makePreview({ cwd: ctx.jobDir, input: ctx.source, output: PREVIEW_FILE, size: ctx.size, onFrame: ctx.onFrame });
    if (made.frames !== ctx.frameCount) {
      // Never expected (every decoded frame is kept); the boxes would drift, so no preview rather than a wrong one.
      await rm(join(ctx.jobDir, PREVIEW_FILE), { force: true });
      return { preview: null, reason: `the preview has ${made.frames} frames where the video has ${ctx.frameCount}`, player };
    }
    return { preview: { file: PREVIEW_FILE, ...made }, reason: null, player };
  } catch (error) {
    // A source ffmpeg can decode (it was tracked) but not turn into a preview: the job keeps its
    // JSON and its player's boxes, without a video to draw them on.
    if (error instanceof ToolFailure) return { preview: null, reason: `ffmpeg could not make the preview of "${ctx.displayName}": ${(error.stderr.trim().split('\n').at(-1) ?? '') || error.message}`, player };
    throw error;
  }
}

/** Run the stage: the player's frame windows, then the preview video (when size > 0). */
export async function preview(
  ctx: PreviewVideoContext & {
    width: number;
    height: number;
    fps: number;
    frameTimes?: readonly number[];
    pool?: Piscina;
    onWorker?: (report: WorkerReport) => void;
  },
): Promise<PreviewOutput> {
  await clearTemps(ctx.jobDir);
  const index = await readMergeIndex(ctx.jobDir, ctx.frameCount);
  let windows: number;
  try {
    const task = { task: 'player' as const, jobDir: ctx.jobDir, index, frameTimes: ctx.frameTimes ? [...ctx.frameTimes] : undefined, width: ctx.width, height: ctx.height, fps: ctx.fps };
    windows = (await runInWorker(task, ctx.pool, ctx.onWorker)).windows;
  } catch (error) {
    if (error instanceof PipelineError) throw error;
    throw await diskFullError(error, ctx.jobDir, `writing the player's frames of "${ctx.displayName}"`);
  }
  return previewVideo(ctx, windows);
}
