/**
 * `posepipe delete <job>… [--output]`: remove jobs, their rows and their files under home; their
 * output in the outbox stays unless --output is given. A queued or running job is refused (cancel it first).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { openDb } from '../db/index.ts';
import { deleteJobs } from '../job-admin.ts';
import { displayName } from '../progress.ts';
import { jobIdsArg } from './job-arg.ts';

/** `posepipe delete <job>… [--output]`: exit 0 when every job was deleted, 2 when one was refused (with the reason). */
export function deleteCommand(config: Config, opts: { args: readonly string[]; output: boolean }): number {
  if (!existsSync(join(config.home, 'posepipe.db'))) {
    console.error(`posepipe: no jobs yet in ${config.home}`);
    return 2;
  }
  const db = openDb(config.home);
  try {
    const ids = jobIdsArg(db, 'delete', opts.args);
    if (ids === undefined) return 2;
    const { deleted, refused } = deleteJobs(db, config, ids, { output: opts.output });
    for (const d of deleted) {
      const output = d.removedOutput !== null ? `; its output ${displayName(d.removedOutput)} removed` : opts.output ? '' : '; its output (if any) is kept in the outbox';
      console.log(`job ${d.id} deleted (${displayName(d.name)})${output}`);
    }
    for (const r of refused) console.error(`posepipe: not deleted: ${r.reason}`);
    return refused.length ? 2 : 0;
  } finally {
    db.close();
  }
}
