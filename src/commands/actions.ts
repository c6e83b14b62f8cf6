/**
 * The status page's actions on the command line: `resume`, `cancel`, `retry`, `priority`, `pause`, `unpause`. They
 * write the database (no lock needed: each is one checked transition); a running `posepipe start`
 * sees the change within a second. Exit 2 when an action does not apply, with the reason.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chunkNumber } from '../chunk-number.ts';
import type { Config } from '../config.ts';
import { openDb, StateConflictError, type Db, type JobRow } from '../db/index.ts';
import { resumeHelps } from '../errors.ts';
import { displayName, terminalSafe } from '../progress.ts';
import { resolveJobArg } from './job-arg.ts';

function withDb(config: Config, fn: (db: Db) => number): number {
  if (!existsSync(join(config.home, 'posepipe.db'))) {
    console.error(`posepipe: no jobs yet in ${config.home}`);
    return 2;
  }
  const db = openDb(config.home);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The job an argument names (its id or its file name), or undefined (after saying why). */
function jobIdArg(db: Db, arg: string): number | undefined {
  const job = resolveJobArg(db, arg);
  if (job.error !== undefined) console.error(`posepipe: ${job.error}`);
  return job.id;
}

/** Run one action; a StateConflictError is the "does not apply" answer. */
function attempt(action: () => string): number {
  try {
    console.log(action());
    return 0;
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    console.error(`posepipe: ${error.message}`);
    return 2;
  }
}

/**
 * `posepipe resume <job>…|--all-failed`: failed or cancelled → queued at the first unfinished stage
 * and chunk; a running `posepipe start` picks the job up within a second. `--all-failed` leaves out
 * a job that failed on its input while its file is what it was (it would only fail again).
 */
export async function resumeCommand(config: Config, opts: { all: boolean; jobIds: string[] }): Promise<number> {
  if (opts.all === (opts.jobIds.length > 0)) {
    console.error('posepipe: resume takes job ids or --all-failed (not both)');
    return 2;
  }
  if (!existsSync(join(config.home, 'posepipe.db'))) {
    console.error(`posepipe: no jobs yet in ${config.home}`);
    return 2;
  }
  const db = openDb(config.home);
  try {
    let ids: (number | undefined)[];
    if (opts.all) {
      ids = [];
      const failed = db.listJobs('failed').reverse();
      if (failed.length === 0) console.log('no failed jobs');
      for (const job of failed) {
        if (await sameBadInput(job)) console.log(`job ${job.id} (${terminalSafe(displayName(job.source_name))}) left failed: its file is unchanged since it failed on its input (\`posepipe resume ${job.id}\` tries anyway)`);
        else ids.push(job.id);
      }
    } else {
      ids = opts.jobIds.map((arg) => jobIdArg(db, arg));
    }
    let code = 0;
    for (const id of ids) {
      if (id === undefined) {
        code = 2;
        continue;
      }
      code = Math.max(
        code,
        attempt(() => {
          db.resumeJob(id);
          return `job ${id} queued again at stage ${db.getJob(id)!.stage ?? '-'}`;
        }),
      );
    }
    return code;
  } finally {
    db.close();
  }
}

/**
 * A job failed on its input (not over a limit a setting can raise) and its file is the same: gone
 * from the inbox (the staged copy is then what a resume reads), or the same size and hash.
 */
async function sameBadInput(job: JobRow): Promise<boolean> {
  if (job.error_kind !== 'input' || resumeHelps({ kind: job.error_kind, text: job.error_text ?? '' })) return false;
  const path = job.source_path_bytes ?? job.source_path; // the raw bytes of a name that is not UTF-8
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return true;
  }
  if (size !== job.source_bytes) return false;
  const hash = createHash('sha256');
  try {
    for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  } catch {
    return true;
  }
  return hash.digest('hex') === job.source_sha256;
}

