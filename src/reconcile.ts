/**
 * Startup repair: what a crash or kill can leave behind, put right before any job runs. Rows left
 * `running` go back to queued; a done stage or chunk of an unfinished job whose file is missing or
 * damaged is sent back; temp files of interrupted attempts are removed.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ATOMIC_TEMP } from './atomic-file.ts';
import type { Config } from './config.ts';
import { type ChunkRow, type Db, type JobRow, type StageName, STAGE_NAMES } from './db/index.ts';
import { jobDir, MERGE_INDEX_FILE } from './paths.ts';
import type { ChunkOutput } from './stages/chunk.ts';
import type { EmitOutput } from './stages/emit.ts';
import type { MergeOutput } from './stages/merge.ts';
import type { StageOutput } from './stages/stage.ts';
import { chunkNumber } from './chunk-number.ts';

/** What the repair reads and writes. */
export interface RepairDeps {
  db: Db;
  config: Config;
  log: (line: string) => void;
}

/**
 * At startup (the instance lock is held, so nothing else writes here): rows left `running` by
 * a dead process go back to queued; a done stage or chunk of an unfinished job whose file is
 * missing or damaged is sent back, so the walk redoes it from there; temp files that killed
 * attempts left in job folders, and our own dead processes' temps in the outbox, are removed.
 */
export function reconcile(deps: RepairDeps): void {
  const requeued = deps.db.requeueStale();
  if (requeued) deps.log(`requeued ${requeued} job(s) left running by an earlier process`);
  const jobs = deps.db.listJobs();
  for (const job of jobs) {
    removeJobTemps(deps, job.id);
    if (job.state === 'done') continue;
    const redo = firstDamagedStage(deps, job.id);
    if (redo) {
      deps.db.redoFromStage(job.id, redo.stage);
      deps.log(`job ${job.id}: ${redo.reason}; redoing it from stage ${redo.stage}`);
      // Everything from that stage on is made again, the chunk rows included.
      if (STAGE_NAMES.indexOf(redo.stage) <= STAGE_NAMES.indexOf('chunk')) continue;
    }
    // A copy has no chunks of its own. Emit and preview stream from the chunk results too, so they
    // are checked until the job is done, the merge done or not.
    if (job.copy_of !== null) continue;
    for (const c of deps.db.listChunks(job.id)) {
      if (c.state !== 'done') continue;
      const problem = resultProblem(deps.config, job.id, c, false);
      if (problem) redoChunk(deps, job.id, c, problem);
    }
  }
  removeOutboxTemps(deps, jobs);
}

/** The earliest done stage whose recorded file is gone or has the wrong size, and why. */
function firstDamagedStage(deps: RepairDeps, jobId: number): { stage: StageName; reason: string } | undefined {
  const dir = jobDir(deps.config, jobId);
  for (const row of deps.db.listStages(jobId)) {
    if (row.state !== 'done') continue;
    let reason: string | undefined;
    try {
      const out: unknown = JSON.parse(row.output_json ?? 'null');
      switch (row.name) {
        case 'stage': {
          const staged = out as StageOutput;
          reason = fileProblem(join(dir, staged.file), `staged source ${staged.file}`, staged.bytes);
          break;
        }
        case 'chunk': {
          const chunked = out as ChunkOutput;
          const missing = chunked.chunks.find((c) => !existsSync(join(dir, c.file)));
          if (missing) reason = `chunk file ${missing.file} is missing`;
          else if (chunked.frameTimesFile && !existsSync(join(dir, chunked.frameTimesFile))) reason = `the frame times ${chunked.frameTimesFile} are missing`;
          break;
        }
        case 'merge':
          reason = fileProblem(join(dir, MERGE_INDEX_FILE), MERGE_INDEX_FILE, (out as MergeOutput).bytes);
          break;
        case 'emit': {
          const emitted = out as EmitOutput;
          reason = fileProblem(emitted.file, `outbox file ${basename(emitted.file)}`, emitted.bytes);
          break;
        }
      }
    } catch {
      // A missing or malformed record (a TypeError reading it) cannot vouch for the files either.
      reason = `the recorded output of stage ${row.name} is unreadable`;
    }
    if (reason) return { stage: row.name, reason };
  }
  return undefined;
}

