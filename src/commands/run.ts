import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { NewJob } from '../db/index.ts';
import { failureAdvice, resumeHelps } from '../errors.ts';
import { createProgress, displayName, terminalSafe } from '../progress.ts';
import { hashFile } from '../stages/stage.ts';
import { settingsRecord, workSettings } from '../work-settings.ts';
import { openEngine } from './shared.ts';

/**
 * `posepipe run <video>`: one file through the same pipeline, in the foreground, with progress.
 * The same file again is the same job: done → prints where its JSON is; failed → resumed; made with
 * other settings → tracked again as a new job. The same content under another name is a copy,
 * written from the first job's result, when that job was made with the same settings.
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
  const engine = openEngine(config, { onEvent: progress, log: (line) => console.error(terminalSafe(line)) });
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    console.error('posepipe: stopping; run the same command again to resume');
    engine.pipeline.stop();
    for (const tracker of engine.trackers) void tracker.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
    if (outcome === 'stopped') return 1;
    if (outcome === 'cancelled') {
      console.error(`posepipe: job ${job.id} was cancelled; posepipe resume ${job.id} (or this command again) continues it`);
      return 1;
    }
    const failed = engine.db.getJob(job.id)!;
    const error = { kind: failed.error_kind ?? 'internal', text: failed.error_text ?? '' };
    // The page's advice, word for word; no resume where resuming would read the same bad bytes.
    console.error(`posepipe: job ${job.id} failed (${error.kind}): ${terminalSafe(error.text)}\n  ${failureAdvice(error)}\n  details: posepipe status ${job.id}${resumeHelps(error) ? `; to resume: posepipe resume ${job.id}` : ''}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await engine.close();
  }
}
