/**
 * The `track` stage: every chunk of a job not done yet, one at a time, through a ChunkRunner (the
 * long-lived local worker today), each chunk's transitions recorded as they happen. Crashes and
 * stalls are retried within the attempt budget with exponential backoff; out of memory resets the
 * runner (a fresh worker) and halves the chunk (down to minChunkFrames); anything else fails the
 * job at once. Where a chunk runs is the runner's business, not this loop's.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.ts';
import type { Crashpoints } from '../crashpoint.ts';
import type { ChunkRow, Db, JobRow } from '../db/index.ts';
import { classify, PipelineError, TrackerError, type FailureKind } from '../errors.ts';
import type { ChunkRunner, ChunkTracking, PipelineEvent, TrackControl } from './types.ts';
import { chunkLogFile, type TrackerInfo } from '../stages/track.ts';
import type { ReadyEvent } from '../tracker/index.ts';

type ChunkEventState = Extract<PipelineEvent, { type: 'chunk' }>['state'];

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 15_000;

/** What the loop needs. */
export interface TrackLoopDeps {
  db: Db;
  config: Config;
  /** Where chunks run. */
  runner: ChunkRunner;
  emit: (event: PipelineEvent) => void;
  log: (line: string) => void;
  crash: Crashpoints;
}

/** Thrown between chunks once a cancel has been seen: the pipeline records the cancel. */
class Cancelled extends Error {
  constructor(jobId: number) {
    super(`job ${jobId} was cancelled`);
    this.name = 'Cancelled';
  }
}

/** Tracks the chunks of one job after another; one per pipeline, as its runner is. */
export class TrackLoop implements ChunkTracking {
  readonly #deps: TrackLoopDeps;
  /** The worker log of the chunk being tracked (every attempt appended), if any. */
  #chunkLog: WriteStream | undefined;

  constructor(deps: TrackLoopDeps) {
    this.#deps = deps;
  }

  /** A line the worker wrote on stderr: kept in the log of the chunk being tracked. */
  workerLog(line: string): void {
    this.#chunkLog?.write(`${line}\n`);
  }

