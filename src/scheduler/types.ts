/**
 * The types the scheduler's parts share (the job walk, the stage steps, the track loop) and what it
 * tells the rest of posepipe. They live here, below all three, so that no part imports another back.
 */
import type { StageName, JobRow } from '../db/index.ts';
import type { TrackerInfo } from '../stages/track.ts';

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
  /** A chunk is (true) or is no longer (false) in the worker: a cancel meanwhile stops the worker. */
  tracking(on: boolean): void;
}

/** What the track stage asks of whatever tracks chunks: every chunk of a job not done yet. */
export interface ChunkTracking {
  trackAll(job: JobRow, dir: string, control: TrackControl): Promise<TrackerInfo>;
}
