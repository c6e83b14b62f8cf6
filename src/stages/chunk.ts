import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_SPEC } from '../config.ts';
import { checkFreeSpace, diskFullError } from '../disk.ts';
import { InputError, PipelineError } from '../errors.ts';
import { MAX_CHUNK_RATIO, segmentVideo, type SegmentMethod, type VideoFacts } from '../media/index.ts';
import { FRAME_TIMES_FILE } from '../paths.ts';
import { chunkNumber } from '../chunk-number.ts';

/** One chunk as later stages see it. */
export interface ChunkFile {
  index: number;
  /** Relative to the job folder, e.g. "chunks/0003.mp4". */
  file: string;
  /** Absolute index (in the whole video) of the chunk's first frame. */
  firstFrame: number;
  frameCount: number;
}

/** What the chunk stage leaves in `jobDir/chunks`, also written there as chunks.json. */
export interface ChunkOutput {
  totalFrames: number;
  /** The target: every chunk's length when encoded; copied chunks end at the source's keyframes. */
  framesPerChunk: number;
  /** 'copy': the source's packets cut at its keyframes; 'encode': re-encoded to H.264. */
  method: SegmentMethod;
  chunks: ChunkFile[];
  /**
   * Relative to the job folder ("chunks/frame-times.json"): a JSON array of every frame's
   * presentation time in the source, in seconds, frame by frame; absent when the source's times
   * could not be read (and in jobs chunked before posepipe read them): time is then index / fps.
   */
  frameTimesFile?: string;
}

/** Name of the frame times file inside the chunks folder (FRAME_TIMES_FILE in the job's). */
const FRAME_TIMES = FRAME_TIMES_FILE.slice(FRAME_TIMES_FILE.lastIndexOf('/') + 1);

/** Why `counts` break the contract of `method`, or null when they keep it. */
function countProblem(method: SegmentMethod, counts: readonly number[], framesPerChunk: number): string | null {
  for (const [index, count] of counts.entries()) {
    const isLast = index === counts.length - 1;
    const max = method === 'copy' ? Math.floor(MAX_CHUNK_RATIO * framesPerChunk) : framesPerChunk;
    const ok = method === 'encode' && !isLast ? count === framesPerChunk : count >= 1 && count <= max;
    if (!ok) {
      const expected = method === 'encode' && !isLast ? `${framesPerChunk}` : `1 to ${max}`;
      return `chunk ${chunkNumber(index)} of ${counts.length} has ${count} frames, expected ${expected} (${method})`;
    }
  }
  return null;
}

/** The configuration's default maxChunks (a test checks they agree). */
export const DEFAULT_MAX_CHUNKS = 2000;

/**
 * Bytes the chunks may take: re-encoded ultrafast CRF 18 chunks measured 3.4-3.8x their source
 * (street-people, testsrc2) and 0.03-0.06 bytes per pixel per frame; copied chunks are about the
 * source's size. The larger of 4x the source and 0.05 bytes per pixel per frame covers both.
 */
export function chunkBytesEstimate(facts: VideoFacts): number {
  const pixels = facts.width * facts.height * (facts.frameCountEstimate ?? 0);
  return Math.ceil(Math.max(4 * facts.bytes, 0.05 * pixels));
}

/** Refuse, before cutting anything, a video that would make more than `maxChunks` chunks. */
function checkChunkCount(ctx: { displayName: string; facts: VideoFacts; chunkSeconds: number; maxChunks?: number }, framesPerChunk: number): void {
  const maxChunks = ctx.maxChunks ?? DEFAULT_MAX_CHUNKS;
  const chunks = Math.ceil((ctx.facts.frameCountEstimate ?? 0) / framesPerChunk);
  if (chunks > maxChunks) {
    throw new InputError(
      `Cannot process "${ctx.displayName}": about ${ctx.facts.frameCountEstimate} frames make ${chunks} chunks of ${framesPerChunk} frames (${ctx.chunkSeconds} s), more than the limit ${maxChunks} (${CONFIG_SPEC.maxChunks.env} or ${CONFIG_SPEC.chunkSeconds.env})`,
    );
  }
}

const FINAL_DIR = 'chunks';
const TEMP_PREFIX = `${FINAL_DIR}.tmp-`;

/**
 * The frame times the chunk stage wrote for the job in `jobDir` (FRAME_TIMES_FILE: seconds, frame by
 * frame); PipelineError('internal') when the file is gone, damaged or not a list of seconds.
 */