  /** Track every chunk of `job` not done yet; the stage's output once all are. */
  async trackAll(job: JobRow, dir: string, control: TrackControl): Promise<TrackerInfo> {
    const { db, config, runner } = this.#deps;
    let info: Omit<TrackerInfo, 'trackerMs'> | undefined;
    // Rows are re-read every round: a split inserts a row and moves the later ones.
    for (let i = 0; ; i++) {
      const chunks = db.listChunks(job.id);
      const c = chunks[i];
      if (!c) break;
      if (c.state === 'done') continue;
      const event = this.#chunkEvents(job, chunks, c);
      if (control.stopping()) throw new PipelineError('crash', 'posepipe is stopping');
      if (control.cancelled()) throw new Cancelled(job.id);
      info = facts(await runner.ready());
      db.startChunk(job.id, c.idx);
      const attempt = c.attempts + 1;
      event(0, 'running');
      let lastWrite = 0;
      this.#openChunkLog(dir, c, attempt);
      control.tracking(true);
      try {
        const result = await runner.run({
          jobDir: dir,
          jobId: job.id,
          chunk: c,
          previous: i > 0 ? chunks[i - 1] : undefined,
          onProgress: (tracked) => {
            const own = Math.max(0, tracked - c.overlap_frames);
            if (Date.now() - lastWrite > 1000) {
              lastWrite = Date.now();
              db.chunkProgress(job.id, c.idx, own);
            }
            event(own, 'running');
          },
        });
        db.finishChunk(job.id, c.idx, result);
        this.#deps.crash.reach('chunk-done');
        event(c.frame_count, 'done');
      } catch (error) {
        if (control.stopping() || control.cancelled()) throw error;
        const failure = this.#recordFailure(job, c, attempt, error);
        event(0, failure.again ? 'retry' : 'failed');
        if (failure.kind === 'oom') await runner.reset();
        if (failure.split) db.splitChunk(job.id, c.idx, config.overlapFrames);
        else if (failure.again) await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1)));
        else throw new PipelineError(failure.kind, failure.text);
        i--; // the same index again: the retried chunk, or the first half of the split one
      } finally {
        control.tracking(false);
        this.#closeChunkLog();
      }
    }
    info ??= facts(await runner.ready());
    const trackerMs = db.listChunks(job.id).reduce((n, r) => n + (r.tracker_ms ?? 0), 0);
    return { ...info, trackerMs };
  }

  /** What a progress display is told about chunk `c`: its frames and the whole video's. */
  #chunkEvents(job: JobRow, chunks: ChunkRow[], c: ChunkRow): (framesDone: number, state: ChunkEventState) => void {
    const frames = chunks.reduce((n, r) => n + r.frame_count, 0);
    const framesBefore = chunks.reduce((n, r) => n + (r.state === 'done' ? r.frame_count : 0), 0);
    return (framesDone, state) =>
      this.#deps.emit({
        type: 'chunk',
        jobId: job.id,
        idx: c.idx,
        chunks: chunks.length,
        framesDone: framesBefore + framesDone,
        frames,
        chunkFramesDone: framesDone,
        chunkFrames: c.frame_count,
        state,
      });
  }

  /** Record a failed attempt on the chunk's row and say what happens next. */
  #recordFailure(job: JobRow, c: ChunkRow, attempt: number, error: unknown): { kind: FailureKind; text: string; split: boolean; again: boolean } {
    const { db, config } = this.#deps;
    const { kind, message, retry } = classify(error);
    const details = error instanceof TrackerError ? error.details : {};
    const range = `chunk ${c.idx} (frames ${c.first_frame}–${c.first_frame + c.frame_count - 1})`;
    const split = kind === 'oom' && Math.floor(c.frame_count / 2) >= config.minChunkFrames;
    const retried = retry && attempt < config.maxAttempts;
    const text = `${range}, attempt ${attempt}: ${adviceFor(kind, message, c.frame_count, split)}`;
    db.failChunk(job.id, c.idx, { kind, text, exitCode: details.exitCode, signal: details.signal, stderrTail: details.stderrTail }, split || retried);
    this.#deps.log(`job ${job.id} ${text}${split ? ' — splitting it in two' : retried ? ' — retrying' : ''}`);
    return { kind, text, split, again: split || retried };
  }

  /** Open a chunk's worker log for one attempt (appended; a log that cannot be written is only lost, never fatal). */
  #openChunkLog(dir: string, c: ChunkRow, attempt: number): void {
    this.#closeChunkLog();
    const file = join(dir, chunkLogFile(c));
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch {
      return;
    }
    const stream = createWriteStream(file, { flags: 'a' });
    stream.on('error', () => {});
    stream.write(`--- chunk ${c.idx} (frames ${c.first_frame}-${c.first_frame + c.frame_count - 1}), attempt ${attempt}, ${new Date().toISOString()} ---\n`);
    this.#chunkLog = stream;
  }

  #closeChunkLog(): void {
    this.#chunkLog?.end();
    this.#chunkLog = undefined;
  }

}

/** What the job's output says of the tracker. */
function facts(ready: ReadyEvent): Omit<TrackerInfo, 'trackerMs'> {
  const { backend, version, device, precision } = ready;
  return precision === undefined ? { backend, version, device } : { backend, version, device, precision };
}

/** Messages stand alone on the status page: say what to do about each kind. */
function adviceFor(kind: FailureKind, message: string, frames: number, willSplit: boolean): string {
  switch (kind) {
    case 'environment':
      return `${message} — run \`posepipe doctor\``;
    case 'disk':
      return `${message} — free some disk space, then \`posepipe resume\``;
    case 'oom':
      return willSplit
        ? `${message} — out of memory with ${frames} frames`
        : `${message} — out of memory even with ${frames} frames (POSEPIPE_MIN_CHUNK_FRAMES): free GPU memory (other programs), choose a lighter model, or lower the resolution, then resume`;
    default:
      return message;
  }
}
