/**
 * The read model behind `posepipe status` and the status page: jobs with their stages and
 * chunks, in camelCase, with seconds rather than raw columns. Pages and the CLI read this, never tables.
 */
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { ChunkRow, Db, JobRow, StageRow } from './db/index.ts';

/** One chunk as shown. */
export interface ChunkView {
  index: number;
  state: string;
  attempts: number;
  firstFrame: number;
  frameCount: number;
  overlapFrames: number;
  framesDone: number;
  /** Seconds the tracker worker spent on this chunk (its busy time), null until done. */
  trackerSeconds: number | null;
  error: { kind: string; text: string; exitCode: number | null; signal: string | null; stderrTail: string | null } | null;
}

/** One stage as shown. */
export interface StageView {
  name: string;
  state: string;
  attempts: number;
  seconds: number | null;
  error: { kind: string; text: string } | null;
}

/** One job as shown. */
export interface JobView {
  id: number;
  name: string;
  state: string;
  stage: string | null;
  sha256: string;
  bytes: number;
  output: string;
  outputPath: string;
  framesDone: number;
  frames: number | null;
  chunksDone: number;
  chunks: number;
  trackerSeconds: number;
  seconds: number | null;
  createdMs: number;
  error: { kind: string; text: string } | null;
  stages: StageView[];
  chunkList: ChunkView[];
}

const secs = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

function chunkView(c: ChunkRow): ChunkView {
  return {
    index: c.idx,
    state: c.state,
    attempts: c.attempts,
    firstFrame: c.first_frame,
    frameCount: c.frame_count,
    overlapFrames: c.overlap_frames,
    framesDone: c.frames_done,
    trackerSeconds: secs(c.tracker_ms),
    error: c.error_kind ? { kind: c.error_kind, text: c.error_text ?? '', exitCode: c.exit_code, signal: c.signal, stderrTail: c.stderr_tail } : null,
  };
}

function stageView(s: StageRow): StageView {
  return { name: s.name, state: s.state, attempts: s.attempts, seconds: secs(s.duration_ms), error: s.error_kind ? { kind: s.error_kind, text: s.error_text ?? '' } : null };
}

/** The full view of one job. */
export function jobView(db: Db, config: Config, job: JobRow): JobView {
  const chunks = db.listChunks(job.id);
  const frames = chunks.length ? chunks.reduce((n, c) => n + c.frame_count, 0) : null;
  const end = job.finished_ms ?? (job.state === 'running' ? Date.now() : null);
  const stages = db.listStages(job.id);
  // Where the job really wrote its JSON (the outbox may have been configured differently then).
  const emitted = stages.find((s) => s.name === 'emit' && s.state === 'done')?.output_json;
  const outputPath = emitted ? (JSON.parse(emitted) as { file: string }).file : join(config.outbox, job.output_name);
  return {
    id: job.id,
    name: job.source_name,
    state: job.state,
    stage: job.stage,
    sha256: job.source_sha256,
    bytes: job.source_bytes,
    output: job.output_name,
    outputPath,
    framesDone: chunks.reduce((n, c) => n + (c.state === 'done' ? c.frame_count : c.frames_done), 0),
    frames,
    chunksDone: chunks.filter((c) => c.state === 'done').length,
    chunks: chunks.length,
    trackerSeconds: secs(chunks.reduce((n, c) => n + (c.tracker_ms ?? 0), 0))!,
    seconds: job.started_ms !== null && end !== null ? secs(end - job.started_ms) : null,
    createdMs: job.created_ms,
    error: job.error_kind ? { kind: job.error_kind, text: job.error_text ?? '' } : null,
    stages: stages.map(stageView),
    chunkList: chunks.map(chunkView),
  };
}
