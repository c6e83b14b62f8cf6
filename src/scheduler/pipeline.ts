/**
 * Walks a job's stages in order and records their transitions (what each stage does and records
 * as its output is in stage-steps.ts; the chunks of `track` in track-loop.ts). Every stage is a
 * function of files on disk plus the job row, so resuming after any crash is "run the first stage
 * not done" — and, inside `track`, "the first chunk not done".
 */
import { mkdirSync } from 'node:fs';
import type { Config } from '../config.ts';
import { Crashpoints } from '../crashpoint.ts';
import { jobDir } from '../paths.ts';
import { reconcile } from '../reconcile.ts';
import { type Db, type JobRow, type StageName, STAGE_NAMES } from '../db/index.ts';
import { classify, PipelineError } from '../errors.ts';
import { RedoChunks, StageSteps } from './stage-steps.ts';
import { LocalRunner } from './local-runner.ts';
import { TrackLoop } from './track-loop.ts';
import type { ChunkRunner, JobOutcome, PipelineEvent, TrackControl } from './types.ts';
import type { TrackerWorker } from '../tracker/index.ts';

/** What a pipeline needs. */
export interface PipelineDeps {
  db: Db;
  config: Config;
  /** The tracker slots: one long-lived worker each (one per GPU, or as `workers` says). */
  trackers: readonly TrackerWorker[];
  onEvent?: (event: PipelineEvent) => void;
  log?: (line: string) => void;
}

/** How often a running job's row is read for a cancel asked by another process (the CLI). */
const CANCEL_POLL_MS = 500;

/** Runs jobs through the stages, recording each step in the database. */
export class Pipeline {
  readonly #db: Db;
  readonly #config: Config;
  readonly #runners: readonly ChunkRunner[];
  readonly #emit: (event: PipelineEvent) => void;
  readonly #log: (line: string) => void;
  readonly #tracking: TrackLoop;
  readonly #steps: StageSteps;
  /** What the track loop asks of the running job. */
  readonly #control: TrackControl = {
    stopping: () => this.#stopping,
    cancelled: () => this.#current?.cancelled === true,
    tracking: (on) => {
      if (this.#current) this.#current.tracking = on;
    },
  };
  #stopping = false;
  #wake: (() => void) | undefined;
  /** The job being run, and whether its cancel has been seen. */
  #current: { id: number; cancelled: boolean; tracking: boolean } | undefined;

  constructor(deps: PipelineDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#runners = deps.trackers.map((tracker) => new LocalRunner(tracker, deps.db));
    this.#emit = deps.onEvent ?? (() => {});
    this.#log = deps.log ?? (() => {});
    const crash = new Crashpoints(deps.config.crashpoint);
    this.#tracking = new TrackLoop({ db: this.#db, config: this.#config, runners: this.#runners, emit: this.#emit, log: this.#log, crash });
    this.#steps = new StageSteps({ db: this.#db, config: this.#config, log: this.#log, crash, tracking: this.#tracking });
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
    if (current.tracking) for (const runner of this.#runners) void runner.stop();
    this.wake();
  }

  /** A line slot `slot`'s worker wrote on stderr: kept in the log of the chunk it tracks. */
  workerLog(line: string, slot = 0): void {
    this.#tracking.workerLog(line, slot);
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
        await this.#steps.run(job, name, dir, this.#control);
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
}
