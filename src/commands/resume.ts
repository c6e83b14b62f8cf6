import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { openDb, StateConflictError } from '../db/index.ts';

/**
 * `posepipe resume <job>…|--all-failed`: failed or cancelled → queued at the first unfinished stage and chunk.
 * A running `posepipe start` picks the job up within a second. Exit 2 when a job is not failed.
 */
export function resumeCommand(config: Config, opts: { all: boolean; jobIds: string[] }): number {
  if (opts.all === (opts.jobIds.length > 0)) {
    console.error('posepipe: resume takes job ids or --all-failed (not both)');
    return 2;
  }
  if (!existsSync(join(config.home, 'posepipe.db'))) {
    console.error(`posepipe: no jobs yet in ${config.home}`);
    return 2;
  }
  const db = openDb(config.home);
  let code = 0;
  try {
    const ids = opts.all ? db.listJobs('failed').map((j) => j.id).reverse() : opts.jobIds.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
    if (opts.all && ids.length === 0) console.log('no failed jobs');
    for (const [i, id] of ids.entries()) {
      const job = Number.isNaN(id) ? undefined : db.getJob(id);
      if (!job) {
        console.error(`posepipe: no job ${JSON.stringify(opts.jobIds[i])}`);
        code = 2;
        continue;
      }
      try {
        db.resumeJob(id);
        console.log(`job ${id} queued again at stage ${db.getJob(id)!.stage ?? '-'}`);
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
        console.error(`posepipe: ${error.message}`);
        code = 2;
      }
    }
  } finally {
    db.close();
  }
  return code;
}
