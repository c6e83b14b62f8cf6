/**
 * What each stage does for a job: call the stage function with what earlier stages recorded,
 * then record its output (finishStage) once its files are in place. The pipeline (pipeline.ts)
 * decides which stage runs and records its start and failure.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exportsList, extrasFilter, type Config } from '../config.ts';
import type { Crashpoints } from '../crashpoint.ts';
import { outputFormatOf, type ChunkRow, type Db, type JobRow, type StageName } from '../db/index.ts';
import { PipelineError } from '../errors.ts';
import { writeJobExports } from '../exports/index.ts';
import type { VideoFacts } from '../media/index.ts';
import { ChunkResultError } from '../merge/index.ts';
import { jobDir, MERGE_INDEX_FILE } from '../paths.ts';
import { redoChunk, resultProblem } from '../reconcile.ts';
import { chunk, readFrameTimes, type ChunkOutput } from '../stages/chunk.ts';
import { emit } from '../stages/emit.ts';
import { merge, type MergeOutput, type WorkerReport } from '../stages/merge.ts';
import { preview } from '../stages/preview.ts';
import { probe } from '../stages/probe.ts';
import { stage, type StageOutput } from '../stages/stage.ts';
import type { TrackerInfo } from '../stages/track.ts';
import { parseSettings } from '../work-settings.ts';
import type { ChunkTracking, TrackControl } from './types.ts';

/** What the steps need. */
export interface StageStepsDeps {
  db: Db;
  config: Config;
  log: (line: string) => void;
  crash: Crashpoints;
  tracking: ChunkTracking;
}

/** The seven stages' work for the pipeline. */
export class StageSteps {
  readonly #db: Db;
  readonly #config: Config;
  readonly #log: (line: string) => void;
  readonly #crash: Crashpoints;
  readonly #tracking: ChunkTracking;

  constructor(deps: StageStepsDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#log = deps.log;
    this.#crash = deps.crash;
    this.#tracking = deps.tracking;
  }

