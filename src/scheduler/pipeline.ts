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
import { RemoteDispatch } from './remote.ts';
import { TrackLoop } from './track-loop.ts';
import type { ChunkRunner, JobOutcome, PipelineEvent, TrackControl } from './types.ts';
import type { TrackerWorker } from '../tracker/index.ts';

/** What a pipeline needs. */
export interface PipelineDeps {
  db: Db;
  config: Config;
  /** The tracker slots: one long-lived worker each (one per GPU, or as `workers` says). */
  trackers: readonly TrackerWorker[];
  /** What each slot is called on the page and in its attempts (`slot 2 (cuda:1)`); `slot N` by default. */
  slotNames?: readonly string[];
  onEvent?: (event: PipelineEvent) => void;
  log?: (line: string) => void;
}

/** How often a running job's row is read for a cancel asked by another process (the CLI). */
const CANCEL_POLL_MS = 500;

/** Stages that only use the CPU and the disk before tracking, and those after it. */
const PREPARE: ReadonlySet<StageName> = new Set(['stage', 'probe', 'chunk']);
const FINISH: ReadonlySet<StageName> = new Set(['merge', 'emit']);
/** The preview (a transcode) has a lane of its own: it never holds back another job's JSON. */
const PREVIEW: ReadonlySet<StageName> = new Set(['preview']);

/**
 * Runs one thing at a time; of the things waiting, the one of the lowest rank (the job claimed
 * first) goes next, so the first job's chunk step never waits behind later jobs' copies and probes.
 * The next one is chosen a turn of the event loop after one ends, once the job that just finished a
 * step has asked for its next.
 */
class Lane {
  #busy = false;
  readonly #waiting: { rank: number; go: () => void }[] = [];

  async run<T>(rank: number, work: () => Promise<T>): Promise<T> {
    if (this.#busy || this.#waiting.length > 0) {
      await new Promise<void>((go) => {
        const at = this.#waiting.findIndex((w) => w.rank > rank);
        this.#waiting.splice(at < 0 ? this.#waiting.length : at, 0, { rank, go });
      });
    }
    this.#busy = true;
    try {
      return await work();
    } finally {
      this.#busy = false;
      setImmediate(() => {
        if (this.#busy) return;
        const next = this.#waiting.shift();
        if (!next) return;
        this.#busy = true; // taken now, so nothing that arrives before it resumes starts beside it
        next.go();
      });
    }
  }
}

/** A job being run: whether its cancel has been seen, and whether it has gone past tracking. */
interface Walk {
  id: number;
  /** Claim order: the lanes serve the job claimed first first. */
  rank: number;
  cancelled: boolean;
  tracked: boolean;
  done: Promise<JobOutcome>;
}

/**
 * Runs jobs through the stages, recording each step in the database. Several jobs are in flight so
 * that the slots never wait on the CPU steps: while the slots track one job, the next ones
 * (`prepareAhead` of them) are copied, probed and chunked, one at a time; a tracked job is merged
 * and emitted, one at a time, while the slots take the next job's chunks (track-loop.ts gives each
 * free slot to the job of highest priority, then the oldest).
 */
export class Pipeline {
  readonly #db: Db;
  readonly #config: Config;
  readonly #runners: readonly ChunkRunner[];
  readonly #emit: (event: PipelineEvent) => void;
  readonly #log: (line: string) => void;
  readonly #tracking: TrackLoop;
  readonly #steps: StageSteps;
  readonly #prepareLane = new Lane();
  readonly #finishLane = new Lane();
  readonly #previewLane = new Lane();
  #stopping = false;
  #warmed = false;
  #claims = 0;
  #cancelPoll: NodeJS.Timeout | undefined;
  #remote: RemoteDispatch | undefined;
  #wake: (() => void) | undefined;
  /** The jobs being run, by id. */
  readonly #walks = new Map<number, Walk>();

