import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';
import { countPackets, segmentVideo, type VideoFacts } from '../media/index.ts';

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
  framesPerChunk: number;
  chunks: ChunkFile[];
}

const FINAL_DIR = 'chunks';
const TEMP_PREFIX = `${FINAL_DIR}.tmp-`;

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Chunk stage: cut the staged source into chunks of round(chunkSeconds * fps) frames in a temp
 * folder, check every chunk's frame count, then rename the folder to `chunks` (replacing one left
 * by a crashed attempt). Running it twice gives the same files.
 */
export async function chunk(ctx: {
  jobDir: string;
  source: string;
  displayName: string;
  facts: VideoFacts;
  chunkSeconds: number;
  onProgress?: (framesDone: number) => void;
}): Promise<ChunkOutput> {
  const framesPerChunk = Math.max(1, Math.round(ctx.chunkSeconds * ctx.facts.fps));
  // Temp folders of earlier attempts were killed mid-way (one instance per data folder).
  for (const name of await readdir(ctx.jobDir)) {
    if (name.startsWith(TEMP_PREFIX)) await rm(join(ctx.jobDir, name), { recursive: true, force: true });
  }
  const tempName = `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  const tempDir = join(ctx.jobDir, tempName);
  await mkdir(tempDir);
  try {
    const { files } = await segmentVideo({ cwd: ctx.jobDir, input: ctx.source, outDir: tempName, framesPerChunk, onProgress: ctx.onProgress });
    if (files.length === 0) throw new PipelineError('internal', `Chunking "${ctx.displayName}" produced no chunks`);
    const chunks: ChunkFile[] = [];
    let firstFrame = 0;
    for (const [index, file] of files.entries()) {
      // Our chunks are H.264 without dropped packets: one packet per frame, and counting packets
      // only demuxes (the tests check it against decoded counts).
      const frameCount = await countPackets(join(ctx.jobDir, file));
      const isLast = index === files.length - 1;
      if (isLast ? frameCount < 1 || frameCount > framesPerChunk : frameCount !== framesPerChunk) {
        const expected = isLast ? `1 to ${framesPerChunk}` : `${framesPerChunk}`;
        throw new PipelineError('internal', `Chunking "${ctx.displayName}": chunk ${index} of ${files.length} has ${frameCount} frames, expected ${expected}`);
      }
      chunks.push({ index, file: `${FINAL_DIR}/${file.slice(tempName.length + 1)}`, firstFrame, frameCount });
      firstFrame += frameCount;
    }
    const output: ChunkOutput = { totalFrames: firstFrame, framesPerChunk, chunks };
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
    throw error;
  }
}
