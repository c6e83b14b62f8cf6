import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { OutputFormat } from '../config.ts';
import { chunkNumber } from '../chunk-number.ts';
import { alive } from './lock.ts';
import { migrate } from './migrate.ts';
import { QUEUE_ORDER_SQL, shownStateSql, trackingSinceSql } from './queue-sql.ts';
import type { ChunkAttemptRow, ChunkRow, CounterRow, FailureRecord, JobRow, JobSummaryRow, NewChunk, StageRow, TrackerLoadRow, WorkerRow } from './rows.ts';
import { STAGE_NAMES, STEP_STATES, type JobSort, type JobState, type StageName, type StepState } from './states.ts';

/**
 * A transition that found its row in another state: the caller lost a race or has a bug, or (from
 * the page and CLI) asked for an action that does not apply. `actual` is the state found.
 */
export class StateConflictError extends Error {
  readonly actual: string | undefined;
  constructor(what: string, expected: string, actual?: string) {
    super(`${what} is not ${expected}${actual ? ` (it is ${actual})` : ''}`);
    this.name = 'StateConflictError';
    this.actual = actual;
  }
}

/** A running stage's time worked once this attempt ends at `?` (bound to now): its earlier attempts' plus this one's. */
const WORKED_SQL = 'coalesce(duration_ms, 0) + max(0, coalesce(? - started_ms, 0))';

/** What a cancel did: a queued job is cancelled at once; a running one is asked to stop. */
export type CancelResult = 'cancelled' | 'requested';

/** How a job list is narrowed and ordered (the list page and GET /api/jobs). */
export interface JobListQuery {
  state?: JobState;
  /** Part of the file name, any case (ASCII letters); `%` and `_` are plain characters here. */
  search?: string;
  /** Created (the default) is the id's order: ids are given in the order jobs are made. */
  sort?: JobSort;
  dir?: 'asc' | 'desc';
}

/** The file name filter, with its pattern bound as @like. */
const NAME_MATCHES = "source_name LIKE @like ESCAPE '\\'";