/** `posepipe cancel <job>…`: a queued job is cancelled at once, a running one stops within a second. */
export function cancelCommand(config: Config, jobIds: string[]): number {
  if (jobIds.length === 0) {
    console.error('posepipe: cancel takes one or more jobs (ids or file names)');
    return 2;
  }
  return withDb(config, (db) => {
    let code = 0;
    for (const arg of jobIds) {
      const id = jobIdArg(db, arg);
      if (id === undefined) {
        code = 2;
        continue;
      }
      code = Math.max(
        code,
        attempt(() =>
          db.cancelJob(id) === 'cancelled'
            ? `job ${id} cancelled (posepipe resume ${id} continues it)`
            : `job ${id}: cancel requested; the running posepipe stops it within a second (or at its next start)`,
        ),
      );
    }
    return code;
  });
}

/** `posepipe retry <job> <chunk>`: one failed chunk again, with a fresh attempt budget; the chunk by the number `status` shows (from 1). */
export function retryCommand(config: Config, args: string[]): number {
  if (args.length !== 2) {
    console.error('posepipe: retry takes a job (id or file name) and a chunk number as `posepipe status <job>` shows it (from 1), e.g. posepipe retry 12 3');
    return 2;
  }
  return withDb(config, (db) => {
    const id = jobIdArg(db, args[0]!);
    if (id === undefined) return 2;
    const n = /^[1-9]\d{0,8}$/.test(args[1]!) ? Number(args[1]) : NaN;
    const idx = n - 1;
    if (Number.isNaN(n) || !db.getChunk(id, idx)) {
      const chunks = Object.values(db.countChunksByState(id)).reduce((a, b) => a + b, 0);
      const range = chunks === 0 ? 'no chunks yet' : chunks === 1 ? 'one chunk: 1' : `chunks 1 to ${chunks}`;
      console.error(`posepipe: job ${id} has no chunk ${JSON.stringify(args[1])} (it has ${range}; chunks are numbered from 1, as \`posepipe status ${id}\` shows them)`);
      return 2;
    }
    return attempt(() => {
      db.retryChunk(id, idx);
      return `job ${id} queued again: chunk ${chunkNumber(idx)} will be tracked again`;
    });
  });
}

/**
 * `posepipe priority <job> <n>|--front`: higher runs first (claimed first, its chunks given the next
 * free slot); 0 is every job's default, equal priorities keep queue order. `--front` sets one above
 * every unfinished job. A running `posepipe start` uses it from its next free slot.
 */
export function priorityCommand(config: Config, opts: { front: boolean; args: string[] }): number {
  if (opts.args.length !== (opts.front ? 1 : 2)) {
    console.error('posepipe: priority takes a job id and a number (higher runs first), or a job id and --front, e.g. posepipe priority 12 --front');
    return 2;
  }
  return withDb(config, (db) => {
    const id = jobIdArg(db, opts.args[0]!);
    if (id === undefined) return 2;
    const raw = opts.args[1];
    const priority = opts.front ? db.frontPriority() : /^-?\d{1,9}$/.test(raw!) ? Number(raw) : NaN;
    if (Number.isNaN(priority)) {
      console.error(`posepipe: a priority is a whole number (higher runs first), not ${JSON.stringify(raw)}`);
      return 2;
    }
    return attempt(() => {
      db.setPriority(id, priority);
      return `job ${id}: priority ${priority}`;
    });
  });
}

/** `posepipe pause` / `posepipe unpause`: whether queued jobs may start (idempotent). */
export function intakeCommand(config: Config, paused: boolean): number {
  // Pausing before the first job is allowed: the database is made if missing.
  const db = openDb(config.home);
  try {
    const was = db.intakePaused();
    db.setIntakePaused(paused);
    if (paused) console.log(was ? 'intake was already paused' : 'intake paused: the running job goes on, no queued job starts until `posepipe unpause`');
    else console.log(was ? 'intake unpaused: queued jobs start again' : 'intake was not paused');
    return 0;
  } finally {
    db.close();
  }
}
