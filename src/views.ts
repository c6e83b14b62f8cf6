/**
 * The read model behind `posepipe status` and the status page: jobs with their stages and
 * chunks, in camelCase, with seconds rather than raw columns. Pages and the CLI read this, never tables.
 */
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { ChunkRow, Db, JobRow, JobState, JobSummaryRow, StageRow, StepState, WorkerRow } from './db/index.ts';
import { resumeHelps } from './errors.ts';
import type { VideoFacts } from './media/index.ts';
import { parseSettings, type WorkSettings } from './work-settings.ts';

/** One chunk as shown. */
export interface ChunkView {
  index: number;
  state: string;
  attempts: number;
  firstFrame: number;
  frameCount: number;
  overlapFrames: number;
  framesDone: number;
  /** Seconds the tracker worker spent on this chunk (its busy time) once done; while running, its time so far; else null. */
  trackerSeconds: number | null;
  /** Where its latest attempt ran (`slot 2 (cuda:1)`), null before the first. */
  ranOn: string | null;
  /** Why its latest attempt failed: only while it is failed, or pending for a retry after that failure. */
  error: ChunkError | null;
  /** An earlier attempt's failure, kept as history once a later attempt runs or has succeeded (its log has every attempt). */
  earlierError: ChunkError | null;
}

/** A chunk attempt's failure as recorded. */
export interface ChunkError {
  kind: string;
  text: string;
  exitCode: number | null;
  signal: string | null;
  stderrTail: string | null;
}

/** One stage as shown; the times place it on the job page's timeline. */
export interface StageView {
  name: string;
  state: string;
  attempts: number;
  /** Time worked over all its attempts (a resume adds to it; a running one counts its time so far). */
  seconds: number | null;
  /** When its latest attempt started and ended (null while running). */
  startedMs: number | null;
  finishedMs: number | null;
  error: { kind: string; text: string } | null;
}

/** What every job view has, whether it came from one job or from a page of summaries. */
interface JobHead {
  id: number;
  name: string;
  /**
   * The state as shown: a job posepipe has claimed is `queued` until a tracker slot starts one of its
   * chunks (see src/db/queue-sql.ts), then `running`; the database's own row says `running` from the claim.
   */
  state: string;
  /** A queued job that posepipe is copying, probing and chunking (`preparing`), or that waits for a free slot (`ready`); null otherwise. */
  phase: 'preparing' | 'ready' | null;
  /** Its place in the queue (1 is served next) while shown queued; null when running or finished, and for a copy whose original is not done. */
  queuePosition: number | null;
  stage: string | null;
  /** A cancel of this running job was asked for and has not been carried out yet. */
  cancelRequested: boolean;
  /** Higher runs first (0 is the default; equal priorities keep queue order). */
  priority: number;
  /** The job whose result this one is a copy of (the same content dropped under another name), or null. */
  copyOf: number | null;
  /** The job this one tracks again (a re-run with the settings of its day), or null. */
  rerunOf: number | null;
  /** The backend and the settings that decided its output; null for a job made before they were recorded. */
  settings: WorkSettings | null;
  framesDone: number;
  frames: number | null;
  chunksDone: number;
  chunks: number;
  /** Tracker time of its done chunks plus its running chunks' time so far. */
  trackerSeconds: number;
  /** Seconds since its clock started (startedMs), to its end or now; null while queued. */
  seconds: number | null;
  createdMs: number;
  /**
   * When its clock started: a slot's first chunk of its latest run (the claim, for a run that had no
   * chunk to track); null while it waits in its current run (a job queued again keeps its last run's).
   */
  startedMs: number | null;
  finishedMs: number | null;
  error: { kind: string; text: string } | null;
}

/** One job in a list: its chunks summed up, no stage or chunk rows (the list must stay cheap). */
export interface JobSummaryView extends JobHead {
  chunksFailed: number;
}

/** One job as shown. */
export interface JobView extends JobHead {
  sha256: string;
  bytes: number;
  output: string;
  /** Where the JSON is, or will be once done; null for a job that cannot finish without a new file. */
  outputPath: string | null;
  stages: StageView[];
  chunkList: ChunkView[];
}

