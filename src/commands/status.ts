import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { openDb } from '../db/index.ts';
import { failureAdvice } from '../errors.ts';
import { jobDir } from '../paths.ts';
import { displayName, terminalSafe } from '../progress.ts';
import { describeSettings } from '../work-settings.ts';
import { chunkLogFile } from '../stages/track.ts';
import { resolveJobArg } from './job-arg.ts';
import { jobSummaryView, jobView, workerViews, type JobSummaryView, type JobView, type WorkerView } from '../views.ts';
import { chunkNumber } from '../chunk-number.ts';

function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${Math.round(seconds % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** A job's state with, while queued, its phase and place: `queued (ready, #1)`. */
function stateText(j: Pick<JobSummaryView, 'state' | 'phase' | 'queuePosition'>): string {
  const notes = [j.phase, j.queuePosition !== null ? `#${j.queuePosition}` : null].filter((n) => n !== null);
  return notes.length ? `${j.state} (${notes.join(', ')})` : j.state;
}

function jobTable(jobs: JobSummaryView[]): string {
  const rows = [['JOB', 'STATE', 'STAGE', 'FRAMES', 'CHUNKS', 'TIME', 'BACKEND', 'FILE']];
  for (const j of jobs) {
    rows.push([
      String(j.id),
      stateText(j),
      j.phase === 'ready' ? 'waits for a slot' : (j.stage ?? '-'),
      j.frames === null ? '-' : `${j.framesDone}/${j.frames}`,
      j.chunks ? `${j.chunksDone}/${j.chunks}` : '-',
      duration(j.seconds),
      j.settings?.backend ?? '-',
      displayName(j.name) + (j.rerunOf !== null ? `  (tracked again from job ${j.rerunOf})` : '') + (j.copyOf !== null ? `  (same content as job ${j.copyOf})` : '') + (j.error ? `  ${j.error.kind}: ${j.error.text}` : ''),
    ]);
  }
  return table(rows);
}

function workerTable(workers: WorkerView[]): string {
  const rows = [['SLOT', 'HOST', 'HEALTH', 'DEVICE', 'TRACKING', 'FRAMES/S', 'ERROR']];
  for (const w of workers) {
    rows.push([w.name, w.host, w.health, w.device ?? '-', w.current ? `job ${w.current.jobId} chunk ${chunkNumber(w.current.chunk)}` : '-', w.framesPerSecond === null ? '-' : String(w.framesPerSecond), w.error?.split('\n')[0] ?? '']);
  }
  // A load error's backend stderr (its traceback) under the table, where its lines can be read.
  const tails = workers.filter((w) => w.error?.includes('\n')).map((w) => `\n${w.name} cannot load its backend:\n${w.error!.replace(/^/gm, '  ')}`);
  return table(rows) + tails.join('');
}

/** Where the output is, or will be: none for a job that cannot finish without a new file. */
function outputLine(j: JobView): string[] {
  if (j.outputPath === null) return ['  output: none (the file itself is the problem; see below)'];
  if (j.state === 'done') return [`  output: ${displayName(j.outputPath)}`];
  return [`  output, once done: ${displayName(j.outputPath)}`];
}

/** What a job being prepared is doing, in words (the first stage is called "stage"). */
const PREPARING: Record<string, string> = { stage: 'copying it in', probe: 'probing it', chunk: 'cutting it into chunks' };

/** After the state in `status <job>`: where a queued job is in the queue, or the stage of any other. */
function queueLine(j: JobView): string {
  const place = j.queuePosition !== null ? `, #${j.queuePosition} in queue` : '';
  if (j.phase === 'ready') return `, ready (copied, probed and chunked; it waits for a free tracker slot)${place}`;
  if (j.phase === 'preparing') return `, preparing ahead of a slot (${PREPARING[j.stage ?? ''] ?? j.stage})${place}`;
  return `${j.stage ? ` at ${j.stage}` : ''}${place}`;
}

function jobDetail(j: JobView, config: Config): string {
  const lines = [
    `job ${j.id}: ${displayName(j.name)} — ${j.state}${queueLine(j)}`,
    ...outputLine(j),
    `  backend: ${j.settings ? describeSettings(j.settings) : 'not recorded (the job was made before posepipe recorded its settings)'}`,
    ...(j.rerunOf !== null ? [`  tracked again from job ${j.rerunOf}, with the settings of its day`] : []),
    ...(j.copyOf !== null ? [`  same content as job ${j.copyOf}, with the same settings: written from its result, without tracking again`] : []),
    ...(j.error ? [`  error (${j.error.kind}): ${j.error.text}`, `  ${failureAdvice(j.error)}`] : []),
    '',
    table([['STAGE', 'STATE', 'ATTEMPTS', 'TIME', 'ERROR'], ...j.stages.map((s) => [s.name, s.state, String(s.attempts), duration(s.seconds), s.error ? `${s.error.kind}: ${s.error.text}` : ''])]),
  ];
  if (j.chunkList.length) {
    lines.push('');
    lines.push(
      table([
        ['CHUNK', 'STATE', 'ATTEMPTS', 'FRAMES', 'DONE', 'TRACKER', 'ERROR'],
        ...j.chunkList.map((c) => [
          String(chunkNumber(c.index)),
          c.state,
          String(c.attempts),
          `${c.firstFrame}-${c.firstFrame + c.frameCount - 1}`,
          `${c.framesDone}/${c.frameCount}`,
          duration(c.trackerSeconds),
          c.error ? `${c.error.kind}: ${c.error.text}${c.error.signal ? ` (${c.error.signal})` : c.error.exitCode !== null ? ` (exit ${c.error.exitCode})` : ''}` : c.earlierError ? `(an earlier attempt: ${c.earlierError.kind})` : '',
        ]),
      ]),
    );
    const failed = j.chunkList.find((c) => c.state === 'failed' && c.error?.stderrTail);
    if (failed) lines.push('', `stderr of chunk ${chunkNumber(failed.index)} (last lines; all of it: ${join(jobDir(config, j.id), chunkLogFile({ first_frame: failed.firstFrame, frame_count: failed.frameCount }))}):`, failed.error!.stderrTail!.replace(/^/gm, '  '));
  }
  return lines.join('\n');
}

/** `posepipe status [<job>] [--json]`: jobs, stages and chunks. Reads the database without locking it. */
export function statusCommand(config: Config, opts: { json: boolean; jobId?: string }): number {
  const file = join(config.home, 'posepipe.db');
  if (!existsSync(file)) {
    if (opts.json) console.log(JSON.stringify({ jobs: [], intakePaused: false, trackerLoads: 0, workers: [] }));
    else console.log(`no jobs yet (no database at ${file})`);
    return 0;
  }
  const db = openDb(config.home, { readonly: true });
  try {
    if (opts.jobId !== undefined) {
      const named = resolveJobArg(db, opts.jobId);
      if (named.error !== undefined) {
        console.error(`posepipe: ${named.error}`);
        return 2;
      }
      const view = jobView(db, config, db.getJob(named.id)!);
      console.log(opts.json ? JSON.stringify(view, null, 2) : terminalSafe(jobDetail(view, config)));
      return 0;
    }
    if (opts.json) {
      // Machines get every job whole (stages, chunks and their tracker seconds).
      const positions = db.queuePositions();
      const views = db.listJobs().map((j) => jobView(db, config, j, positions));
      console.log(JSON.stringify({ jobs: views, intakePaused: db.intakePaused(), trackerLoads: db.listTrackerLoads().length, workers: workerViews(db), redisDownSince: db.redisDownSince() ?? null, queuePausedSince: db.queuePausedSince() ?? null }, null, 2));
      return 0;
    }
    // The table needs only sums: one grouped query, however many chunk rows there are.
    const positions = db.queuePositions();
    const rows = db.listJobSummaries({ limit: -1, offset: 0 }).map((r) => jobSummaryView(r, positions));
    // Said first: a paused intake is why queued jobs do not move.
    if (db.intakePaused()) console.log('intake is paused: no queued job starts until `posepipe unpause` (running jobs go on)\n');
    console.log(rows.length ? `${terminalSafe(jobTable(rows))}\n\n\`posepipe status <job>\` shows a job's stages and chunks (<job>: its id or file name)` : 'no jobs yet');
    const workers = workerViews(db);
    if (workers.length) console.log(`\n${terminalSafe(workerTable(workers))}`);
    return 0;
  } finally {
    db.close();
  }
}
