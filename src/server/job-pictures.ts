/**
 * The done job page's pictures (thumbnail strip and track timeline from src/pictures) and the
 * thumbnails they link to. A job without pictures, or whose merged result cannot be drawn, still
 * gets its page: the pictures are a view of the result, never a reason to fail.
 */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { jobDir } from '../paths.ts';
import { cachedFrameTimes, loadPictures, thumbStripHtml, trackTimelineHtml } from '../pictures/index.ts';
import type { JobPageView, SourceFacts } from '../views.ts';
import { escapeHtml } from './page.ts';

type Pictures = NonNullable<Awaited<ReturnType<typeof loadPictures>>>;

/** Frame times counted from the first frame's, made once per job's times (cachedFrameTimes gives the same array each time): a long video has 100,000s of frames, and the page is asked for again and again. */
const fromFirstOf = new WeakMap<readonly number[], number[]>();
function fromFirst(times: readonly number[]): number[] {
  let relative = fromFirstOf.get(times);
  if (!relative) fromFirstOf.set(times, (relative = times.map((t) => t - times[0]!)));
  return relative;
}

/** A done job's pictures and its staged source, or undefined when there are none to draw. */
export async function jobPictures(config: Config, job: { id: number; state: string; copyOf: number | null }, source: { facts: SourceFacts | null; stagedFile: string | null }): Promise<{ pictures: Pictures; sourceFile: string; times?: number[] } | undefined> {
  const f = source.facts;
  if (job.state !== 'done' || !f || !f.framesExact || f.frames === null || !source.stagedFile) return undefined;
  // A copy shows its original's result (the same frames).
  const dir = jobDir(config, job.copyOf ?? job.id);
  const pictures = await loadPictures(dir, { width: f.width, height: f.height, fps: f.fps, frameCount: f.frames });
  if (!pictures) return undefined;
  // The picked frames' times as the output gives them (the source's own, for variable frame rates).
  const times = await cachedFrameTimes(dir);
  if (!times || times.length !== f.frames) return { pictures, sourceFile: join(dir, source.stagedFile) };
  const relative = fromFirst(times);
  const frames = pictures.frames.map((frame) => ({ ...frame, time: relative[frame.index]! }));
  return { pictures: { ...pictures, frames }, sourceFile: join(dir, source.stagedFile), times: relative };
}

/** The pictures' HTML for the job page; a failure to draw them is shown in their place. */
export async function picturesHtml(config: Config, v: JobPageView): Promise<string> {
  if (v.job.state !== 'done') return '';
  try {
    const found = await jobPictures(config, v.job, v);
    return found ? thumbStripHtml(v.job.id, found.pictures) + trackTimelineHtml(found.pictures, found.times) : '';
  } catch (error) {
    return `<p class="muted" id="pictures">No pictures: ${escapeHtml((error as Error).message)}</p>`;
  }
}