/** Temp names of attempts a kill interrupted: `.source.mp4.tmp-<pid>`, `.merge.json.tmp-<pid>-<hex>`, `chunks.tmp-*`, `results/*.pkl.tmp-<pid>`. */
function removeJobTemps(deps: RepairDeps, jobId: number): void {
  const dir = jobDir(deps.config, jobId);
  const remove = (folder: string, test: (name: string) => boolean) => {
    if (!existsSync(folder)) return;
    for (const name of readdirSync(folder)) {
      if (!test(name)) continue;
      rmSync(join(folder, name), { recursive: true, force: true });
      deps.log(`job ${jobId}: removed ${name}, left by an interrupted attempt`);
    }
  };
  // Stage writes `.source.mp4.tmp-<pid>`, merge `.merge.json.tmp-<pid>-<hex>`, preview `.player.tmp-<pid>`, chunk a `chunks.tmp-<pid>-<hex>` folder.
  remove(dir, (name) => /^\..+\.tmp-\d+(?:-[0-9a-f]+)?$/.test(name) || name.startsWith('chunks.tmp-'));
  remove(join(dir, 'results'), (name) => /\.pkl\.tmp-\d+$/.test(name));
  // The status page's thumbnails, written atomically like the rest.
  remove(join(dir, 'thumbs'), (name) => ATOMIC_TEMP.test(name));
}

/**
 * The outbox may be shared with other programs (or another posepipe home): only our own temp
 * pattern, `.<output name>.tmp-<pid>-<hex>`, for one of our jobs' names, of a process gone.
 */
function removeOutboxTemps(deps: RepairDeps, jobs: JobRow[]): void {
  if (!existsSync(deps.config.outbox)) return;
  const ours = new Set(jobs.map((j) => j.output_name));
  for (const name of readdirSync(deps.config.outbox)) {
    const m = ATOMIC_TEMP.exec(name);
    if (!m || !ours.has(m[1]!) || processAlive(Number(m[2]))) continue;
    rmSync(join(deps.config.outbox, name), { force: true });
    deps.log(`removed ${name} from the outbox, left by an interrupted emit`);
  }
}

/** Why a recorded file is unusable (missing, not a file, or not `bytes` long), or undefined. */
function fileProblem(path: string, what: string, bytes?: number): string | undefined {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return `${what} is not a file`;
    size = st.size;
  } catch {
    return `${what} is missing`;
  }
  if (bytes !== undefined && size !== bytes) return `${what} has ${size} bytes, ${bytes} recorded`;
  return undefined;
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a done chunk's recorded result cannot be used (missing, wrong size), or undefined; `strict`: no result recorded is a problem too. */
export function resultProblem(config: Config, jobId: number, c: ChunkRow, strict: boolean): string | undefined {
  if (!c.result_file) return strict ? 'no result recorded' : undefined;
  const path = join(jobDir(config, jobId), c.result_file);
  if (!existsSync(path)) return `result file ${c.result_file} is missing`;
  const size = statSync(path).size;
  if (size !== c.result_bytes) return `result file ${c.result_file} has ${size} bytes, ${c.result_bytes} recorded`;
  return undefined;
}

/** Send a done chunk back to be tracked again (and the stages after track with it), saying why. */
export function redoChunk(deps: RepairDeps, jobId: number, c: ChunkRow, reason: string): void {
  deps.db.transaction(() => {
    deps.db.redoChunk(jobId, c.idx, reason);
    deps.db.redoFromStage(jobId, 'track');
  });
  deps.log(`job ${jobId} chunk ${chunkNumber(c.idx)}: ${reason}; it will be tracked again`);
}