  constructor(deps: PipelineDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#runners = deps.trackers.map((tracker, i) => new LocalRunner(tracker, deps.db, deps.slotNames?.[i] ?? `slot ${i + 1}`));
    this.#emit = deps.onEvent ?? (() => {});
    this.#log = deps.log ?? (() => {});
    const crash = new Crashpoints(deps.config.crashpoint);
    this.#tracking = new TrackLoop({ db: this.#db, config: this.#config, runners: this.#runners, remote: deps.config.redisUrl !== '', emit: this.#emit, log: this.#log, crash });
    this.#steps = new StageSteps({ db: this.#db, config: this.#config, log: this.#log, crash, tracking: this.#tracking });
  }

  /** Offer chunks to remote workers on the Redis queue (posepipe start with POSEPIPE_REDIS_URL); their endpoints use what this returns. */
  startRemote(): RemoteDispatch {
    this.#remote ??= new RemoteDispatch({ db: this.#db, config: this.#config, log: this.#log, tracking: this.#tracking });
    this.#remote.start();
    return this.#remote;
  }

  /** Stop offering to remote workers; their attempts in flight are given back. */
  async close(): Promise<void> {
    await this.#remote?.close();
  }

  /** At startup: see reconcile.ts. */
  reconcile(): void {
    reconcile({ db: this.#db, config: this.#config, log: this.#log });
  }

  /**
   * Process queued jobs until stop(): claim the next one (highest priority, then oldest) whenever
   * fewer than 1 + prepareAhead jobs are not yet past tracking; wait for wake() (or a short poll)
   * otherwise, or while intake is paused. Returns once every job it started has stopped.
   */
  async runQueued(): Promise<void> {
    while (!this.#stopping) {
      // Bounded both ways: jobs not yet tracked (prepared ahead), and all in flight (tracked ones
      // waiting to be merged count too, so slow merges hold back new claims instead of piling up).
      const ahead = 1 + this.#config.prepareAhead;
      const room = [...this.#walks.values()].filter((w) => !w.tracked).length < ahead && this.#walks.size < 2 * ahead;
      const job = room && !this.#db.intakePaused() ? this.#db.claimNextJob() : undefined;
      if (job) {
        this.#start(job);
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    await Promise.all([...this.#walks.values()].map((w) => w.done));
  }

  /** A new job may be waiting, or a job has gone past tracking. */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Carry out cancels asked for running jobs (by the page, or by the CLI through the database):
   * tracking stops at once (the job's workers are stopped; their next chunk starts a fresh one), any
   * other stage is let finish; the job becomes cancelled and its interrupted chunks pending.
   */
  checkCancel(): void {
    for (const walk of this.#walks.values()) {
      if (walk.cancelled || !this.#db.cancelRequested(walk.id)) continue;
      walk.cancelled = true;
      this.#log(`job ${walk.id}: cancelled`);
      this.#tracking.stopJob(walk.id);
    }
  }

  /** A line slot `slot`'s worker wrote on stderr: kept in the log of the chunk it tracks (`job 3 chunk 2 attempt 1`, returned). */
  workerLog(line: string, slot = 0): string | undefined {
    return this.#tracking.workerLog(line, slot);
  }

  /** Stop tracking at once (the chunks resume at the next start), finish the other current steps, then stop taking jobs. */
  stop(): void {
    this.#stopping = true;
    this.#tracking.stopAll();
    this.wake();
  }

  /** Claim one queued job and run it to done or failed (the foreground `run`). */
  async runJob(jobId: number): Promise<JobOutcome> {
    return this.#start(this.#db.claimJob(jobId)).done;
  }

  /**
   * With the first job, start every slot's worker (its models load while the job is copied, probed
   * and chunked) rather than each on its first chunk. A slot that cannot load is found out again,
   * and recorded, when a chunk is given to it.
   */
  #warm(): void {
    if (this.#warmed || this.#stopping) return;
    this.#warmed = true;
    for (const runner of this.#runners) runner.ready().catch(() => {});
  }

  #start(job: JobRow): Walk {
    this.#warm();
    // A copy (the same content under another name) only writes its JSON: it never counts as prepared ahead.
    const walk: Walk = { id: job.id, rank: ++this.#claims, cancelled: false, tracked: job.copy_of !== null, done: Promise.resolve('stopped') };
    this.#walks.set(job.id, walk);
    // One poll for every job in flight (checkCancel reads each one's row).
    this.#cancelPoll ??= setInterval(() => this.checkCancel(), CANCEL_POLL_MS);
    walk.done = this.#walk(job, walk)
      .catch((error: unknown) => {
        // Never expected (the walk records its own failures); one job's bug must not stop the others.
        this.#log(`job ${job.id}: posepipe bug: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return 'stopped' as const;
      })
      .finally(() => {
        this.#walks.delete(job.id);
        if (this.#walks.size === 0) {
          clearInterval(this.#cancelPoll);
          this.#cancelPoll = undefined;
        }
        this.wake();
      });
    return walk;
  }

  #cancelled(job: JobRow): JobOutcome {
    this.#db.finishCancel(job.id);
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'cancelled' });
    return 'cancelled';
  }

  /** Run one stage in its lane: the CPU stages before and after tracking take turns; tracking shares the slots. */
  #inLane<T>(name: StageName, walk: Walk, work: () => Promise<T>): Promise<T> {
    if (PREPARE.has(name)) return this.#prepareLane.run(walk.rank, work);
    if (FINISH.has(name)) return this.#finishLane.run(walk.rank, work);
    if (PREVIEW.has(name)) return this.#previewLane.run(walk.rank, work);
    return work();
  }

  async #walk(job: JobRow, walk: Walk): Promise<JobOutcome> {
    const dir = jobDir(this.#config, job.id);
    mkdirSync(dir, { recursive: true });
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'running' });
    const control: TrackControl = { stopping: () => this.#stopping, cancelled: () => walk.cancelled };
    let redoRounds = 0;
    for (let i = 0; i < STAGE_NAMES.length; i++) {
      const name = STAGE_NAMES[i]!;
      const row = this.#db.listStages(job.id).find((s) => s.name === name);
      // A copy has only its emit stage: the others are its original's.
      if (!row) continue;
      if (row.state === 'done') {
        this.#passed(walk, name);
        continue;
      }
      const outcome = await this.#inLane(name, walk, async () => {
        if (this.#stopping) return 'stopped' as const;
        this.checkCancel();
        if (walk.cancelled) return this.#cancelled(job);
        this.#db.startStage(job.id, name);
        this.#emit({ type: 'stage', jobId: job.id, stage: name, state: 'running' });
        try {
          await this.#steps.run(job, name, dir, control);
          this.#emit({ type: 'stage', jobId: job.id, stage: name, state: 'done' });
          return undefined;
        } catch (error) {
          // A graceful stop interrupts the work without failing it: the rows stay running and the
          // next start requeues them, exactly as after a crash, adding the time the stage worked.
          if (this.#stopping) {
            this.#db.stopStage(job.id, name);
            return 'stopped' as const;
          }
          if (walk.cancelled) return this.#cancelled(job);
          // Damaged chunk results were sent back to pending: track them again, then merge again.
          if (error instanceof RedoChunks && ++redoRounds <= this.#config.maxAttempts) return 'redo' as const;
          return this.#failed(job, name, error);
        }
      });
      if (outcome === 'redo') {
        i = STAGE_NAMES.indexOf('track') - 1;
        continue;
      }
      if (outcome) return outcome;
      this.#passed(walk, name);
    }
    this.checkCancel();
    if (walk.cancelled) return this.#cancelled(job);
    this.#db.finishJob(job.id);
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'done' });
    return 'done';
  }

  /** Past its track stage, a job no longer counts against prepareAhead: the next one may be claimed. */
  #passed(walk: Walk, name: StageName): void {
    if (name !== 'track' || walk.tracked) return;
    walk.tracked = true;
    this.wake();
  }

  #failed(job: JobRow, name: StageName, error: unknown): JobOutcome {
    const c = classify(error);
    const text = c.kind === 'internal' && !(error instanceof PipelineError) ? `posepipe bug in stage ${name}: ${c.message}` : c.message;
    this.#db.failStage(job.id, name, { kind: c.kind, text });
    this.#db.failJob(job.id, { kind: c.kind, text });
    // Told once, by the event: start's progress prints it, run its own message with the advice.
    this.#emit({ type: 'stage', jobId: job.id, stage: name, state: 'failed' });
    this.#emit({ type: 'job', jobId: job.id, name: job.source_name, state: 'failed', message: text });
    return 'failed';
  }
}