/** The source video's facts as the job page shows them (probe stage, and chunk stage's exact count). */
export interface SourceFacts {
  width: number;
  height: number;
  fps: number;
  codec: string;
  durationSeconds: number;
  bytes: number;
  /** Exact once chunked, else the probe's estimate (null when unknown). */
  frames: number | null;
  framesExact: boolean;
}

/** Everything the job page shows, read with paged queries (a job may have thousands of chunks). */
export interface JobPageView {
  job: Omit<JobView, 'chunkList'>;
  facts: SourceFacts | null;
  /** The staged copy's name inside the job folder (e.g. "source.mp4"), once staged. */
  stagedFile: string | null;
  chunkCounts: Record<StepState, number>;
  /** The first `gridMax` chunks, for the grid. */
  grid: ChunkView[];
  /** The chunk table's page. */
  table: { rows: ChunkView[]; state: StepState | undefined; page: number; pages: number; total: number };
  /** Chunks being tracked now. */
  running: ChunkView[];
}

const secs = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

/** One chunk row as shown (the page's grid and table, and the job view's chunk list), times as of `now`. */
export function chunkView(c: ChunkRow, now = Date.now()): ChunkView {
  const error = c.error_kind ? { kind: c.error_kind, text: c.error_text ?? '', exitCode: c.exit_code, signal: c.signal, stderrTail: c.stderr_tail } : null;
  // A row keeps its last failure after a later attempt starts or succeeds: then it is history.
  const current = c.state === 'failed' || c.state === 'pending';
  return {
    index: c.idx,
    state: c.state,
    attempts: c.attempts,
    firstFrame: c.first_frame,
    frameCount: c.frame_count,
    overlapFrames: c.overlap_frames,
    framesDone: c.frames_done,
    trackerSeconds: c.state === 'running' && c.started_ms !== null ? secs(Math.max(0, now - c.started_ms)) : secs(c.tracker_ms),
    ranOn: c.ran_on,
    error: current ? error : null,
    earlierError: current ? null : error,
  };
}

/** A stage's time worked in ms: its finished attempts' (duration_ms) plus, while running, this attempt's so far. */
function workedMs(s: StageRow, now: number): number | null {
  if (s.started_ms === null) return s.duration_ms;
  // A running row with an end was stopped with its process: it worked until then.
  const live = s.state === 'running' ? Math.max(0, (s.finished_ms ?? now) - s.started_ms) : 0;
  return (s.duration_ms ?? 0) + live;
}

function stageView(s: StageRow, now: number): StageView {
  return {
    name: s.name,
    state: s.state,
    attempts: s.attempts,
    seconds: secs(workedMs(s, now)),
    startedMs: s.started_ms,
    finishedMs: s.state === 'running' ? null : s.finished_ms,
    error: s.error_kind ? { kind: s.error_kind, text: s.error_text ?? '' } : null,
  };
}

interface ChunkTotals {
  chunks: number;
  chunksDone: number;
  frames: number | null;
  framesDone: number;
  trackerMs: number;
}

function totalsOf(chunks: ChunkRow[], now: number): ChunkTotals {
  return {
    chunks: chunks.length,
    chunksDone: chunks.filter((c) => c.state === 'done').length,
    frames: chunks.length ? chunks.reduce((n, c) => n + c.frame_count, 0) : null,
    framesDone: chunks.reduce((n, c) => n + (c.state === 'done' ? c.frame_count : c.frames_done), 0),
    trackerMs: chunks.reduce((n, c) => n + (c.state === 'running' && c.started_ms !== null ? Math.max(0, now - c.started_ms) : (c.tracker_ms ?? 0)), 0),
  };
}

/** Where a job stands in the queue, as the database shows it (src/db/queue-sql.ts). */
interface QueueFacts {
  shownState: JobState;
  trackingMs: number | null;
  position: number | null;
}