/** A LIKE pattern matching `search` anywhere, its own `%`, `_` and `\` taken literally; null for no search. */
function likePattern(search: string | undefined): string | null {
  return search ? `%${search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null;
}

/** The live jobs first, then those that need a person, then the finished ones. */
const stateRank = (state: string) => `CASE ${state} WHEN 'running' THEN 0 WHEN 'queued' THEN 1 WHEN 'failed' THEN 2 WHEN 'cancelled' THEN 3 ELSE 4 END`;

/**
 * The ORDER BY of a list sort: fixed text per allow-listed key, never built from a request. Jobs
 * not finished have no finish time and come last either way; equals keep newest first.
 */
function jobOrder(sort: JobSort, dir: 'asc' | 'desc', state: string): string {
  const d = dir === 'asc' ? 'ASC' : 'DESC';
  switch (sort) {
    case 'created':
      return `id ${d}`;
    case 'finished':
      return `finished_ms IS NULL, finished_ms ${d}, id DESC`;
    case 'name':
      return `source_name COLLATE NOCASE ${d}, id DESC`;
    case 'state':
      return `${stateRank(state)} ${d}, id DESC`;
  }
}

/** A job to create from a ready inbox file. */
export interface NewJob {
  sourceName: string;
  sourcePath: string;
  /** The path's raw bytes, only when it is not valid UTF-8 (sourcePath is then lossy). */
  pathBytes?: Buffer;
  sha256: string;
  bytes: number;
  /** The output's form, fixed when the job is made (its output name says it: `.json` or `.jsonl`); json by default. */
  format?: OutputFormat;
  /** The settings that decide the output (src/work-settings.ts): a copy is made only of an original with the same key. */
  settings?: { json: string; key: string };
  /** Track again: a new job of this one's source, never a copy (`posepipe rerun`, "Track again"). */
  rerunOf?: number;
}

/**
 * Output name for a source name: `clip.mov` → `clip.json` (`clip.jsonl` in the jsonl format); control
 * and bidi characters, and U+FFFD (bytes that were not UTF-8), replaced.
 */
export function outputNameFor(sourceName: string, sha256: string, taken: (name: string) => boolean, format: OutputFormat = 'json'): string {
  const dot = sourceName.lastIndexOf('.');
  const stem = (dot > 0 ? sourceName.slice(0, dot) : sourceName)
    .replace(/[\u0000-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd/\\]/g, '_')
    .slice(0, 200) || 'video';
  const plain = `${stem}.${format}`;
  if (!taken(plain)) return plain;
  const hashed = `${stem}-${sha256.slice(0, 12)}`;
  if (!taken(`${hashed}.${format}`)) return `${hashed}.${format}`;
  // The same content again under the same name (a re-run, or other settings): numbered.
  for (let n = 2; ; n++) if (!taken(`${hashed}-${n}.${format}`)) return `${hashed}-${n}.${format}`;
}

/** The format a job's output is written in, from the name it was given when it was made. */
export function outputFormatOf(outputName: string): OutputFormat {
  return outputName.endsWith('.jsonl') ? 'jsonl' : 'json';
}

/** Drafts (and their journals) left by a process killed while it made the database. */
function removeDeadDrafts(file: string): void {
  const prefix = `${basename(file)}.new-`;
  for (const name of readdirSync(dirname(file))) {
    const pid = Number(/^(\d+)(?:-journal)?$/.exec(name.slice(prefix.length))?.[1]);
    if (!name.startsWith(prefix) || !pid || alive(pid)) continue;
    rmSync(join(dirname(file), name), { force: true });
  }
}

/**
 * Make a new database file whole: migrate it under a private name, then link it into place, so that
 * a reader (`posepipe status` beside a first `posepipe start`) finds no file or every table, never an
 * empty schema. When another process got there first, its file stands and this one is dropped.
 */
function createMigrated(file: string): void {
  const draft = `${file}.new-${process.pid}`;
  removeDeadDrafts(file);
  rmSync(draft, { force: true });
  const db = new Database(draft);
  try {
    db.pragma('foreign_keys = OFF');
    migrate(db, file);
  } finally {
    db.close();
  }
  try {
    linkSync(draft, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A file system without hard links (EPERM, ENOTSUP): a rename is whole too, only not exclusive.
    if (code === 'EPERM' || code === 'ENOTSUP') {
      if (!existsSync(file)) renameSync(draft, file);
    } else if (code !== 'EEXIST') throw err;
  } finally {
    rmSync(draft, { force: true });
    rmSync(`${draft}-journal`, { force: true });
  }
}

/**
 * The database: SQLite in WAL mode with synchronous=FULL, migrated on open.
 * Every query posepipe runs is a named method here; no SQL lives elsewhere.
 */
export class Db {
  readonly file: string;
  readonly #db: Database.Database;

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.file = file;
    if (!options.readonly) {
      mkdirSync(dirname(file), { recursive: true });
      if (!existsSync(file)) createMigrated(file);
    }
    this.#db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.#db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      // Migrations run with foreign keys off (a table rebuild must not cascade: better-sqlite3 turns
      // them on by default); everything else with them on.
      this.#db.pragma('foreign_keys = OFF');
      migrate(this.#db, file);
      this.#db.pragma('foreign_keys = ON');
    }
  }

  /** Close the connection. */
  close(): void {
    this.#db.close();
  }

  /** Run `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  /** `PRAGMA integrity_check` result ('ok' when sound). */
  integrityCheck(): string {
    return (this.#db.pragma('integrity_check', { simple: true }) as string) ?? '';
  }

  /** The schema as SQL text, for the snapshot test. */
  schemaSql(): string {
    const rows = this.#db.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name").all() as { sql: string }[];
    return rows.map((r) => `${r.sql};`).join('\n') + '\n';
  }

  // ── jobs ──────────────────────────────────────────────────────────────────

  /**
   * Create a job for a ready file. The same content again under the same name and path is the job it
   * already is (created false: a restart rescans the inbox; `rerun` tracks a file again). Under
   * another name or path it is a copy (copy_of: the original) when an original of the same content
   * was made with the same settings key, answered from its result once that is done; otherwise it
   * is a new job, tracked with today's settings. A re-run (`rerunOf`) is always a new original.
   * `outboxHas` tells whether a name is already used in the outbox by something else.
   */
  createJob(job: NewJob, outboxHas: (name: string) => boolean = () => false): { job: JobRow; created: boolean } {
    return this.transaction(() => {
      if (job.rerunOf === undefined) {
        const same = this.#db
          .prepare('SELECT * FROM jobs WHERE source_sha256 = ? AND source_name = ? AND source_path = ? ORDER BY id DESC LIMIT 1')
          .get(job.sha256, job.sourceName, job.sourcePath) as JobRow | undefined;
        if (same) return { job: same, created: false };
      }
      const key = job.settings?.key ?? null;
      const original =
        job.rerunOf === undefined
          ? (this.#db.prepare('SELECT * FROM jobs WHERE source_sha256 = ? AND settings_key IS ? AND copy_of IS NULL ORDER BY id DESC LIMIT 1').get(job.sha256, key) as JobRow | undefined)
          : undefined;
      const taken = this.#db.prepare('SELECT 1 FROM jobs WHERE output_name = ?');
      const output = outputNameFor(job.sourceName, job.sha256, (n) => taken.get(n) !== undefined || outboxHas(n), job.format);
      const now = Date.now();
      const info = this.#db
        .prepare(
          `INSERT INTO jobs (source_name, source_path, source_path_bytes, source_sha256, source_bytes, output_name, state, stage, created_ms, updated_ms, copy_of, settings_json, settings_key, rerun_of)
           VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          job.sourceName,
          job.sourcePath,
          job.pathBytes ?? null,
          job.sha256,
          job.bytes,
          output,
          original ? 'emit' : 'stage',
          now,
          now,
          original?.id ?? null,
          job.settings?.json ?? null,
          key,
          job.rerunOf ?? null,
        );
      const id = Number(info.lastInsertRowid);
      const insertStage = this.#db.prepare('INSERT INTO stages (job_id, name) VALUES (?, ?)');
      // A copy only writes its own JSON: every other stage is its original's.
      for (const name of original ? (['emit'] as const) : STAGE_NAMES) insertStage.run(id, name);
      return { job: this.getJob(id)!, created: true };
    });
  }

  /** One job, or undefined. */
  getJob(id: number): JobRow | undefined {
    return this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }

  /**
   * Remove a job's rows (its stages, chunks and attempts go with it); the caller removes its files.
   * Refused (StateConflictError) while it is queued or running (cancel it first), and while a copy
   * not in `alsoDeleting` is answered from its files. Returns the row as it was.
   */
  deleteJob(id: number, alsoDeleting: ReadonlySet<number> = new Set()): JobRow {
    return this.transaction(() => {
      const job = this.getJob(id);
      if (!job) throw new StateConflictError(`job ${id}`, 'known');
      if (job.state === 'queued' || job.state === 'running') throw new StateConflictError(`job ${id}`, 'finished, failed or cancelled (cancel it first)', this.#shownState(id));
      const copies = (this.#db.prepare('SELECT id FROM jobs WHERE copy_of = ? ORDER BY id').all(id) as { id: number }[]).map((r) => r.id).filter((c) => !alsoDeleting.has(c));
      if (copies.length) {
        throw new StateConflictError(`job ${id}`, `deletable while ${copies.length === 1 ? 'job' : 'jobs'} ${copies.join(', ')} ${copies.length === 1 ? 'is a copy' : 'are copies'} answered from its files (delete ${copies.length === 1 ? 'it' : 'them'} too)`);
      }
      this.#db.prepare('DELETE FROM jobs WHERE id = ?').run(id);
      return job;
    });
  }

  /** Unfinished jobs (queued or running) whose source is a path under `dir`: a re-run staging from another job's folder. */
  jobsStagingFrom(dir: string): number[] {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    return (this.#db.prepare("SELECT id FROM jobs WHERE state IN ('queued', 'running') AND substr(source_path, 1, length(?)) = ? ORDER BY id").all(prefix, prefix) as { id: number }[]).map((r) => r.id);
  }

  /**
   * A page of jobs (newest first unless sorted otherwise; narrowed by the state shown, queue-sql.ts,
   * and by file name) with their chunks summed up, times as of `now`.
   */
  listJobSummaries(opts: JobListQuery & { limit: number; offset: number; now?: number }): JobSummaryRow[] {
    const sort = opts.sort ?? 'created';
    const dir = opts.dir ?? 'desc';
    // Only a running row can be shown in another state (queued): the state index narrows the rest.
    const shown = opts.state ? `state IN (@state, ${opts.state === 'queued' ? "'running'" : '@state'}) AND ${shownStateSql('jobs')} = @state` : '';
    const where = [shown, opts.search ? NAME_MATCHES : ''].filter(Boolean);
    const jobsSql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${jobOrder(sort, dir, shownStateSql('jobs'))} LIMIT @limit OFFSET @offset`;
    return this.#summaries(jobsSql, { state: opts.state, like: likePattern(opts.search), limit: opts.limit, offset: opts.offset }, jobOrder(sort, dir, 'shown_state'), opts.now);
  }

  /** One job with its chunks summed up (the job page's totals, however many chunks it has), times as of `now`. */
  getJobSummary(id: number, now?: number): JobSummaryRow | undefined {
    return this.#summaries('SELECT * FROM jobs WHERE id = @id', { id }, 'id DESC', now)[0];
  }

  /**
   * The jobs `jobsSql` selects, each with its shown state (queue-sql.ts) and its chunks summed up by
   * a grouped query over just those jobs, in `order` (one of jobOrder's: its columns are the jobs
   * table's, which no total shares, or `shown_state`). Running chunks count their time so far as
   * tracker time, up to `now`.
   */
  #summaries(jobsSql: string, params: Record<string, unknown>, order: string, now = Date.now()): JobSummaryRow[] {
    return this.#db
      .prepare(
        `SELECT j.*, ${shownStateSql('j')} AS shown_state, ${trackingSinceSql('j')} AS tracking_ms, coalesce(c.chunks, 0) AS chunks, coalesce(c.chunks_done, 0) AS chunks_done, coalesce(c.chunks_failed, 0) AS chunks_failed,
                c.frames AS frames, coalesce(c.frames_done, 0) AS frames_done, coalesce(c.tracker_ms, 0) AS tracker_ms
         FROM (${jobsSql}) AS j
         LEFT JOIN (
           SELECT job_id, count(*) AS chunks, sum(state = 'done') AS chunks_done, sum(state = 'failed') AS chunks_failed, sum(frame_count) AS frames,
                  sum(CASE WHEN state = 'done' THEN frame_count ELSE frames_done END) AS frames_done,
                  sum(CASE WHEN state = 'running' AND started_ms IS NOT NULL THEN max(0, @now - started_ms) ELSE coalesce(tracker_ms, 0) END) AS tracker_ms
           FROM chunks WHERE job_id IN (SELECT id FROM (${jobsSql})) GROUP BY job_id
         ) AS c ON c.job_id = j.id
         ORDER BY ${order}`,
      )
      .all({ ...params, now }) as JobSummaryRow[];
  }

  /** The state job `id` is shown in (queue-sql.ts), which refusals name: a job taken ahead of a slot reads queued there too. */
  #shownState(id: number): string {
    return (this.#db.prepare(`SELECT ${shownStateSql('jobs')} AS s FROM jobs WHERE id = ?`).get(id) as { s: string } | undefined)?.s ?? 'unknown';
  }

  /** How many jobs are in each state as shown (queue-sql.ts: claimed but not yet tracked is queued), of those whose name matches `search` when given; every state present, zeros included. */
  countJobsByState(search?: string): Record<JobState, number> {
    const sql = `SELECT ${shownStateSql('jobs')} AS state, count(*) AS n FROM jobs ${search ? `WHERE ${NAME_MATCHES}` : ''} GROUP BY 1`;
    const rows = (search ? this.#db.prepare(sql).all({ like: likePattern(search) }) : this.#db.prepare(sql).all()) as { state: JobState; n: number }[];
    const counts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 } satisfies Record<JobState, number>;
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  /** Every job, newest first (optionally only one state). */
  listJobs(state?: JobState): JobRow[] {
    if (state) return this.#db.prepare('SELECT * FROM jobs WHERE state = ? ORDER BY id DESC').all(state) as JobRow[];
    return this.#db.prepare('SELECT * FROM jobs ORDER BY id DESC').all() as JobRow[];
  }

  /** The queued job of highest priority (the oldest among equals), marked running; undefined when none waits. */
  claimNextJob(): JobRow | undefined {
    return this.transaction(() => {
      // A copy waits for its original to be done.
      const job = this.#db
        .prepare("SELECT * FROM jobs WHERE state = 'queued' AND (copy_of IS NULL OR copy_of IN (SELECT id FROM jobs WHERE state = 'done')) ORDER BY priority DESC, id LIMIT 1")
        .get() as JobRow | undefined;
      if (!job) return undefined;
      this.#transitionJob(job.id, 'queued', 'running', { started_ms: Date.now(), error_kind: null, error_text: null });
      return this.getJob(job.id);
    });
  }

  /** The jobs shown queued, each one's place in the queue (1 is served next) by id; see queue-sql.ts for the order. */
  queuePositions(): Map<number, number> {
    const ids = this.#db.prepare(QUEUE_ORDER_SQL).pluck().all() as number[];
    return new Map(ids.map((id, i) => [id, i + 1]));
  }

  /** Claim a specific queued job (the foreground `run`). */
  claimJob(id: number): JobRow {
    return this.transaction(() => {
      this.#transitionJob(id, 'queued', 'running', { started_ms: Date.now(), error_kind: null, error_text: null });
      return this.getJob(id)!;
    });
  }

  #transitionJob(id: number, from: JobState | JobState[], to: JobState, patch: Record<string, string | number | null> = {}): void {
    const froms = Array.isArray(from) ? from : [from];
    const cols = Object.keys(patch);
    const sets = ['state = @to', 'updated_ms = @now', ...cols.map((c) => `${c} = @${c}`)].join(', ');
    const info = this.#db
      .prepare(`UPDATE jobs SET ${sets} WHERE id = @id AND state IN (${froms.map((_, i) => `@from${i}`).join(', ')})`)
      .run({ ...patch, ...Object.fromEntries(froms.map((f, i) => [`from${i}`, f])), id, to, now: Date.now() });
    if (info.changes !== 1) {
      const job = this.getJob(id);
      throw new StateConflictError(`job ${id}`, froms.join(' or '), job ? this.#shownState(id) : 'unknown');
    }
  }

  /**
   * Set a job's priority (higher runs first: claimed first, and its chunks get the next free slot;
   * equal priorities keep queue order). Any job but a finished one; throws StateConflictError else.
   */
  setPriority(id: number, priority: number): void {
    if (!Number.isSafeInteger(priority)) throw new RangeError(`priority must be an integer, not ${priority}`);
    this.transaction(() => {
      const job = this.getJob(id);
      if (!job) throw new StateConflictError(`job ${id}`, 'known');
      if (job.state === 'done') throw new StateConflictError(`job ${id}`, 'unfinished', job.state);
      this.#db.prepare('UPDATE jobs SET priority = ?, updated_ms = ? WHERE id = ?').run(priority, Date.now(), id);
    });
  }

  /** One more than the highest priority of any job not finished: what "move to the front" sets. */
  frontPriority(): number {
    const row = this.#db.prepare("SELECT max(priority) AS p FROM jobs WHERE state IN ('queued', 'running', 'failed', 'cancelled')").get() as { p: number | null };
    return (row.p ?? 0) + 1;
  }

  /** running → done. */
  finishJob(id: number): void {
    this.transaction(() => {
      this.#transitionJob(id, 'running', 'done', { stage: null, finished_ms: Date.now(), cancel_requested_ms: null });
      this.#count('jobs_done', '', 1);
    });
  }

  /** running → failed, with the reason. */
  failJob(id: number, failure: FailureRecord): void {
    this.transaction(() => {
      this.#transitionJob(id, 'running', 'failed', { error_kind: failure.kind, error_text: failure.text, finished_ms: Date.now(), cancel_requested_ms: null });
      this.#count('job_failures', failure.kind, 1);
      this.#failCopies(id, failure.kind, `failed: ${failure.text}`);
    });
  }

  /** The copies waiting on an original that failed or was cancelled say so (and follow its resume). */
  #failCopies(original: number, kind: FailureRecord['kind'], what: string): void {
    this.#db
      .prepare("UPDATE jobs SET state = 'failed', error_kind = ?, error_text = ?, finished_ms = ?, updated_ms = ? WHERE copy_of = ? AND state = 'queued'")
      .run(kind, `same content as job ${original}, which ${what} (posepipe resume ${original} finishes this copy too)`, Date.now(), Date.now(), original);
  }

  /**
   * failed or cancelled → queued at the first unfinished stage and chunk; failed chunks get a fresh
   * attempt budget. A stage keeps its count of attempts and its time worked: they add up over resumes.
   */
  resumeJob(id: number): void {
    this.transaction(() => {
      this.#transitionJob(id, ['failed', 'cancelled'], 'queued', { finished_ms: null, cancel_requested_ms: null });
      this.#db.prepare("UPDATE stages SET state = 'pending' WHERE job_id = ? AND state IN ('failed', 'running')").run(id);
      this.#db.prepare("UPDATE chunks SET state = 'pending', attempts = 0 WHERE job_id = ? AND state IN ('failed', 'running')").run(id);
      // Its copies follow it; a resumed copy resumes its original.
      for (const copy of this.#db.prepare("SELECT id FROM jobs WHERE copy_of = ? AND state IN ('failed', 'cancelled')").all(id) as { id: number }[]) this.resumeJob(copy.id);
      const original = this.getJob(this.getJob(id)!.copy_of ?? -1);
      if (original && (original.state === 'failed' || original.state === 'cancelled')) this.resumeJob(original.id);
    });
  }

  /**
   * Retry one failed chunk of a failed job: that chunk gets a fresh attempt budget and the job is
   * queued again at its track stage. Nothing else is reset (a failed stage other than track, or
   * another failed chunk, keeps its record). Throws StateConflictError when it does not apply.
   */
  retryChunk(jobId: number, idx: number): void {
    this.transaction(() => {
      const job = this.getJob(jobId);
      if (!job) throw new StateConflictError(`job ${jobId}`, 'known');
      const chunk = this.getChunk(jobId, idx);
      if (!chunk) throw new StateConflictError(`chunk ${chunkNumber(idx)} of job ${jobId}`, 'known');
      if (chunk.state !== 'failed') throw new StateConflictError(`chunk ${chunkNumber(idx)} of job ${jobId}`, 'failed', chunk.state);
      if (job.state !== 'failed') throw new StateConflictError(`job ${jobId}`, 'failed', this.#shownState(jobId));
      this.#transitionJob(jobId, 'failed', 'queued', { finished_ms: null, stage: 'track' });
      this.#db.prepare("UPDATE chunks SET state = 'pending', attempts = 0 WHERE job_id = ? AND idx = ?").run(jobId, idx);
      this.#db.prepare("UPDATE stages SET state = 'pending' WHERE job_id = ? AND name = 'track' AND state = 'failed'").run(jobId);
      for (const copy of this.#db.prepare("SELECT id FROM jobs WHERE copy_of = ? AND state = 'failed'").all(jobId) as { id: number }[]) this.resumeJob(copy.id);
    });
  }

  /**
   * Cancel a job: a queued one at once; a running one is marked, and the posepipe running it stops
   * it (finishCancel) within about a second, whichever process asked. Throws StateConflictError for
   * a job that is neither queued nor running.
   */
  cancelJob(id: number): CancelResult {
    return this.transaction(() => {
      const job = this.getJob(id);
      if (!job) throw new StateConflictError(`job ${id}`, 'known');
      if (job.state === 'queued') {
        this.#transitionJob(id, 'queued', 'cancelled', { finished_ms: Date.now() });
        this.#failCopies(id, 'internal', 'was cancelled');
        return 'cancelled';
      }
      if (job.state !== 'running') throw new StateConflictError(`job ${id}`, 'queued or running', job.state);
      this.#db.prepare('UPDATE jobs SET cancel_requested_ms = coalesce(cancel_requested_ms, ?), updated_ms = ? WHERE id = ?').run(Date.now(), Date.now(), id);
      return 'requested';
    });
  }

  /** Whether a cancel of this running job has been asked for. */
  cancelRequested(id: number): boolean {
    return (this.#db.prepare('SELECT cancel_requested_ms FROM jobs WHERE id = ?').get(id) as { cancel_requested_ms: number | null } | undefined)?.cancel_requested_ms != null;
  }

  /** running → cancelled, once its work has stopped: interrupted stages and chunks go back to pending (a resume redoes them). */
  finishCancel(id: number): void {
    this.transaction(() => {
      this.#transitionJob(id, 'running', 'cancelled', { finished_ms: Date.now(), cancel_requested_ms: null });
      this.#failCopies(id, 'internal', 'was cancelled');
      const now = Date.now();
      this.#db.prepare(`UPDATE stages SET state = 'pending', finished_ms = ?, duration_ms = ${WORKED_SQL} WHERE job_id = ? AND state = 'running'`).run(now, now, id);
      // The interrupted chunk's frames will be tracked again: progress does not count them.
      this.#db.prepare("UPDATE chunks SET state = 'pending', frames_done = 0 WHERE job_id = ? AND state = 'running'").run(id);
      this.#endAttempts(id, undefined, 'released');
    });
  }

  /** A done job whose outbox file is gone is queued again at `emit`: nothing the user deletes is lost for good. */
  reopenIfOutputMissing(id: number, outputPath: string): boolean {
    if (existsSync(outputPath)) return false;
    this.transaction(() => {
      this.#transitionJob(id, 'done', 'queued', { stage: 'emit', finished_ms: null });
      this.redoFromStage(id, 'emit');
    });
    return true;
  }

  /** At startup every `running` row is stale (its process is gone): back to queued/pending, or cancelled where a cancel was asked for. */
  requeueStale(): number {
    return this.transaction(() => {
      const now = Date.now();
      this.#db
        .prepare("UPDATE jobs SET state = 'cancelled', cancel_requested_ms = NULL, finished_ms = ?, updated_ms = ? WHERE state = 'running' AND cancel_requested_ms IS NOT NULL")
        .run(now, now);
      const n = this.#db.prepare("UPDATE jobs SET state = 'queued', updated_ms = ? WHERE state = 'running'").run(now).changes;
      // An interrupted stage keeps the time it worked: up to its noted stop (stopStage), else up to
      // the last trace its job left (a chunk attempt begun or ended) before the process went away.
      this.#db
        .prepare(
          `UPDATE stages SET state = 'pending', duration_ms = coalesce(duration_ms, 0) + max(0, coalesce(finished_ms,
             (SELECT max(max(a.started_ms, coalesce(a.finished_ms, 0))) FROM chunk_attempts a WHERE a.job_id = stages.job_id AND a.started_ms >= stages.started_ms),
             started_ms) - started_ms)
           WHERE state = 'running' AND started_ms IS NOT NULL`,
        )
        .run();
      this.#db.prepare("UPDATE stages SET state = 'pending' WHERE state = 'running'").run();
      this.#db.prepare("UPDATE chunks SET state = 'pending' WHERE state = 'running'").run();
      this.#db.prepare("UPDATE chunk_attempts SET finished_ms = ?, outcome = 'released' WHERE finished_ms IS NULL").run(now);
      return n;
    });
  }

  // ── stages ────────────────────────────────────────────────────────────────

  /** A job's stage rows in pipeline order. */
  listStages(jobId: number): StageRow[] {
    const rows = this.#db.prepare('SELECT * FROM stages WHERE job_id = ?').all(jobId) as StageRow[];
    return rows.sort((a, b) => STAGE_NAMES.indexOf(a.name) - STAGE_NAMES.indexOf(b.name));
  }

  /** pending → running, counting the attempt; the job's current stage follows. */
  startStage(jobId: number, name: StageName): void {
    this.transaction(() => {
      const info = this.#db
        .prepare("UPDATE stages SET state = 'running', attempts = attempts + 1, started_ms = ?, finished_ms = NULL, error_kind = NULL, error_text = NULL WHERE job_id = ? AND name = ? AND state = 'pending'")
        .run(Date.now(), jobId, name);
      if (info.changes !== 1) throw new StateConflictError(`stage ${name} of job ${jobId}`, 'pending');
      this.#db.prepare('UPDATE jobs SET stage = ?, updated_ms = ? WHERE id = ?').run(name, Date.now(), jobId);
    });
  }

  /**
   * running → done with the stage's output; `extra` runs in the same transaction (e.g. chunk rows).
   * duration_ms is the time worked over every attempt: this one's is added to the earlier ones'.
   */
  finishStage(jobId: number, name: StageName, output: unknown, extra?: () => void): void {
    this.transaction(() => {
      const now = Date.now();
      const info = this.#db
        .prepare(`UPDATE stages SET state = 'done', finished_ms = ?, duration_ms = ${WORKED_SQL}, output_json = ? WHERE job_id = ? AND name = ? AND state = 'running'`)
        .run(now, now, JSON.stringify(output), jobId, name);
      if (info.changes !== 1) throw new StateConflictError(`stage ${name} of job ${jobId}`, 'running');
      extra?.();
    });
  }

  /** A done stage's record, replaced by what doing it again made (its state and times stay). */
  replaceStageOutput(jobId: number, name: StageName, output: unknown): void {
    const info = this.#db.prepare("UPDATE stages SET output_json = ? WHERE job_id = ? AND name = ? AND state = 'done'").run(JSON.stringify(output), jobId, name);
    if (info.changes !== 1) throw new StateConflictError(`stage ${name} of job ${jobId}`, 'done');
  }

  /** running → failed with the reason (the attempt's time added to the stage's time worked). */
  failStage(jobId: number, name: StageName, failure: FailureRecord): void {
    const now = Date.now();
    this.#db
      .prepare(`UPDATE stages SET state = 'failed', finished_ms = ?, duration_ms = ${WORKED_SQL}, error_kind = ?, error_text = ? WHERE job_id = ? AND name = ? AND state = 'running'`)
      .run(now, now, failure.kind, failure.text, jobId, name);
  }

  /**
   * A graceful stop interrupted this running stage: it stays running (the next start requeues it,
   * as after a crash), but its end is noted so that requeueing adds the time it worked.
   */
  stopStage(jobId: number, name: StageName): void {
    this.#db.prepare("UPDATE stages SET finished_ms = ? WHERE job_id = ? AND name = ? AND state = 'running'").run(Date.now(), jobId, name);
  }

  /** Send a done stage (and the ones after it) back to pending: its output is missing or damaged. */
  redoFromStage(jobId: number, name: StageName): void {
    const later = STAGE_NAMES.slice(STAGE_NAMES.indexOf(name));
    const marks = later.map(() => '?').join(', ');
    this.#db.prepare(`UPDATE stages SET state = 'pending', output_json = NULL WHERE job_id = ? AND name IN (${marks})`).run(jobId, ...later);
  }

  // ── chunks ────────────────────────────────────────────────────────────────

  /** Replace a job's chunk rows (inside the chunk stage's done transaction). */
  replaceChunks(jobId: number, chunks: NewChunk[]): void {
    this.#db.prepare('DELETE FROM chunks WHERE job_id = ?').run(jobId);
    const insert = this.#db.prepare('INSERT INTO chunks (job_id, idx, file, first_frame, frame_count, overlap_frames) VALUES (?, ?, ?, ?, ?, ?)');
    for (const c of chunks) insert.run(jobId, c.idx, c.file, c.firstFrame, c.frameCount, c.overlapFrames);
  }

  /** One chunk row, or undefined. */
  getChunk(jobId: number, idx: number): ChunkRow | undefined {
    return this.#db.prepare('SELECT * FROM chunks WHERE job_id = ? AND idx = ?').get(jobId, idx) as ChunkRow | undefined;
  }

  /** A page of a job's chunks in order (optionally only one state). */
  listChunksPage(jobId: number, opts: { state?: StepState; limit: number; offset: number }): ChunkRow[] {
    const where = opts.state ? 'AND state = @state' : '';
    return this.#db
      .prepare(`SELECT * FROM chunks WHERE job_id = @jobId ${where} ORDER BY idx LIMIT @limit OFFSET @offset`)
      .all({ jobId, state: opts.state, limit: opts.limit, offset: opts.offset }) as ChunkRow[];
  }

  /** How many of a job's chunks are in each state. */
  countChunksByState(jobId: number): Record<StepState, number> {
    const counts = Object.fromEntries(STEP_STATES.map((s) => [s, 0])) as Record<StepState, number>;
    for (const r of this.#db.prepare('SELECT state, count(*) AS n FROM chunks WHERE job_id = ? GROUP BY state').all(jobId) as { state: StepState; n: number }[]) counts[r.state] = r.n;
    return counts;
  }

  /** A job's chunks in order. */
  listChunks(jobId: number): ChunkRow[] {
    return this.#db.prepare('SELECT * FROM chunks WHERE job_id = ? ORDER BY idx').all(jobId) as ChunkRow[];
  }

  /** pending → running, counting the attempt, recorded with where it runs (`ranOn`: a slot, a machine). */
  startChunk(jobId: number, idx: number, ranOn = 'slot 1'): void {
    this.transaction(() => {
      const now = Date.now();
      const info = this.#db
        .prepare("UPDATE chunks SET state = 'running', attempts = attempts + 1, frames_done = 0, started_ms = ?, finished_ms = NULL, ran_on = ? WHERE job_id = ? AND idx = ? AND state = 'pending'")
        .run(now, ranOn, jobId, idx);
      if (info.changes !== 1) throw new StateConflictError(`chunk ${chunkNumber(idx)} of job ${jobId}`, 'pending');
      const c = this.getChunk(jobId, idx)!;
      this.#db
        .prepare('INSERT INTO chunk_attempts (job_id, first_frame, frame_count, attempt, ran_on, started_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(jobId, c.first_frame, c.frame_count, c.attempts, ranOn, now);
    });
  }

  /** Close the open attempt rows of a chunk (or of every chunk of the job, `firstFrame` undefined) with how they ended. */
  #endAttempts(jobId: number, firstFrame: number | undefined, outcome: 'done' | 'failed' | 'released'): void {
    const only = firstFrame === undefined ? '' : 'AND first_frame = @firstFrame';
    this.#db
      .prepare(`UPDATE chunk_attempts SET finished_ms = @now, outcome = @outcome WHERE job_id = @jobId ${only} AND finished_ms IS NULL`)
      .run({ now: Date.now(), outcome, jobId, firstFrame });
  }

  #firstFrame(jobId: number, idx: number): number | undefined {
    return this.getChunk(jobId, idx)?.first_frame;
  }

  /** The attempt at a chunk that is running now (no outcome yet), or undefined. */
  currentAttempt(jobId: number, firstFrame: number): ChunkAttemptRow | undefined {
    return this.#db.prepare('SELECT * FROM chunk_attempts WHERE job_id = ? AND first_frame = ? AND finished_ms IS NULL ORDER BY id DESC LIMIT 1').get(jobId, firstFrame) as ChunkAttemptRow | undefined;
  }

  /** Every attempt at a job's chunks, oldest first: where each ran, when, and how it ended. */
  listAttempts(jobId?: number): ChunkAttemptRow[] {
    if (jobId === undefined) return this.#db.prepare('SELECT * FROM chunk_attempts ORDER BY id').all() as ChunkAttemptRow[];
    return this.#db.prepare('SELECT * FROM chunk_attempts WHERE job_id = ? ORDER BY id').all(jobId) as ChunkAttemptRow[];
  }

  /** Progress of a running chunk (frames tracked so far). */
  chunkProgress(jobId: number, idx: number, framesDone: number): void {
    this.#db.prepare("UPDATE chunks SET frames_done = ? WHERE job_id = ? AND idx = ? AND state = 'running'").run(framesDone, jobId, idx);
  }

  /** running → done with the result file's size and hash, and the tracker's busy time; an earlier attempt's failure stays on the row as history. */
  finishChunk(jobId: number, idx: number, result: { file: string; bytes: number; sha256: string; trackerMs: number }): void {
    this.transaction(() => {
      const info = this.#db
        .prepare(
          `UPDATE chunks SET state = 'done', finished_ms = ?, frames_done = frame_count, tracker_ms = ?, result_file = ?, result_bytes = ?, result_sha256 = ?
           WHERE job_id = ? AND idx = ? AND state = 'running'`,
        )
        .run(Date.now(), result.trackerMs, result.file, result.bytes, result.sha256, jobId, idx);
      if (info.changes !== 1) throw new StateConflictError(`chunk ${chunkNumber(idx)} of job ${jobId}`, 'running');
      this.#endAttempts(jobId, this.#firstFrame(jobId, idx), 'done');
      this.#count('chunks_processed', '', 1);
      this.#count('tracker_seconds', '', result.trackerMs / 1000);
    });
  }

  /**
   * running → pending without counting the attempt: posepipe stopped it (another chunk of the job
   * failed, or a split beside it changed its range while it ran); the chunk itself did not fail.
   */
  releaseChunk(jobId: number, idx: number): void {
    this.transaction(() => {
      const info = this.#db
        .prepare("UPDATE chunks SET state = 'pending', attempts = max(0, attempts - 1), frames_done = 0, finished_ms = NULL WHERE job_id = ? AND idx = ? AND state = 'running'")
        .run(jobId, idx);
      if (info.changes === 1) this.#endAttempts(jobId, this.#firstFrame(jobId, idx), 'released');
    });
  }

  /** running → pending (will retry) or failed, recording why. */
  failChunk(jobId: number, idx: number, failure: FailureRecord, retry: boolean): void {
    this.transaction(() => {
      const info = this.#db
        .prepare(
          `UPDATE chunks SET state = ?, finished_ms = ?, error_kind = ?, error_text = ?, exit_code = ?, signal = ?, stderr_tail = ?
           WHERE job_id = ? AND idx = ? AND state = 'running'`,
        )
        .run(retry ? 'pending' : 'failed', Date.now(), failure.kind, failure.text, failure.exitCode ?? null, failure.signal ?? null, failure.stderrTail ?? null, jobId, idx);
      if (info.changes !== 1) return;
      this.#endAttempts(jobId, this.#firstFrame(jobId, idx), 'failed');
      this.#count('chunk_failures', failure.kind, 1);
    });
  }

  /**
   * Split a chunk row in two halves of its frame range (after an out-of-memory error): both track
   * ranges of the same file; later rows move one index up. The second half overlaps the first by
   * `overlapFrames` (at most the first half's length) so track ids still join.
   */
  splitChunk(jobId: number, idx: number, overlapFrames: number): void {
    this.transaction(() => {
      const c = this.#db.prepare('SELECT * FROM chunks WHERE job_id = ? AND idx = ?').get(jobId, idx) as ChunkRow | undefined;
      if (!c || c.frame_count < 2) throw new StateConflictError(`chunk ${chunkNumber(idx)} of job ${jobId}`, 'splittable');
      const head = Math.floor(c.frame_count / 2);
      // Two steps, so no intermediate index collides with an existing row's primary key.
      this.#db.prepare('UPDATE chunks SET idx = -(idx + 1) WHERE job_id = ? AND idx > ?').run(jobId, idx);
      this.#db.prepare('UPDATE chunks SET idx = -idx WHERE job_id = ? AND idx < 0').run(jobId);
      this.#db
        .prepare("UPDATE chunks SET frame_count = ?, splits = splits + 1, state = 'pending', attempts = 0, frames_done = 0 WHERE job_id = ? AND idx = ?")
        .run(head, jobId, idx);
      this.#db
        .prepare(
          `INSERT INTO chunks (job_id, idx, file, file_start, splits, first_frame, frame_count, overlap_frames, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
        )
        .run(jobId, idx + 1, c.file, c.file_start + head, c.splits + 1, c.first_frame + head, c.frame_count - head, Math.min(overlapFrames, head));
      // The row after the new second half overlaps it: never by more frames than it now has. If
      // that row is already done (another slot tracked it meanwhile), its result holds the longer
      // overlap and no longer fits: it is tracked again.
      const tail = c.frame_count - head;
      this.#db
        .prepare(
          `UPDATE chunks SET overlap_frames = ?, state = CASE state WHEN 'done' THEN 'pending' ELSE state END,
             attempts = CASE state WHEN 'done' THEN 0 ELSE attempts END, frames_done = CASE state WHEN 'done' THEN 0 ELSE frames_done END,
             result_file = CASE state WHEN 'done' THEN NULL ELSE result_file END, result_bytes = CASE state WHEN 'done' THEN NULL ELSE result_bytes END,
             result_sha256 = CASE state WHEN 'done' THEN NULL ELSE result_sha256 END
           WHERE job_id = ? AND idx = ? AND overlap_frames > ?`,
        )
        .run(tail, jobId, idx + 2, tail);
    });
  }

  /** A done chunk whose result is missing or damaged goes back to pending. */
  redoChunk(jobId: number, idx: number, reason: string): void {
    this.#db
      .prepare("UPDATE chunks SET state = 'pending', attempts = 0, result_file = NULL, result_bytes = NULL, result_sha256 = NULL, error_kind = 'internal', error_text = ? WHERE job_id = ? AND idx = ?")
      .run(reason, jobId, idx);
  }

  // ── settings and counters ─────────────────────────────────────────────────

  /** Since when the coordinator's Redis has not answered (undefined: it answers, or there is none). */
  setRedisDownSince(ms: number | undefined): void {
    if (ms === undefined) this.#db.prepare("DELETE FROM settings WHERE name = 'redis_down_since'").run();
    else this.#db.prepare("INSERT INTO settings (name, value) VALUES ('redis_down_since', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(String(ms));
  }

  redisDownSince(): number | undefined {
    const v = (this.#db.prepare("SELECT value FROM settings WHERE name = 'redis_down_since'").get() as { value: string } | undefined)?.value;
    return v === undefined ? undefined : Number(v);
  }

  /** Since when the BullMQ queue has been found paused in Redis (undefined: it is not, or there is none). */
  setQueuePausedSince(ms: number | undefined): void {
    if (ms === undefined) this.#db.prepare("DELETE FROM settings WHERE name = 'queue_paused_since'").run();
    else this.#db.prepare("INSERT INTO settings (name, value) VALUES ('queue_paused_since', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(String(ms));
  }

  queuePausedSince(): number | undefined {
    const v = (this.#db.prepare("SELECT value FROM settings WHERE name = 'queue_paused_since'").get() as { value: string } | undefined)?.value;
    return v === undefined ? undefined : Number(v);
  }

  /** Pause or unpause intake: while paused no queued job starts (the running one goes on; new files are still queued). */
  setIntakePaused(paused: boolean): void {
    this.#db.prepare("INSERT INTO settings (name, value) VALUES ('intake_paused', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(paused ? '1' : '0');
  }

  /** Whether intake is paused. */
  intakePaused(): boolean {
    return (this.#db.prepare("SELECT value FROM settings WHERE name = 'intake_paused'").get() as { value: string } | undefined)?.value === '1';
  }

  #count(name: CounterRow['name'], label: string, by: number): void {
    this.#db.prepare('INSERT INTO counters (name, label, value) VALUES (?, ?, ?) ON CONFLICT (name, label) DO UPDATE SET value = value + excluded.value').run(name, label, by);
  }

  /** Every counter (they only grow; they survive restarts). */
  listCounters(): CounterRow[] {
    return this.#db.prepare('SELECT name, label, value FROM counters ORDER BY name, label').all() as CounterRow[];
  }

  /** Chunks not yet done in queued and running jobs (the work waiting). */
  pendingChunkCount(): number {
    return (
      this.#db.prepare("SELECT count(*) AS n FROM chunks WHERE state != 'done' AND job_id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running'))").get() as { n: number }
    ).n;
  }

  /**
   * Changes whenever anything was committed, by this connection or another process: the server
   * polls it to push live updates without reading any table.
   */
  /** Rows this process has inserted, updated or deleted since it opened the database (SQLite's total_changes). */
  rowsWritten(): number {
    return (this.#db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
  }

  changeStamp(): string {
    const version = this.#db.pragma('data_version', { simple: true }) as number;
    const own = (this.#db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    return `${version}:${own}`;
  }

  // ── tracker slots ─────────────────────────────────────────────────────────

  /** At start: this host's slots, as `starting` (rows of an earlier run on this host are replaced; remote workers' rows are theirs). */
  registerWorkers(host: string, names: readonly string[]): void {
    this.transaction(() => {
      this.#db.prepare("DELETE FROM workers WHERE host = ? AND name NOT LIKE 'worker %'").run(host);
      const insert = this.#db.prepare("INSERT OR REPLACE INTO workers (name, host, health, last_seen_ms) VALUES (?, ?, 'starting', ?)");
      for (const name of names) insert.run(name, host, Date.now());
    });
  }

  /** A slot's backend loaded (`ready`, with its device) or could not (`unhealthy`, with the error). */
  workerHealth(name: string, health: 'ready' | 'unhealthy', detail: { device?: string; error?: string } = {}): void {
    this.#db
      .prepare('UPDATE workers SET health = ?, device = coalesce(?, device), error_text = ?, last_seen_ms = ? WHERE name = ?')
      .run(health, detail.device ?? null, detail.error ?? null, Date.now(), name);
  }

  /**
   * The chunk a slot tracks (or none: it is free), and how fast it tracks that chunk (frames/s; null
   * until measured, and while free: a rate is only ever the current chunk's); seen now.
   */
  workerChunk(name: string, chunk: { jobId: number; idx: number; framesPerSecond?: number | null } | undefined): void {
    this.#db
      .prepare('UPDATE workers SET job_id = ?, chunk_idx = ?, frames_per_second = ?, last_seen_ms = ? WHERE name = ?')
      .run(chunk?.jobId ?? null, chunk?.idx ?? null, chunk?.framesPerSecond ?? null, Date.now(), name);
  }

  /** A slot was heard from (a heartbeat, progress that did not advance, a piece of an upload): only its last seen moves. */
  workerSeen(name: string): void {
    this.#db.prepare('UPDATE workers SET last_seen_ms = ? WHERE name = ?').run(Date.now(), name);
  }

  /** A remote worker's slot was heard from: its row (made on first contact) says what it tracks now, and its health. */
  seenWorker(
    name: string,
    host: string | undefined,
    device: string | undefined,
    chunk: { jobId: number; idx: number } | undefined,
    health: { state: 'ready' | 'unhealthy' | 'stopped'; error?: string } = { state: 'ready' },
  ): void {
    this.#db
      .prepare(
        `INSERT INTO workers (name, host, device, health, error_text, job_id, chunk_idx, last_seen_ms) VALUES (@name, coalesce(@host, '?'), @device, @health, @error, @jobId, @idx, @now)
         ON CONFLICT (name) DO UPDATE SET host = coalesce(@host, host), device = coalesce(@device, device), health = @health, error_text = @error, job_id = @jobId, chunk_idx = @idx, last_seen_ms = @now`,
      )
      .run({ name, host: host ?? null, device: device ?? null, health: health.state, error: health.error ?? null, jobId: chunk?.jobId ?? null, idx: chunk?.idx ?? null, now: Date.now() });
  }

  /** The names of the remote workers' slots (rows `worker …`), for the coordinator's cap on how many it keeps. */
  remoteWorkerNames(): Set<string> {
    return new Set((this.#db.prepare("SELECT name FROM workers WHERE name LIKE 'worker %'").all() as { name: string }[]).map((r) => r.name));
  }

  /** Remote workers' slots last heard from before `beforeMs` are removed, except those named in `keep` (they hold an attempt); how many went. */
  expireRemoteWorkers(beforeMs: number, keep: readonly string[]): number {
    return this.#db
      .prepare("DELETE FROM workers WHERE name LIKE 'worker %' AND last_seen_ms < ? AND name NOT IN (SELECT value FROM json_each(?))")
      .run(beforeMs, JSON.stringify(keep)).changes;
  }

  /** At stop: this host's slots are stopped (an unhealthy one keeps saying why; remote workers say for themselves). */
  stopWorkers(host: string): void {
    this.#db
      .prepare("UPDATE workers SET health = CASE health WHEN 'unhealthy' THEN health ELSE 'stopped' END, job_id = NULL, chunk_idx = NULL, last_seen_ms = ? WHERE host = ? AND name NOT LIKE 'worker %'")
      .run(Date.now(), host);
  }

  /** Every slot, by name. */
  listWorkers(): WorkerRow[] {
    return this.#db.prepare('SELECT * FROM workers ORDER BY host, name').all() as WorkerRow[];
  }

  // ── tracker loads ─────────────────────────────────────────────────────────

  /** Record one start of the tracker backend. */
  recordTrackerLoad(load: Omit<TrackerLoadRow, 'id'>): void {
    this.#db
      .prepare('INSERT INTO tracker_loads (backend, version, device, pid, started_ms, load_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(load.backend, load.version, load.device, load.pid, load.started_ms, load.load_ms);
  }

  /** Every load, oldest first. */
  listTrackerLoads(): TrackerLoadRow[] {
    return this.#db.prepare('SELECT * FROM tracker_loads ORDER BY id').all() as TrackerLoadRow[];
  }
}
