import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import { extractFrameJpeg } from '../media/index.ts';
import { cachedFrameTimes } from './frame-times.ts';
import { THUMB_WIDTH, type Pictures } from './pictures.ts';

/** Extractions under way, by thumbnail path: concurrent requests for one frame share one ffmpeg run. */
const inFlight = new Map<string, Promise<string | undefined>>();

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function extract(jobDir: string, sourceFile: string, frame: number, fps: number, file: string): Promise<string | undefined> {
  if (await isFile(file)) return file;
  if (!(await isFile(sourceFile))) return undefined;
  const jpeg = await extractFrameJpeg({ source: sourceFile, frameIndex: frame, fps, width: THUMB_WIDTH, sourceTime: (await cachedFrameTimes(jobDir))?.[frame] });
  await mkdir(join(jobDir, 'thumbs'), { recursive: true });
  await writeFileAtomic(file, jpeg);
  return file;
}

/**
 * Absolute path of the JPEG thumbnail of a picked frame, extracted on first use into
 * jobDir/thumbs/<frame>.jpg (atomic); undefined for a frame that is not one of pictures.frames
 * (so a URL can only name files we make: no negative, fractional, NaN or huge numbers reach a path)
 * or when the source is gone. Concurrent calls for one frame share one ffmpeg run. A thumbnail
 * depends on the source alone, so one made for an earlier merge stays valid.
 */
export async function thumbnailFile(jobDir: string, sourceFile: string, frame: number, pictures: Pictures): Promise<string | undefined> {
  if (!Number.isSafeInteger(frame) || frame < 0 || !pictures.frames.some((f) => f.index === frame)) return undefined;
  const file = resolve(jobDir, 'thumbs', `${frame}.jpg`);
  let running = inFlight.get(file);
  if (!running) {
    running = extract(jobDir, sourceFile, frame, pictures.fps, file).finally(() => inFlight.delete(file));
    inFlight.set(file, running);
  }
  return running;
}