function head(job: JobRow, t: ChunkTotals, now: number, q: QueueFacts): JobHead {
  // Claimed, but no slot has started one of its chunks in this run yet.
  const waiting = job.state === 'running' && q.shownState === 'queued';
  const startedMs = waiting ? null : (q.trackingMs ?? job.started_ms);
  const end = job.finished_ms ?? (q.shownState === 'running' ? now : null);
  return {
    id: job.id,
    name: job.source_name,
    state: q.shownState,
    phase: waiting ? (job.stage === 'track' ? 'ready' : 'preparing') : null,
    queuePosition: q.shownState === 'queued' ? q.position : null,
    stage: job.stage,
    cancelRequested: job.cancel_requested_ms !== null,
    priority: job.priority,
    copyOf: job.copy_of,
    rerunOf: job.rerun_of,
    settings: parseSettings(job.settings_json),
    framesDone: t.framesDone,
    frames: t.frames,
    chunksDone: t.chunksDone,
    chunks: t.chunks,
    trackerSeconds: secs(t.trackerMs)!,
    seconds: startedMs !== null && end !== null ? secs(end - startedMs) : null,
    createdMs: job.created_ms,
    startedMs,
    finishedMs: job.finished_ms,
    error: job.error_kind ? { kind: job.error_kind, text: job.error_text ?? '' } : null,
  };
}

function stageOutput<T>(stages: StageRow[], name: string): T | undefined {
  const row = stages.find((s) => s.name === name && s.state === 'done' && s.output_json);
  if (!row) return undefined;
  try {
    return JSON.parse(row.output_json!) as T;
  } catch {
    return undefined;
  }
}

function jobWithoutChunks(config: Config, job: JobRow, stages: StageRow[], t: ChunkTotals, q: QueueFacts, now: number): Omit<JobView, 'chunkList'> {
  // Where the job really wrote its JSON (the outbox may have been configured differently then).
  const emitted = stageOutput<{ file: string }>(stages, 'emit')?.file;
  const error = job.error_kind ? { kind: job.error_kind, text: job.error_text ?? '' } : null;
  const hopeless = job.state === 'failed' && !resumeHelps(error);
  return {
    ...head(job, t, now, q),
    sha256: job.source_sha256,
    bytes: job.source_bytes,
    output: job.output_name,
    outputPath: hopeless ? null : (emitted ?? join(config.outbox, job.output_name)),
    stages: stages.map((s) => stageView(s, now)),
  };
}

/** A job's queue facts: its shown state and clock from its summary row, its place from the queue (read once when absent). */
function queueFacts(db: Db, job: JobRow, summary: JobSummaryRow | undefined, positions?: ReadonlyMap<number, number>): QueueFacts {
  const shownState = summary?.shown_state ?? job.state;
  const position = shownState === 'queued' ? ((positions ?? db.queuePositions()).get(job.id) ?? null) : null;
  return { shownState, trackingMs: summary?.tracking_ms ?? null, position };
}

/** The full view of one job, as of `now`; `positions` (db.queuePositions()) spares a caller viewing many jobs reading the queue for each. */
export function jobView(db: Db, config: Config, job: JobRow, positions?: ReadonlyMap<number, number>, now = Date.now()): JobView {
  const chunks = db.listChunks(job.id);
  const stages = db.listStages(job.id);
  // The summary row is the job as read now, with its shown state: one read, so the two agree.
  const row = db.getJobSummary(job.id, now);
  const q = queueFacts(db, row ?? job, row, positions);
  return { ...jobWithoutChunks(config, row ?? job, stages, totalsOf(chunks, now), q, now), chunkList: chunks.map((c) => chunkView(c, now)) };
}

function summaryTotals(row: JobSummaryRow): ChunkTotals {
  return { chunks: row.chunks, chunksDone: row.chunks_done, frames: row.frames, framesDone: row.frames_done, trackerMs: row.tracker_ms };
}

/** One row of a job list, from a summary row (chunks already summed by the database); `positions` from db.queuePositions(). */
export function jobSummaryView(row: JobSummaryRow, positions: ReadonlyMap<number, number>, now = Date.now()): JobSummaryView {
  const q = { shownState: row.shown_state, trackingMs: row.tracking_ms, position: positions.get(row.id) ?? null };
  return { ...head(row, summaryTotals(row), now, q), chunksFailed: row.chunks_failed };
}

