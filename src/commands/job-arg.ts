/**
 * A job named on the command line: by its id, or by its file (the name it was dropped as, a path to
 * it, or the name of its output), as people remember a video by its name rather than a number.
 */
import { basename, resolve } from 'node:path';
import type { Db, JobRow } from '../db/index.ts';
import { displayName } from '../progress.ts';

/** The job an argument names, or why none (a message that stands alone, naming the argument). */
export type JobArg = { id: number; error?: undefined } | { id?: undefined; error: string };

/** Resolve `arg` (an id, or a file name that names exactly one job) against the database. */
export function resolveJobArg(db: Db, arg: string): JobArg {
  if (/^\d{1,15}$/.test(arg) && db.getJob(Number(arg))) return { id: Number(arg) };
  const path = resolve(arg);
  const name = basename(arg);
  // A full path says which of several same-named files is meant; the bare name matches them all.
  const jobs = db.listJobs();
  const byPath = jobs.filter((j) => j.source_path === path);
  const matches = byPath.length ? byPath : jobs.filter((j) => j.source_name === arg || j.source_name === name || j.output_name === arg);
  if (matches.length === 1) return { id: matches[0]!.id };
  const shown = displayName(arg);
  if (matches.length === 0) return { error: `no job ${/^\d+$/.test(arg) ? arg : shown}: give a job's id or its file name (posepipe status lists them)` };
  return { error: `${shown} names ${matches.length} jobs: ${listed(matches)}; give one of these ids` };
}

function listed(jobs: JobRow[]): string {
  return [...jobs]
    .sort((a, b) => a.id - b.id)
    .map((j) => `${j.id} (${j.state}${j.source_path ? `, ${displayName(j.source_path)}` : ''})`)
    .join(', ');
}

/** The jobs named on the command line (ids or file names); undefined (after saying which) when one names none or several. */
export function jobIdsArg(db: Db, command: string, args: readonly string[]): number[] | undefined {
  if (args.length === 0) {
    console.error(`posepipe: ${command} takes one or more jobs (an id or a file name), e.g. posepipe ${command} 12`);
    return undefined;
  }
  const ids: number[] = [];
  for (const arg of args) {
    const job = resolveJobArg(db, arg);
    if (job.error !== undefined) {
      console.error(`posepipe: ${job.error}`);
      return undefined;
    }
    ids.push(job.id);
  }
  return ids;
}