  #output<T>(jobId: number, name: StageName): T {
    const row = this.#db.listStages(jobId).find((s) => s.name === name);
    if (!row?.output_json) throw new PipelineError('internal', `stage ${name} of job ${jobId} has no recorded output`);
    return JSON.parse(row.output_json) as T;
  }

  /** Run one stage; it records its own output (finishStage) once its files are in place. */
  async run(job: JobRow, name: StageName, dir: string, control: TrackControl): Promise<void> {
    switch (name) {
      case 'stage':
        return this.#stepStage(job, dir);
      case 'probe':
        return this.#stepProbe(job, dir);
      case 'chunk':
        return this.#stepChunk(job, dir);
      case 'track':
        return this.#stepTrack(job, dir, control);
      case 'merge':
        return this.#stepMerge(job, dir);
      case 'emit':
        return this.#stepEmit(job, dir);
      case 'preview':
        return this.#stepPreview(job, dir);
    }
  }

  /** Copy the source into the job folder and verify its hash. */
  async #stepStage(job: JobRow, dir: string): Promise<void> {
    const config = this.#config;
    const out = await stage({ jobDir: dir, sourcePath: job.source_path_bytes ?? job.source_path, displayName: job.source_name, sha256: job.source_sha256, minFreeMb: config.minFreeMb });
    this.#crash.reach('staged');
    this.#db.finishStage(job.id, 'stage', out);
  }

  /** Read the staged video's facts, refusing what is over the limits. */
  async #stepProbe(job: JobRow, dir: string): Promise<void> {
    const config = this.#config;
    const staged = this.#output<StageOutput>(job.id, 'stage');
    const facts = await probe({
      sourcePath: join(dir, staged.file),
      displayName: job.source_name,
      limits: { maxWidth: config.maxWidth, maxHeight: config.maxHeight, maxDurationSeconds: config.maxDurationSeconds },
    });
    this.#db.finishStage(job.id, 'probe', facts);
  }

  /** Cut the video into chunks and record one row per chunk (overlap from the previous row). */
  async #stepChunk(job: JobRow, dir: string): Promise<void> {
    const config = this.#config;
    const staged = this.#output<StageOutput>(job.id, 'stage');
    const facts = this.#output<VideoFacts>(job.id, 'probe');
    const out = await chunk({ jobDir: dir, source: staged.file, displayName: job.source_name, facts, chunkSeconds: config.chunkSeconds, maxChunks: config.maxChunks, minFreeMb: config.minFreeMb });
    const rows = out.chunks.map((c, i) => ({
      idx: c.index,
      file: c.file,
      firstFrame: c.firstFrame,
      frameCount: c.frameCount,
      overlapFrames: i === 0 ? 0 : Math.min(config.overlapFrames, out.chunks[i - 1]!.frameCount),
    }));
    rmSync(join(dir, 'results'), { recursive: true, force: true });
    this.#crash.reach('chunked');
    this.#db.finishStage(job.id, 'chunk', out, () => this.#db.replaceChunks(job.id, rows));
  }

  /** Track every chunk not done yet (track-loop.ts). */
  async #stepTrack(job: JobRow, dir: string, control: TrackControl): Promise<void> {
    const info = await this.#tracking.trackAll(job, dir, control);
    this.#db.finishStage(job.id, 'track', info);
  }

  /**
   * Check every chunk result (there, whole), then merge them; damaged results are tracked again
   * first. The merge worker refuses a result whose bytes differ from the hash recorded when it was
   * tracked, as it reads it (one read of each file, not two).
   */
  async #stepMerge(job: JobRow, dir: string): Promise<void> {
    const chunks = this.#db.listChunks(job.id);
    let damaged = 0;
    for (const c of chunks) {
      const problem = resultProblem(this.#config, job.id, c, true);
      if (problem) {
        this.#redoChunk(job.id, c, problem);
        damaged++;
      }
    }
    if (damaged) throw new RedoChunks(damaged);
    const out = await this.#redoingDamaged(job, () => this.#mergeResults(job.id, dir, chunks));
    this.#crash.reach('merged');
    this.#db.finishStage(job.id, 'merge', out);
  }

  /** Merge job `jobId`'s chunk results into dir/merge.json. */
  #mergeResults(jobId: number, dir: string, chunks: readonly ChunkRow[]): Promise<MergeOutput> {
    const totalFrames = this.#output<ChunkOutput>(jobId, 'chunk').totalFrames;
    const facts = this.#output<VideoFacts>(jobId, 'probe');
    return merge({
      jobDir: dir,
      totalFrames,
      pictureFacts: { width: facts.width, height: facts.height, fps: facts.fps, frameCount: totalFrames },
      chunks: chunks.map((c) => ({ index: c.idx, resultPath: join(dir, c.result_file!), firstFrame: c.first_frame, frameCount: c.frame_count, overlapFrames: c.overlap_frames, sha256: c.result_sha256 ?? undefined })),
      onWorker: this.#workerLog(jobId),
    });
  }

  /**
   * A job merged before posepipe streamed its output kept merged.json, not merge.json: when its
   * output is written again (its JSON deleted, or a copy of it dropped), its chunk results are
   * merged again first (the same ids), and the merge stage's record follows.
   */
  async #mergeIndexFor(job: JobRow, from: number, dir: string): Promise<void> {
    if (existsSync(join(dir, MERGE_INDEX_FILE))) return;
    const out = await this.#redoingDamaged(job, () => this.#mergeResults(from, dir, this.#db.listChunks(from)));
    this.#db.replaceStageOutput(from, 'merge', out);
    this.#log(`job ${from}: it has no ${MERGE_INDEX_FILE} (merged by an older posepipe): its chunk results were merged again`);
  }

  /** Write the output JSON into the outbox. */
  async #stepEmit(job: JobRow, ownDir: string): Promise<void> {
    const config = this.#config;
    // A copy is written from its original's result: the same frames under its own name.
    const from = job.copy_of ?? job.id;
    const dir = job.copy_of === null ? ownDir : jobDir(config, from);
    const staged = this.#output<StageOutput>(from, 'stage');
    const facts = this.#output<VideoFacts>(from, 'probe');
    const chunked = this.#output<ChunkOutput>(from, 'chunk');
    const tracker = this.#output<TrackerInfo>(from, 'track');
    mkdirSync(config.outbox, { recursive: true });
    await this.#mergeIndexFor(job, from, dir);
    const frameTimes = chunked.frameTimesFile ? await readFrameTimes(dir) : undefined;
    const out = await this.#redoingDamaged(job, () => emit({
      jobDir: dir,
      outboxFile: join(config.outbox, job.output_name),
      source: {
        name: job.source_name,
        sha256: staged.sha256,
        bytes: staged.bytes,
        width: facts.width,
        height: facts.height,
        fps: facts.fps,
        frameCount: chunked.totalFrames,
        durationSeconds: facts.durationSeconds,
        codec: facts.codec,
      },
      tracker: { backend: tracker.backend, version: tracker.version, device: tracker.device, precision: tracker.precision },
      chunks: this.#db.listChunks(from).map((c) => ({ index: c.idx, firstFrame: c.first_frame, frameCount: c.frame_count, overlapFrames: c.overlap_frames })),
      frameTimes,
      extras: extrasFilter(config.extras),
      format: outputFormatOf(job.output_name),
      onWorker: this.#workerLog(job.id),
    }));
    // The chosen exports are part of emit: a crash before the stage is recorded writes them again.
    const exported = await writeJobExports(out.file, job.output_name, parseSettings(job.settings_json), exportsList(config.exports), config.outbox, (line) => this.#log(`job ${job.id}: ${line}`), { python: config.python });
    for (const file of exported) this.#log(`job ${job.id}: wrote ${file}`);
    this.#crash.reach('emitted');
    this.#db.finishStage(job.id, 'emit', out);
  }

  /** The player's files: the preview video and the frame windows the page fetches. */
  async #stepPreview(job: JobRow, dir: string): Promise<void> {
    const staged = this.#output<StageOutput>(job.id, 'stage');
    const facts = this.#output<VideoFacts>(job.id, 'probe');
    const chunked = this.#output<ChunkOutput>(job.id, 'chunk');
    const frameTimes = chunked.frameTimesFile ? await readFrameTimes(dir) : undefined;
    const out = await this.#redoingDamaged(job, () => preview({
      jobDir: dir,
      source: staged.file,
      displayName: job.source_name,
      size: this.#config.previewSize,
      width: facts.width,
      height: facts.height,
      fps: facts.fps,
      frameCount: chunked.totalFrames,
      frameTimes,
      onWorker: this.#workerLog(job.id),
    }));
    if (out.reason && this.#config.previewSize > 0) this.#log(`job ${job.id}: no preview video: ${out.reason}`);
    this.#db.finishStage(job.id, 'preview', out);
  }

  /** One log line per task in the merge worker: how long, and the thread's peak memory. */
  #workerLog(jobId: number): (report: WorkerReport) => void {
    return (r) => this.#log(`job ${jobId}: ${r.task} took ${r.seconds.toFixed(1)} s in worker thread ${r.threadId}, its peak ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB of heap and buffers`);
  }

  /**
   * A chunk result that reads as damaged (or changed since the merge) is tracked again rather than
   * used: merge, emit and preview all read the chunk results. A copy's results are its original's,
   * which its own walk does not redo: its stage fails instead.
   */
  #redoDamaged(job: JobRow, error: unknown): never {
    const chunks = job.copy_of === null ? this.#db.listChunks(job.id) : [];
    const bad = error instanceof ChunkResultError && error.chunkIndex !== undefined ? chunks.find((c) => c.idx === error.chunkIndex) : undefined;
    if (!bad) throw error;
    this.#redoChunk(job.id, bad, (error as ChunkResultError).message);
    throw new RedoChunks(1);
  }

  async #redoingDamaged<T>(job: JobRow, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      return this.#redoDamaged(job, error);
    }
  }

  #redoChunk(jobId: number, c: ChunkRow, reason: string): void {
    redoChunk({ db: this.#db, config: this.#config, log: this.#log }, jobId, c, reason);
  }
}

/** Some chunk results were damaged and sent back to pending: the walk restarts at `track`. */
export class RedoChunks extends Error {
  constructor(count: number) {
    super(`${count} chunk result(s) damaged; tracking them again`);
    this.name = 'RedoChunks';
  }
}