function sourceFacts(stages: StageRow[]): SourceFacts | null {
  const facts = stageOutput<VideoFacts>(stages, 'probe');
  if (!facts) return null;
  const total = stageOutput<{ totalFrames: number }>(stages, 'chunk')?.totalFrames;
  return {
    width: facts.width,
    height: facts.height,
    fps: facts.fps,
    codec: facts.codec,
    durationSeconds: facts.durationSeconds,
    bytes: facts.bytes,
    frames: total ?? facts.frameCountEstimate,
    framesExact: total !== undefined,
  };
}

function sourceOf(stages: StageRow[]): { facts: SourceFacts | null; stagedFile: string | null } {
  return { facts: sourceFacts(stages), stagedFile: stageOutput<{ file: string }>(stages, 'stage')?.file ?? null };
}

/** A job's source as probed and staged: its facts and the staged copy's name in the job folder. */
export function sourceView(db: Db, jobId: number): { facts: SourceFacts | null; stagedFile: string | null } {
  // A copy's source is its original's (the same content, staged and probed once).
  return sourceOf(db.listStages(db.getJob(jobId)?.copy_of ?? jobId));
}

/**
 * The job page's view: the chunk grid (first `gridMax` chunks) and one page of the chunk table,
 * each read with a paged query, so a job with thousands of chunks costs what the page shows.
 */
export function jobPageView(db: Db, config: Config, job: JobRow, opts: { chunkState?: StepState; chunkPage: number; perPage: number; gridMax: number; now?: number }): JobPageView {
  const now = opts.now ?? Date.now();
  const stages = db.listStages(job.id);
  const chunkCounts = db.countChunksByState(job.id);
  const all = Object.values(chunkCounts).reduce((a, b) => a + b, 0);
  const gridRows = db.listChunksPage(job.id, { limit: opts.gridMax, offset: 0 });
  // Summed by the database, so a job longer than the grid costs no more.
  const summary = db.getJobSummary(job.id, now);
  const totals = summary ? summaryTotals(summary) : totalsOf([], now);
  const total = opts.chunkState ? chunkCounts[opts.chunkState] : all;
  const pages = Math.max(1, Math.ceil(total / opts.perPage));
  const page = Math.min(Math.max(1, opts.chunkPage), pages);
  const rows = db.listChunksPage(job.id, { state: opts.chunkState, limit: opts.perPage, offset: (page - 1) * opts.perPage });
  const running = chunkCounts.running ? db.listChunksPage(job.id, { state: 'running', limit: 8, offset: 0 }) : [];
  return {
    job: jobWithoutChunks(config, summary ?? job, stages, totals, queueFacts(db, summary ?? job, summary), now),
    ...sourceOf(job.copy_of === null ? stages : db.listStages(job.copy_of)),
    chunkCounts,
    grid: gridRows.map((c) => chunkView(c, now)),
    table: { rows: rows.map((c) => chunkView(c, now)), state: opts.chunkState, page, pages, total },
    running: running.map((c) => chunkView(c, now)),
  };
}

/** One tracker slot as shown: its health (with the error when its backend cannot load), what it tracks, how fast. */
export interface WorkerView {
  name: string;
  host: string;
  device: string | null;
  health: WorkerRow['health'];
  error: string | null;
  /** The chunk it tracks now, or null when free. */
  current: { jobId: number; chunk: number } | null;
  framesPerSecond: number | null;
  lastSeenMs: number;
}

/** Every tracker slot, as the page and `status --json` show them. */
export function workerViews(db: Db): WorkerView[] {
  return db.listWorkers().map((w) => ({
    name: w.name,
    host: w.host,
    device: w.device,
    health: w.health,
    error: w.error_text,
    current: w.job_id !== null && w.chunk_idx !== null ? { jobId: w.job_id, chunk: w.chunk_idx } : null,
    framesPerSecond: w.frames_per_second,
    lastSeenMs: w.last_seen_ms,
  }));
}
