/**
 * Walks a job's stages in order; the only place that records stage transitions (chunk
 * transitions are recorded by its track loop, track-loop.ts). Every stage is a function of files
 * on disk plus the job row, so resuming after any crash is "run the first stage not done" — and,
 * inside `track`, "the first chunk not done".
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { Crashpoints } from './crashpoint.ts';
import { jobDir } from './paths.ts';
import { reconcile, redoChunk, resultProblem } from './reconcile.ts';
import { type ChunkRow, type Db, type JobRow, type StageName, STAGE_NAMES } from './db/index.ts';
import { classify, PipelineError } from './errors.ts';
import { chunk, type ChunkOutput } from './stages/chunk.ts';
import { emit } from './stages/emit.ts';
import { merge } from './stages/merge.ts';
import { ChunkResultError } from './merge/index.ts';
import { probe } from './stages/probe.ts';
import { hashFile, stage, type StageOutput } from './stages/stage.ts';
import type { TrackerInfo } from './stages/track.ts';
import { TrackLoop } from './track-loop.ts';
import type { VideoFacts } from './media/index.ts';
import type { TrackerWorker } from './tracker/index.ts';

/** What the pipeline tells a progress display. */
export type PipelineEvent =
  | { type: 'job'; jobId: number; name: string; state: 'running' | 'done' | 'failed' | 'cancelled'; message?: string }
  | { type: 'stage'; jobId: number; stage: StageName; state: 'running' | 'done' | 'failed' }
  | {
      type: 'chunk';
      jobId: number;
      idx: number;
      chunks: number;
      /** Frames of the whole video tracked so far, and its total. */
      framesDone: number;
      frames: number;
      /** Frames of this chunk tracked so far, and its own total. */
      chunkFramesDone: number;
      chunkFrames: number;
      state: 'running' | 'done' | 'retry' | 'failed';
    };

/**
 * How one run of a job ended; `stopped` means posepipe is shutting down and the job resumes later;
 * `cancelled` means a user cancelled it (a resume continues it).
 */
export type JobOutcome = 'done' | 'failed' | 'stopped' | 'cancelled';

/** What a pipeline needs. */
export interface PipelineDeps {
  db: Db;
  config: Config;
  tracker: TrackerWorker;
  onEvent?: (event: PipelineEvent) => void;
  log?: (line: string) => void;
}

export { jobDir } from './paths.ts';

/** How often a running job's row is read for a cancel asked by another process (the CLI). */
const CANCEL_POLL_MS = 500;

/** Runs jobs through the stages, recording each step in the database. */
export class Pipeline {
  readonly #db: Db;
  readonly #config: Config;
  readonly #tracker: TrackerWorker;
  readonly #emit: (event: PipelineEvent) => void;
  readonly #log: (line: string) => void;
  readonly #crash: Crashpoints;
  readonly #tracking: TrackLoop;
  #stopping = false;
  #wake: (() => void) | undefined;
  /** The job being run, and whether its cancel has been seen. */
  #current: { id: number; cancelled: boolean; tracking: boolean } | undefined;

  constructor(deps: PipelineDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#tracker = deps.tracker;
    this.#emit = deps.onEvent ?? (() => {});
    this.#log = deps.log ?? (() => {});
    this.#crash = new Crashpoints(deps.config.crashpoint);
    this.#tracking = new TrackLoop({ db: this.#db, config: this.#config, tracker: this.#tracker, emit: this.#emit, log: this.#log, crash: this.#crash });
  }

