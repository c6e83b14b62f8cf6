/**
 * `posepipe rerun <job>…`: track a job's video again with today's settings, as a new job (the old
 * one and its output are kept). A running `posepipe start` picks the new job up within a second.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { openDb } from '../db/index.ts';
import { ActionRefusedError, rerunJob } from '../job-admin.ts';
import { displayName } from '../progress.ts';
import { describeSettings, workSettings } from '../work-settings.ts';
import { jobIdsArg } from './job-arg.ts';

/** `posepipe rerun <job>…`: exit 0 when every job was queued again, 2 when one was refused (with the reason). */
export function rerunCommand(config: Config, args: readonly string[]): number {
  if (!existsSync(join(config.home, 'posepipe.db'))) {
    console.error(`posepipe: no jobs yet in ${config.home}`);
    return 2;
  }
  const db = openDb(config.home);
  try {
    const ids = jobIdsArg(db, 'rerun', args);
    if (ids === undefined) return 2;
    let code = 0;
    for (const id of ids) {
      try {
        const job = rerunJob(db, config, id);
        console.log(`job ${job.id}: ${displayName(job.source_name)} queued to be tracked again (${describeSettings(workSettings(config))}); job ${id} is kept`);
      } catch (error) {
        if (!(error instanceof ActionRefusedError)) throw error;
        console.error(`posepipe: ${error.message}`);
        code = 2;
      }
    }
    return code;
  } finally {
    db.close();
  }
}
