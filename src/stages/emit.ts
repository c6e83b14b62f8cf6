/**
 * The emit stage: stream the user's `outbox/<name>.json` (schema `posepipe/1`, described by
 * schema/posepipe-output.schema.json) from the chunk results, as merge.json says to join them.
 * The document is a pure function of its inputs: no timestamps, host paths or run ids, compact
 * JSON with a fixed key order, so two runs give identical bytes. It is written frame by frame in
 * the merge's worker thread (temp name, fsync, rename): no step holds all frames or the whole
 * document as one string, whatever the video's length.
 */
import { basename, dirname } from 'node:path';
import type { Piscina } from 'piscina';
import type { OutputFormat } from '../config.ts';
import { diskFullError, formatBytes } from '../disk.ts';
import { PipelineError } from '../errors.ts';
import { type MergeIndex, readMergeIndex } from '../merge/index.ts';
import { runInWorker, type WorkerReport } from './merge.ts';

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
  /** One JSON document (the default), or JSON Lines: the document without its frames on the first line, then one frame a line. */
  format?: OutputFormat;
  /** A pool to run in; without one the stages' own (see closeMergePool). */
  pool?: Piscina;
  onWorker?: (report: WorkerReport) => void;
}

/** What the emit stage records. */
export interface EmitOutput {
  file: string;
  bytes: number;
  sha256: string;
}

/** The tracker section: `precision` only where the backend runs a model at a chosen precision. */
function trackerSection(t: EmitContext['tracker']): EmitContext['tracker'] {
  const section = { backend: t.backend, version: t.version, device: t.device };
  return t.precision === undefined ? section : { ...section, precision: t.precision };
}

/** Every field of the output document but the frames, built field by field so its key order (and bytes) never depend on the caller. */
function documentHeader(ctx: EmitContext, index: MergeIndex): object {
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
    tracks: index.tracks.map((t) => ({ id: t.id, firstFrame: t.firstFrame, lastFrame: t.lastFrame, frames: t.frames })),
  };
}

/** Write the job's output document to `ctx.outboxFile` atomically, streamed from the chunk results. */
export async function emit(ctx: EmitContext): Promise<EmitOutput> {
  const index = await readMergeIndex(ctx.jobDir, ctx.source.frameCount);
  if (ctx.frameTimes && ctx.frameTimes.length !== ctx.source.frameCount) {
    throw new PipelineError('internal', `Cannot emit: ${ctx.frameTimes.length} frame times for ${ctx.source.frameCount} frames`);
  }
  const header = documentHeader(ctx, index);
  try {
    const task = { task: 'emit' as const, jobDir: ctx.jobDir, index, outboxFile: ctx.outboxFile, header, frameTimes: ctx.frameTimes ? [...ctx.frameTimes] : undefined, fps: ctx.source.fps, extras: ctx.extras ?? 'all', format: ctx.format ?? 'json' };
    const { bytes, sha256 } = await runInWorker(task, ctx.pool, ctx.onWorker);
    return { file: ctx.outboxFile, bytes, sha256 };
  } catch (error) {
    // A full outbox leaves nothing behind (the temp file is removed): say where, and how far it got.
    const written = (error as { written?: number }).written;
    throw await diskFullError(error, dirname(ctx.outboxFile), `writing "${basename(ctx.outboxFile)}"${written === undefined ? '' : ` (${formatBytes(written)} written)`}`);
  }
}
