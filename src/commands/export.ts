/**
 * `posepipe export <job> --format F [--track N …] [--out DIR]`: write one export of a finished
 * job's output (src/exports) into DIR (the outbox by default) atomically, and print its path (one
 * a track for smpl and bvh).
 * Exit 0 written; 2 for a job that names none, is not done, or whose backend does not give F.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { openDb } from '../db/index.ts';
import { ExportError, formatNamed, OutputReadError, writeExportFiles } from '../exports/index.ts';
import { displayName } from '../progress.ts';
import { jobView } from '../views.ts';
import { resolveJobArg } from './job-arg.ts';

/** What `posepipe export` was asked for. */
export interface ExportArgs {
  job: string;
  format: string;
  /** Track ids as given (whole numbers from 1), none for every track. */
  tracks: readonly string[];
  out?: string;
}

function fail(message: string): number {
  console.error(`posepipe: ${message}`);
  return 2;
}

/** `posepipe export`: 0 when the file is written (its path printed), 2 with the reason otherwise. */
export async function exportCommand(config: Config, args: ExportArgs): Promise<number> {
  try {
    formatNamed(args.format);
  } catch (error) {
    if (error instanceof ExportError) return fail(error.message);
    throw error;
  }
  const tracks: number[] = [];
  for (const t of args.tracks) {
    if (!/^[1-9][0-9]{0,8}$/.test(t)) return fail(`--track takes a track id (a whole number from 1), got ${JSON.stringify(t)}`);
    tracks.push(Number(t));
  }
  if (!existsSync(join(config.home, 'posepipe.db'))) return fail(`no jobs yet in ${config.home}`);
  const db = openDb(config.home);
  let outputFile: string;
  let outputName: string;
  let view: ReturnType<typeof jobView>;
  try {
    const found = resolveJobArg(db, args.job);
    if (found.error !== undefined) return fail(found.error);
    const job = db.getJob(found.id)!;
    view = jobView(db, config, job);
    if (job.state !== 'done' || !view.outputPath) return fail(`job ${job.id} (${displayName(job.source_name)}) is ${job.state}: only a done job's output can be exported`);
    outputFile = view.outputPath;
    outputName = job.output_name;
  } finally {
    db.close();
  }
  const outDir = resolve(args.out ?? config.outbox);
  try {
    mkdirSync(outDir, { recursive: true });
    const files = await writeExportFiles(outputFile, outputName, view.settings, args.format, tracks, outDir, { python: config.python });
    for (const file of files) console.log(file);
    return 0;
  } catch (error) {
    if (error instanceof ExportError || error instanceof OutputReadError) return fail(`job ${view.id}: ${error.message}`);
    throw error;
  }
}

