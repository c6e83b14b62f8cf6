/**
 * The types the scheduler's parts share (the job walk, the stage steps, the track loop) and what it
 * tells the rest of posepipe. They live here, below all three, so that no part imports another back.
 */
import type { ChunkRow, JobRow, StageName } from '../db/index.ts';
import type { ChunkResult, TrackerInfo } from '../stages/track.ts';
import type { ReadyEvent } from '../tracker/index.ts';

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

/** What the loop asks of the job's run, between chunks and around each one. */
export interface TrackControl {
  /** posepipe is shutting down: the job resumes at its next start. */
  stopping(): boolean;
  /** A user cancelled the job. */
  cancelled(): boolean;
}

/** What the track stage asks of whatever tracks chunks: every chunk of a job not done yet. */
export interface ChunkTracking {
  trackAll(job: JobRow, dir: string, control: TrackControl): Promise<TrackerInfo>;
}

/** One attempt at one chunk row: where its frames are, and whom to tell how far it got. */
export interface ChunkAttempt {
  jobId: number;
  jobDir: string;
  chunk: ChunkRow;
  /** The row before it, whose last frames are tracked again first (the overlap); none for the first. */
  previous: ChunkRow | undefined;
  onProgress: (framesTracked: number) => void;
}

/**
 * "Run this chunk attempt somewhere": all the track loop knows of where tracking happens. Today one
 * long-lived worker on this machine (LocalRunner); a pool of slots or a remote machine is another
 * implementation of the same four calls.
 */
export interface ChunkRunner {
  /** Where its attempts run, as the page and the attempt rows name it (`slot 2 (cuda:1)`). */
  readonly where: string;
  /** Ready to take an attempt (a worker started and its models loaded, once); the tracker's facts. */
  ready(): Promise<ReadyEvent>;
  /** Track the attempt; the result file it left, verified. Rejects with a classifiable error. */
  run(attempt: ChunkAttempt): Promise<ChunkResult>;
  /** After an out-of-memory failure or the backend's own exception: drop whatever state it left, so the next attempt starts afresh. */
  reset(): Promise<void>;
  /** Abandon the attempt in flight, if any (a cancel); its run() rejects. */
  stop(): Promise<void>;
}
