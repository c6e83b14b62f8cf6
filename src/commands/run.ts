import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { Db, NewJob } from '../db/index.ts';
import { failureAdvice, resumeHelps } from '../errors.ts';
import { createProgress, displayName, terminalSafe } from '../progress.ts';
import { hashFile } from '../stages/stage.ts';
import { settingsRecord, workSettings } from '../work-settings.ts';
import { onOutputClosed } from './closed-output.ts';
import { forceStop, openEngine, type Engine } from './shared.ts';

/**
 * `posepipe run <video>`: one file through the same pipeline, in the foreground, with progress.
 * The same file again is the same job: done → prints where its JSON is; failed → resumed; made with
 * other settings → tracked again as a new job. The same content under another name is a copy,
 * written from the first job's result, when that job was made with the same settings. Ctrl-C stops
 * tracking at once and exits 130 (the same command again resumes); a second Ctrl-C does not wait
 * for the shutdown.
 */
export async function runCommand(config: Config, video: string): Promise<number> {
  const path = resolve(video);
  let bytes: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    bytes = st.size;
  } catch (error) {
    console.error(`posepipe: cannot read ${displayName(video)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    return 2;
  }
  const progress = createProgress(process.stderr, Boolean(process.stderr.isTTY));
  // A job's failure is told once, by the message below with its advice, not by the progress lines too.
  const onEvent: typeof progress = (event) => {
    if (event.type !== 'job' || event.state !== 'failed') progress(event);
  };
  let engine: Engine | undefined;
  let interrupted = false;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.error('posepipe: stopping; run the same command again to resume');
    engine?.pipeline.stop();
    for (const tracker of engine?.trackers ?? []) void tracker.stop();
  };
  const onInt = () => {
    if (interrupted) forceStop(engine);
    interrupted = true;
    stop();
  };
  engine = openEngine(config, { onEvent, log: (line) => console.error(terminalSafe(line)) });
  process.on('SIGINT', onInt);
  process.once('SIGTERM', stop);
  const unwatchOutput = onOutputClosed(stop);
  try {
    const settings = settingsRecord(workSettings(config));
    const made: NewJob = { sourceName: basename(path), sourcePath: path, sha256: await hashFile(path), bytes, format: config.outputFormat, settings };
    const outboxHas = (n: string) => existsSync(join(config.outbox, n));
    let { job } = engine.db.createJob(made, outboxHas);
    if (job.settings_key !== null && job.settings_key !== settings.key) {
      // Asked for in the foreground with other settings: tracked again, the earlier job kept.
      const earlier = job.id;
      job = engine.db.createJob({ ...made, rerunOf: earlier }, outboxHas).job;
      console.error(`posepipe: job ${earlier} tracked this file with other settings; tracking it again as job ${job.id}`);
    }
    const outputPath = join(config.outbox, job.output_name);
    if (job.state === 'done') {
      engine.db.reopenIfOutputMissing(job.id, outputPath);
      if (engine.db.getJob(job.id)!.state === 'done') {
        console.log(`job ${job.id} was already done: ${outputPath}`);
        return 0;
      }
    }
    if (job.state === 'failed' || job.state === 'cancelled') engine.db.resumeJob(job.id);
    // A copy (the same content under another name) is written from its original's result: that one first.
    const original = job.copy_of === null ? undefined : engine.db.getJob(job.copy_of);
    if (original && original.state !== 'done') {
      console.error(`posepipe: ${displayName(basename(path))} has the same content as job ${original.id}: running that one first`);
      if (original.state === 'failed' || original.state === 'cancelled') engine.db.resumeJob(original.id);
      const first = await engine.pipeline.runJob(original.id);
      if (first === 'stopped') return interrupted ? 130 : 1;
      if (first === 'failed') {
        failedMessage(engine.db, original.id);
        return 1;
      }
      if (first !== 'done') {
        console.error(`posepipe: job ${original.id} (the same content) did not finish (${first}); posepipe status ${original.id}`);
        return 1;
      }
    }
    const outcome = await engine.pipeline.runJob(job.id);
    if (outcome === 'done') {
      console.log(outputPath);
      return 0;
    }
    if (outcome === 'stopped') return interrupted ? 130 : 1;
    if (outcome === 'cancelled') {
      console.error(`posepipe: job ${job.id} was cancelled; posepipe resume ${job.id} (or this command again) continues it`);
      return 1;
    }
    failedMessage(engine.db, job.id);
    return 1;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', stop);
    unwatchOutput();
    await engine.close();
  }
}

/** The one message of a failed job: its cause, the page's advice word for word, where to look, and resume only where it can help. */
function failedMessage(db: Db, id: number): void {
  const failed = db.getJob(id)!;
  const error = { kind: failed.error_kind ?? 'internal', text: failed.error_text ?? '' };
  console.error(`posepipe: job ${id} failed (${error.kind}): ${terminalSafe(error.text)}\n  ${failureAdvice(error)}\n  details: posepipe status ${id}${resumeHelps(error) ? `; to resume: posepipe resume ${id}` : ''}`);
}