export async function readFrameTimes(jobDir: string): Promise<number[]> {
  const file = join(jobDir, FRAME_TIMES_FILE);
  let times: unknown;
  try {
    times = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new PipelineError('internal', `Cannot read the frame times ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(times) || !times.every((t) => typeof t === 'number' && Number.isFinite(t))) throw new PipelineError('internal', `The frame times ${file} are not a list of seconds`);
  return times as number[];
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Chunk stage: cut the staged source into chunks of about round(chunkSeconds * fps) frames in a
 * temp folder (stream copy at the source's keyframes when that is exact and the source needs no
 * rotation, else exactly that many by re-encoding), check every chunk's frame count, then rename
 * the folder to `chunks` (replacing one left by a crashed attempt). Running it twice gives the
 * same files.
 */
export async function chunk(ctx: {
  jobDir: string;
  source: string;
  displayName: string;
  facts: VideoFacts;
  chunkSeconds: number;
  /** At most this many chunks, from the probe's frame estimate; default DEFAULT_MAX_CHUNKS. */
  maxChunks?: number;
  /** Free space (MiB) to keep on the job folder's filesystem after chunking; default DEFAULT_MIN_FREE_MB. */
  minFreeMb?: number;
  onProgress?: (framesDone: number) => void;
}): Promise<ChunkOutput> {
  const framesPerChunk = Math.max(1, Math.round(ctx.chunkSeconds * ctx.facts.fps));
  checkChunkCount(ctx, framesPerChunk);
  // Temp folders of earlier attempts were killed mid-way (one instance per data folder).
  for (const name of await readdir(ctx.jobDir)) {
    if (name.startsWith(TEMP_PREFIX)) await rm(join(ctx.jobDir, name), { recursive: true, force: true });
  }
  const what = `chunking "${ctx.displayName}"`;
  await checkFreeSpace({ dir: ctx.jobDir, what, bytes: chunkBytesEstimate(ctx.facts), minFreeMb: ctx.minFreeMb });
  const tempName = `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  const tempDir = join(ctx.jobDir, tempName);
  await mkdir(tempDir);
  try {
    // Copied chunks keep the stored pictures: a rotated source is re-encoded so chunks are upright.
    const { method, files, frameCounts, frameTimes } = await segmentVideo({
      cwd: ctx.jobDir,
      input: ctx.source,
      outDir: tempName,
      framesPerChunk,
      allowCopy: ctx.facts.rotation === 0,
      onProgress: ctx.onProgress,
    });
    if (files.length === 0) throw new PipelineError('internal', `Chunking "${ctx.displayName}" produced no chunks`);
    const problem = frameCounts.length === files.length ? countProblem(method, frameCounts, framesPerChunk) : 'frame counts do not match the files';
    if (problem) throw new PipelineError('internal', `Chunking "${ctx.displayName}": ${problem}`);
    const chunks: ChunkFile[] = [];
    let firstFrame = 0;
    for (const [index, file] of files.entries()) {
      chunks.push({ index, file: `${FINAL_DIR}/${file.slice(tempName.length + 1)}`, firstFrame, frameCount: frameCounts[index]! });
      firstFrame += frameCounts[index]!;
    }
    const output: ChunkOutput = { totalFrames: firstFrame, framesPerChunk, method, chunks };
    if (frameTimes && frameTimes.length === firstFrame) {
      // FRAME_TIMES_FILE, once tempDir becomes the chunks folder.
      await writeFile(join(tempDir, FRAME_TIMES), JSON.stringify(frameTimes));
      await fsyncPath(join(tempDir, FRAME_TIMES));
      output.frameTimesFile = FRAME_TIMES_FILE;
    }
    await writeFile(join(tempDir, 'chunks.json'), `${JSON.stringify(output, null, 2)}\n`);
    // Flush before the rename: the pipeline records the stage done right after we return.
    for (const file of files) await fsyncPath(join(ctx.jobDir, file));
    await fsyncPath(join(tempDir, 'chunks.json'));
    await fsyncPath(tempDir);
    await rm(join(ctx.jobDir, FINAL_DIR), { recursive: true, force: true });
    await rename(tempDir, join(ctx.jobDir, FINAL_DIR));
    await fsyncPath(ctx.jobDir);
    return output;
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw await diskFullError(error, ctx.jobDir, what);
  }
}
