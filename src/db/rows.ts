import type { FailureKind } from '../errors.ts';
import type { JobState, StageName, StepState } from './states.ts';

/** A job row as stored. */
export interface JobRow {
  id: number;
  source_name: string;
  source_path: string;
  /** The source path as raw bytes when it is not valid UTF-8 (source_path is then lossy); else null. */
  source_path_bytes: Buffer | null;
  source_sha256: string;
  source_bytes: number;
  output_name: string;
  state: JobState;
  stage: StageName | null;
  error_kind: FailureKind | null;
  error_text: string | null;
  created_ms: number;
  started_ms: number | null;
  finished_ms: number | null;
  updated_ms: number;
  /** When a cancel of this running job was asked for (the running posepipe carries it out); else null. */
  cancel_requested_ms: number | null;
  /** Higher runs first (claimed first; its chunks get the next free slot); equal priorities keep queue order. */
  priority: number;
  /** A copy (the same content dropped under another name) names its original: it is answered from that job's result. */
  copy_of: number | null;
  /** The settings that decided its output, as canonical JSON (src/work-settings.ts); null for jobs made before they were recorded. */
  settings_json: string | null;
  /** sha256 of settings_json: with the content's hash, what makes another drop a copy of this job. */
  settings_key: string | null;
  /** The job this one tracks again (`posepipe rerun`, "Track again"), or null. */
  rerun_of: number | null;
}

/** A job row with its chunks summed up, for lists (one grouped query, not a row per chunk). */
export interface JobSummaryRow extends JobRow {
  /** The state the screens show (src/db/queue-sql.ts): a claimed job no slot has tracked yet is queued. */
  shown_state: JobState;
  /** When a slot first started a chunk of its current run (its clock's start); null before. */
  tracking_ms: number | null;
  chunks: number;
  chunks_done: number;
  chunks_failed: number;
  /** Total frames over the job's chunks; null before the chunk stage. */
  frames: number | null;
  frames_done: number;
  /** Done chunks' tracker time plus running chunks' time so far. */
  tracker_ms: number;
}

/** A durable counter for /metrics (only ever grows). */
export interface CounterRow {
  name: 'chunks_processed' | 'tracker_seconds' | 'chunk_failures' | 'job_failures' | 'jobs_done';
  label: string;
  value: number;
}

/** A stage row as stored. */
export interface StageRow {
  job_id: number;
  name: StageName;
  state: StepState;
  attempts: number;
  started_ms: number | null;
  finished_ms: number | null;
  duration_ms: number | null;
  error_kind: FailureKind | null;
  error_text: string | null;
  output_json: string | null;
}

/** A chunk row as stored. */
export interface ChunkRow {
  job_id: number;
  idx: number;
  file: string;
  /** First frame of this row's range within `file` (0 unless the chunk was split). */
  file_start: number;
  splits: number;
  first_frame: number;
  frame_count: number;
  overlap_frames: number;
  state: StepState;
  attempts: number;
  frames_done: number;
  started_ms: number | null;
  finished_ms: number | null;
  tracker_ms: number | null;
  exit_code: number | null;
  signal: string | null;
  error_kind: FailureKind | null;
  error_text: string | null;
  stderr_tail: string | null;
  result_file: string | null;
  /** Where the latest attempt ran (`slot 2 (cuda:1)`); null before the first. */
  ran_on: string | null;
  result_bytes: number | null;
  result_sha256: string | null;
}

/** One start of the tracker backend. */
export interface TrackerLoadRow {
  id: number;
  backend: string;
  version: string;
  device: string;
  pid: number;
  started_ms: number;
  load_ms: number;
}

/** A chunk as the chunk stage plans it, before it has a row. */
export interface NewChunk {
  idx: number;
  file: string;
  firstFrame: number;
  frameCount: number;
  overlapFrames: number;
}

/** A failure as recorded on a row. */
export interface FailureRecord {
  kind: FailureKind;
  text: string;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string | null;
}

/** One attempt at a chunk: where it ran, when, and how it ended (outcome null while it runs). */
export interface ChunkAttemptRow {
  id: number;
  job_id: number;
  first_frame: number;
  frame_count: number;
  attempt: number;
  ran_on: string;
  started_ms: number;
  finished_ms: number | null;
  outcome: 'done' | 'failed' | 'released' | null;
}

/** A tracker slot as last seen: health, the chunk it tracks, how fast. */
export interface WorkerRow {
  name: string;
  host: string;
  device: string | null;
  health: 'starting' | 'ready' | 'unhealthy' | 'stopped';
  error_text: string | null;
  job_id: number | null;
  chunk_idx: number | null;
  frames_per_second: number | null;
  last_seen_ms: number;
}