  /** At startup: see reconcile.ts. */
  reconcile(): void {
    reconcile({ db: this.#db, config: this.#config, log: this.#log });
  }

  /** Process queued jobs until stop(); waits for wake() (or a short poll) when idle or while intake is paused. */
  async runQueued(): Promise<void> {
    while (!this.#stopping) {
      const job = this.#db.intakePaused() ? undefined : this.#db.claimNextJob();
      if (!job) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
        continue;
      }
      await this.#run(job);
    }
  }

  /** A new job may be waiting. */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Carry out a cancel asked for the running job (by the page, or by the CLI through the database):
   * tracking stops at once (the worker is stopped; the next job starts a fresh one), any other
   * stage is let finish; the job becomes cancelled and its interrupted chunk pending.
   */
  checkCancel(): void {
    const current = this.#current;
    if (!current || current.cancelled || !this.#db.cancelRequested(current.id)) return;
    current.cancelled = true;
    this.#log(`job ${current.id}: cancelled`);
    if (current.tracking) void this.#tracker.stop();
    this.wake();
  }

  /** A line the worker wrote on stderr: kept in the log of the chunk being tracked. */
  workerLog(line: string): void {
    this.#tracking.workerLog(line);
  }

  /** Finish the current step, then stop taking jobs. */
  stop(): void {
    this.#stopping = true;
    this.wake();
  }

  /** Claim one queued job and run it to done or failed (the foreground `run`). */
  async runJob(jobId: number): Promise<JobOutcome> {
    return this.#run(this.#db.claimJob(jobId));
  }

  async #run(job: JobRow): Promise<JobOutcome> {
    this.#current = { id: job.id, cancelled: false, tracking: false };
    const poll = setInterval(() => this.checkCancel(), CANCEL_POLL_MS);
    try {
      return await this.#walk(job);
    } finally {
      clearInterval(poll);
      this.#current = undefined;
    }
  }

  #cancelled(job: JobRow): JobOutcome {
    this.#db.finishCancel(job.id);
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'cancelled' });
    return 'cancelled';
  }

  async #walk(job: JobRow): Promise<JobOutcome> {
    const dir = jobDir(this.#config, job.id);
    mkdirSync(dir, { recursive: true });
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'running' });
    let redoRounds = 0;
    for (let i = 0; i < STAGE_NAMES.length; i++) {
      const name = STAGE_NAMES[i]!;
      const row = this.#db.listStages(job.id).find((s) => s.name === name)!;
      if (row.state === 'done') continue;
      if (this.#stopping) return 'stopped';
      this.checkCancel();
      if (this.#current?.cancelled) return this.#cancelled(job);
      this.#db.startStage(job.id, name);
      this.#emit({ type: 'stage', jobId: job.id, stage: name, state: 'running' });
      try {
        await this.#runStage(job, name, dir);
        this.#emit({ type: 'stage', jobId: job.id, stage: name, state: 'done' });
      } catch (error) {
        // A graceful stop interrupts the work without failing it: the rows stay running and the
        // next start requeues them, exactly as after a crash.
        if (this.#stopping) return 'stopped';
        if (this.#current?.cancelled) return this.#cancelled(job);
        // Damaged chunk results were sent back to pending: track them again, then merge again.
        if (error instanceof RedoChunks && ++redoRounds <= this.#config.maxAttempts) {
          i = STAGE_NAMES.indexOf('track') - 1;
          continue;
        }
        const c = classify(error);
        const text = c.kind === 'internal' && !(error instanceof PipelineError) ? `posepipe bug in stage ${name}: ${c.message}` : c.message;
        this.#db.failStage(job.id, name, { kind: c.kind, text });
        this.#db.failJob(job.id, { kind: c.kind, text });
        this.#log(`job ${job.id} "${job.source_name}" failed in ${name}: ${text}`);
        this.#emit({ type: 'stage', jobId: job.id, stage: name, state: 'failed' });
        this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'failed', message: text });
        return 'failed';
      }
    }
    this.checkCancel();
    if (this.#current?.cancelled) return this.#cancelled(job);
    this.#db.finishJob(job.id);
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'done' });
    return 'done';
  }

  #output<T>(jobId: number, name: StageName): T {
    const row = this.#db.listStages(jobId).find((s) => s.name === name);
    if (!row?.output_json) throw new PipelineError('internal', `stage ${name} of job ${jobId} has no recorded output`);
    return JSON.parse(row.output_json) as T;
  }

  async #runStage(job: JobRow, name: StageName, dir: string): Promise<void> {
    const config = this.#config;
    switch (name) {
      case 'stage': {
        const out = await stage({ jobDir: dir, sourcePath: job.source_path_bytes ?? job.source_path, displayName: job.source_name, sha256: job.source_sha256, minFreeMb: config.minFreeMb });
        this.#crash.reach('staged');
        this.#db.finishStage(job.id, name, out);
        return;
      }
      case 'probe': {
        const staged = this.#output<StageOutput>(job.id, 'stage');
        const facts = await probe({
          sourcePath: join(dir, staged.file),
          displayName: job.source_name,
          limits: { maxWidth: config.maxWidth, maxHeight: config.maxHeight, maxDurationSeconds: config.maxDurationSeconds },
        });
        this.#db.finishStage(job.id, name, facts);
        return;
      }
      case 'chunk': {
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
        this.#db.finishStage(job.id, name, out, () => this.#db.replaceChunks(job.id, rows));
        return;
      }
      case 'track': {
        const info = await this.#tracking.trackAll(job, dir, {
          stopping: () => this.#stopping,
          cancelled: () => this.#current?.cancelled === true,
          tracking: (on) => {
            if (this.#current) this.#current.tracking = on;
          },
        });
        this.#db.finishStage(job.id, name, info);
        return;
      }
      case 'merge': {
        const chunks = this.#db.listChunks(job.id);
        let damaged = 0;
        for (const c of chunks) {
          const problem = resultProblem(this.#config, job.id, c, true) ?? (await this.#hashProblem(job.id, c));
          if (problem) {
            this.#redoChunk(job.id, c, problem);
            damaged++;
          }
        }
        if (damaged) throw new RedoChunks(damaged);
        let out;
        try {
          const totalFrames = this.#output<ChunkOutput>(job.id, 'chunk').totalFrames;
          const facts = this.#output<VideoFacts>(job.id, 'probe');
          out = await merge({
            jobDir: dir,
            totalFrames,
            pictureFacts: { width: facts.width, height: facts.height, fps: facts.fps, frameCount: totalFrames },
            chunks: chunks.map((c) => ({ index: c.idx, resultPath: join(dir, c.result_file!), firstFrame: c.first_frame, frameCount: c.frame_count, overlapFrames: c.overlap_frames })),
          });
        } catch (error) {
          // A result that reads as damaged is tracked again rather than merged from bad data.
          const bad = error instanceof ChunkResultError && error.chunkIndex !== undefined ? chunks[error.chunkIndex] : undefined;
          if (!bad) throw error;
          this.#redoChunk(job.id, bad, (error as ChunkResultError).message);
          throw new RedoChunks(1);
        }
        this.#crash.reach('merged');
        this.#db.finishStage(job.id, name, out);
        return;
      }
      case 'emit': {
        const staged = this.#output<StageOutput>(job.id, 'stage');
        const facts = this.#output<VideoFacts>(job.id, 'probe');
        const chunked = this.#output<ChunkOutput>(job.id, 'chunk');
        const tracker = this.#output<TrackerInfo>(job.id, 'track');
        mkdirSync(config.outbox, { recursive: true });
        const out = await emit({
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
          tracker: { backend: tracker.backend, version: tracker.version, device: tracker.device },
          chunks: this.#db.listChunks(job.id).map((c) => ({ index: c.idx, firstFrame: c.first_frame, frameCount: c.frame_count, overlapFrames: c.overlap_frames })),
        });
        this.#crash.reach('emitted');
        this.#db.finishStage(job.id, name, out);
        return;
      }
    }
  }

  async #hashProblem(jobId: number, c: ChunkRow): Promise<string | undefined> {
    const sha = await hashFile(join(jobDir(this.#config, jobId), c.result_file!));
    return sha === c.result_sha256 ? undefined : `result file ${c.result_file} does not match its recorded hash`;
  }

  #redoChunk(jobId: number, c: ChunkRow, reason: string): void {
    redoChunk({ db: this.#db, config: this.#config, log: this.#log }, jobId, c, reason);
  }
}

/** Some chunk results were damaged and sent back to pending: the walk restarts at `track`. */
class RedoChunks extends Error {
  constructor(count: number) {
    super(`${count} chunk result(s) damaged; tracking them again`);
    this.name = 'RedoChunks';
  }
}
