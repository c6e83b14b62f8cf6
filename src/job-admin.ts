/**
 * Tracking a job again and deleting jobs: what `posepipe rerun` / `posepipe delete` and the page's
 * "Track again" / "Delete" do, in one place, so both answer the same and refuse the same.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { StateConflictError, type Db, type JobRow } from './db/index.ts';
import { jobDir } from './paths.ts';
import { jobView, sourceView } from './views.ts';
import { settingsRecord, workSettings } from './work-settings.ts';

/** An action that cannot be done as asked; its message says why and what to do instead (CLI exit 2, page 409). */
export class ActionRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionRefusedError';
  }
}

/** The job, or an ActionRefusedError naming the id. */
function known(db: Db, id: number): JobRow {
  const job = db.getJob(id);
  if (!job) throw new ActionRefusedError(`no job ${id}`);
  return job;
}

/**
 * A new job for the same source, tracked with today's settings (the old job and its output kept).
 * The source is the inbox file when it is still there (the stage step checks its hash), else the
 * old job's staged copy under home. Refused while the job is queued or running, and when neither is left.
 */
export function rerunJob(db: Db, config: Config, id: number): JobRow {
  const job = known(db, id);
  if (job.state === 'queued' || job.state === 'running') throw new ActionRefusedError(`job ${id} is not finished: it is queued or being tracked (cancel it first to track it again)`);
  const inbox = job.source_path_bytes ?? job.source_path;
  let sourcePath = job.source_path;
  let pathBytes: Buffer | undefined = job.source_path_bytes ?? undefined;
  if (!sameSize(inbox, job.source_bytes)) {
    const staged = sourceView(db, id).stagedFile;
    const copy = staged === null ? undefined : join(jobDir(config, job.copy_of ?? job.id), staged);
    if (copy === undefined || !sameSize(copy, job.source_bytes)) {
      throw new ActionRefusedError(`job ${id}: its video is neither in the inbox nor under home any more: drop it into the inbox again`);
    }
    sourcePath = copy;
    pathBytes = undefined;
  }
  return db.createJob(
    { sourceName: job.source_name, sourcePath, pathBytes, sha256: job.source_sha256, bytes: job.source_bytes, format: config.outputFormat, settings: settingsRecord(workSettings(config)), rerunOf: id },
    (n) => existsSync(join(config.outbox, n)),
  ).job;
}

function sameSize(path: string | Buffer, bytes: number): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && st.size === bytes;
  } catch {
    return false;
  }
}

/** What deleting one job did. */
export interface Deleted {
  id: number;
  name: string;
  /** The output file removed (only with `output`), or null. */
  removedOutput: string | null;
}

/**
 * Delete jobs: each one's rows and its folder under home; its output in the outbox only when
 * `output` is set. Each job is refused on its own (queued or running: cancel first; an original
 * whose copies stay; the folder a queued re-run stages from), the others still go. Copies go
 * before their originals, so deleting both at once works.
 */
export function deleteJobs(db: Db, config: Config, ids: readonly number[], opts: { output: boolean }): { deleted: Deleted[]; refused: { id: number; reason: string }[] } {
  const deleted: Deleted[] = [];
  const refused: { id: number; reason: string }[] = [];
  const all = new Set(ids);
  // A copy always has a higher id than its original.
  for (const id of [...all].sort((a, b) => b - a)) {
    try {
      const job = known(db, id);
      const dir = jobDir(config, id);
      const stagers = db.jobsStagingFrom(dir).filter((j) => !all.has(j));
      if (stagers.length) throw new ActionRefusedError(`job ${id}: job ${stagers.join(', ')} tracks its video again from its folder: delete it after ${stagers.length === 1 ? 'that one is' : 'those are'} done`);
      const output = job.state === 'done' ? jobView(db, config, job).outputPath : null;
      db.deleteJob(id, all);
      rmSync(dir, { recursive: true, force: true });
      let removedOutput: string | null = null;
      if (opts.output && output !== null && existsSync(output)) {
        rmSync(output, { force: true });
        removedOutput = output;
      }
      deleted.push({ id, name: job.source_name, removedOutput });
    } catch (error) {
      if (!(error instanceof ActionRefusedError || error instanceof StateConflictError)) throw error;
      refused.push({ id, reason: error.message });
    }
  }
  return { deleted: deleted.reverse(), refused: refused.reverse() };
}
