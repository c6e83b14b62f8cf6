/**
 * The emit stage: turn `jobDir/merged.json` into the user's `outbox/<name>.json` (schema
 * `posepipe/1`, described by schema/posepipe-output.schema.json). The document is a pure
 * function of its inputs: no timestamps, host paths or run ids, compact JSON with a fixed key
 * order, so two runs give identical bytes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import { diskFullError, formatBytes } from '../disk.ts';
import { PipelineError } from '../errors.ts';
import type { MergeResult } from '../merge/index.ts';

/** The version string every output document carries. */
export const OUTPUT_SCHEMA = 'posepipe/1';

/** Facts about the source video, as they appear in the output. */
export interface SourceFacts {
  name: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  durationSeconds: number;
  codec: string;
}

/** Input of the emit stage. */
export interface EmitContext {
  jobDir: string;
  /** Absolute path of the final output file in the outbox. */
  outboxFile: string;
  source: SourceFacts;
  tracker: { backend: string; version: string; device: string; precision?: string };
  chunks: Array<{ index: number; firstFrame: number; frameCount: number; overlapFrames: number }>;
  /**
   * Every frame's presentation time in the source (seconds), frame by frame (the chunk stage's
   * frame-times.json); without it a frame's time is index / fps.
   */
  frameTimes?: readonly number[];
  /** Which backend extras each person keeps (the `extras` setting); all when not given. */
  extras?: 'all' | readonly string[];
}

/** What the emit stage records. */
export interface EmitOutput {
  file: string;
  bytes: number;
  sha256: string;
}

/** jobDir/merged.json, checked to hold frames 0..frameCount-1 exactly (emit and the preview stage read it). */
export async function readMerged(jobDir: string, frameCount: number): Promise<MergeResult> {
  const file = join(jobDir, 'merged.json');
  let merged: MergeResult;
  try {
    merged = JSON.parse(await readFile(file, 'utf8')) as MergeResult;
  } catch (error) {
    throw new PipelineError('internal', `Cannot read the merged result ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(merged?.frames) || !Array.isArray(merged.tracks)) {
    throw new PipelineError('internal', `The merged result ${file} has no frames or tracks`);
  }
  if (merged.frames.length !== frameCount || merged.frames.some((frame, i) => frame?.index !== i)) {
    throw new PipelineError('internal', `The merged result ${file} does not hold frames 0..${frameCount - 1} exactly`);
  }
  return merged;
}

/** The tracker section: `precision` only where the backend runs a model at a chosen precision. */
function trackerSection(t: EmitContext['tracker']): EmitContext['tracker'] {
  const section = { backend: t.backend, version: t.version, device: t.device };
  return t.precision === undefined ? section : { ...section, precision: t.precision };
}

/** The output document, built field by field so its key order (and bytes) never depend on the caller. */
function buildDocument(ctx: EmitContext, merged: MergeResult): unknown {
  const s = ctx.source;
  if (!(Number.isFinite(s.fps) && s.fps > 0)) throw new PipelineError('internal', `Cannot emit: fps is ${s.fps}`);
  return {
    schema: OUTPUT_SCHEMA,
    source: {
      name: s.name,
      sha256: s.sha256,
      bytes: s.bytes,
      width: s.width,
      height: s.height,
      fps: s.fps,
      frameCount: s.frameCount,
      durationSeconds: s.durationSeconds,
      codec: s.codec,
    },
    tracker: trackerSection(ctx.tracker),
    chunks: [...ctx.chunks]
      .sort((a, b) => a.firstFrame - b.firstFrame)
      .map((c) => ({ index: c.index, firstFrame: c.firstFrame, frameCount: c.frameCount, overlapFrames: c.overlapFrames })),
    tracks: merged.tracks.map((t) => ({ id: t.id, firstFrame: t.firstFrame, lastFrame: t.lastFrame, frames: t.frames })),
    frames: merged.frames.map((frame) => frameEntry(keepExtras(frame, ctx.extras ?? 'all'), ctx.frameTimes, s.fps)),
  };
}

const micro = (seconds: number): number => Math.round(seconds * 1e6) / 1e6;

/** The frame with each person's track, bbox and score, and only the extras named (in their own order). */
function keepExtras(frame: MergeResult['frames'][number], extras: 'all' | readonly string[]): MergeResult['frames'][number] {
  if (extras === 'all') return frame;
  return {
    index: frame.index,
    persons: frame.persons.map((p) => Object.fromEntries(Object.entries(p).filter(([key]) => key === 'track' || key === 'bbox' || key === 'score' || extras.includes(key))) as typeof p),
  };
}

/**
 * One frame: `time` is its presentation time counted from the first frame's (a stream that starts
 * at 10 s, or after an edit list, still starts at 0), `sourceTime` the time the source gives it;
 * both to the microsecond. Without the source's times, time = index / fps and no sourceTime.
 */
function frameEntry(frame: MergeResult['frames'][number], times: readonly number[] | undefined, fps: number): unknown {
  const time = outputTime(frame.index, times, fps);
  if (!times) return { index: frame.index, time, persons: frame.persons };
  return { index: frame.index, time, sourceTime: micro(times[frame.index]!), persons: frame.persons };
}

/** A frame's `time` in the output: from the first frame's presentation time, else index / fps; to the microsecond. */
export function outputTime(index: number, times: readonly number[] | undefined, fps: number): number {
  return micro(times ? times[index]! - times[0]! : index / fps);
}


/** Write the job's output document to `ctx.outboxFile` atomically. */
export async function emit(ctx: EmitContext): Promise<EmitOutput> {
  const merged = await readMerged(ctx.jobDir, ctx.source.frameCount);
  if (ctx.frameTimes && ctx.frameTimes.length !== ctx.source.frameCount) {
    throw new PipelineError('internal', `Cannot emit: ${ctx.frameTimes.length} frame times for ${ctx.source.frameCount} frames`);
  }
  const data = Buffer.from(`${JSON.stringify(buildDocument(ctx, merged))}\n`, 'utf8');
  try {
    await writeFileAtomic(ctx.outboxFile, data);
  } catch (error) {
    // A full outbox leaves nothing behind (the temp file is removed): say where, and how much.
    throw await diskFullError(error, dirname(ctx.outboxFile), `writing "${basename(ctx.outboxFile)}" (${formatBytes(data.length)})`);
  }
  return { file: ctx.outboxFile, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}
