import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOB_STATES } from '../../src/db/index.ts';
import { FAILURE_KINDS } from '../../src/errors.ts';
import { startHarness, type Harness } from './harness.ts';
import { chunkDone, chunkedJob, chunkFailed, doneJob, failAtTrack, failedJob, queuedJob } from './seed.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.stop());

interface Family {
  type: string;
  help: string;
  samples: Map<string, number>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? ([-+]?(?:[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$`);

/** Parse the text exposition format strictly: every line is HELP, TYPE or a sample of the family just declared. */
function parse(text: string): Map<string, Family> {
  expect(text.endsWith('\n')).toBe(true);
  const families = new Map<string, Family>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help) {
      expect(families.has(help[1]!), `${help[1]} declared twice`).toBe(false);
      families.set(help[1]!, { type: '', help: help[2]!, samples: new Map() });
      current = help[1];
    } else if (type) {
      expect(type[1], line).toBe(current);
      expect(families.get(current!)!.type, `${line}: TYPE after samples or twice`).toBe('');
      families.get(current!)!.type = type[2]!;
    } else {
      const m = SAMPLE.exec(line);
      expect(m, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
      expect(m![1], `${line} outside its family`).toBe(current);
      const f = families.get(current!)!;
      expect(f.type, `${line} before its TYPE`).not.toBe('');
      expect(f.samples.has(m![2] ?? ''), `${line} repeated`).toBe(false);
      f.samples.set(m![2] ?? '', Number(m![3]));
    }
  }
  return families;
}

const value = (families: Map<string, Family>, name: string, labels = '') => families.get(name)?.samples.get(labels);

describe('/metrics', () => {
  it('is valid exposition text with every series present, zeros included', async () => {
    const r = await h.send('/metrics');
    expect([r.status, r.headers['content-type']]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    const families = parse(r.body);
    expect(Object.fromEntries([...families].map(([n, f]) => [n, f.type]))).toEqual({
      posepipe_jobs: 'gauge',
      posepipe_queue_depth: 'gauge',
      posepipe_chunks_pending: 'gauge',
      posepipe_intake_paused: 'gauge',
      posepipe_redis_down: 'gauge',
      posepipe_remote_queue_paused: 'gauge',
      posepipe_live_clients: 'gauge',
      posepipe_chunks_processed_total: 'counter',
      posepipe_tracker_seconds_total: 'counter',
      posepipe_jobs_done_total: 'counter',
      posepipe_chunk_failures_total: 'counter',
      posepipe_job_failures_total: 'counter',
      posepipe_sqlite_rows_written_total: 'counter',
    });
    for (const s of JOB_STATES) expect(value(families, 'posepipe_jobs', `{state="${s}"}`), s).toBe(0);
    for (const k of FAILURE_KINDS) {
      expect(value(families, 'posepipe_chunk_failures_total', `{kind="${k}"}`), k).toBe(0);
      expect(value(families, 'posepipe_job_failures_total', `{kind="${k}"}`), k).toBe(0);
    }
    for (const n of ['posepipe_queue_depth', 'posepipe_chunks_pending', 'posepipe_intake_paused', 'posepipe_redis_down', 'posepipe_remote_queue_paused', 'posepipe_chunks_processed_total', 'posepipe_tracker_seconds_total', 'posepipe_jobs_done_total']) {
      expect(value(families, n), n).toBe(0);
    }
  });

  it('counts what the pipeline recorded', async () => {
    queuedJob(h.db);
    queuedJob(h.db);
    failedJob(h.db, 'bad.mp4', { kind: 'input', text: 'not a video' });
    const running = chunkedJob(h.db, { chunks: 4 });
    chunkDone(h.db, running, 0, 1500);
    chunkDone(h.db, running, 1, 250);
    const broken = chunkedJob(h.db, { chunks: 2 });
    h.db.startChunk(broken, 0);
    h.db.failChunk(broken, 0, { kind: 'stall', text: 'silent' }, true);
    chunkFailed(h.db, broken, 0, { kind: 'oom', text: 'out of memory' });
    failAtTrack(h.db, broken, { kind: 'oom', text: 'out of memory' });
    doneJob(h.db, h.config, { chunks: 2 });
    h.db.setIntakePaused(true);
    // Every row written above was written through this connection.
    const written = (await h.send('/metrics')).body.match(/^posepipe_sqlite_rows_written_total (\d+)$/m);
    expect(Number(written?.[1])).toBeGreaterThan(20);

    const families = parse((await h.send('/metrics')).body);
    expect(Object.fromEntries(JOB_STATES.map((s) => [s, value(families, 'posepipe_jobs', `{state="${s}"}`)]))).toEqual({ queued: 2, running: 1, done: 1, failed: 2, cancelled: 0 });
    expect(value(families, 'posepipe_queue_depth')).toBe(2);
    // The running job's two chunks not done (the queued jobs have none yet).
    expect(value(families, 'posepipe_chunks_pending')).toBe(2);
    expect(value(families, 'posepipe_intake_paused')).toBe(1);
    // 2 chunks of the running job, 2 of the done one (1.5 s each by default in the seed).
    expect(value(families, 'posepipe_chunks_processed_total')).toBe(4);
    expect(value(families, 'posepipe_tracker_seconds_total')).toBeCloseTo(1.5 + 0.25 + 1.5 + 1.5, 6);
    expect(value(families, 'posepipe_jobs_done_total')).toBe(1);
    expect(value(families, 'posepipe_chunk_failures_total', '{kind="stall"}')).toBe(1);
    expect(value(families, 'posepipe_chunk_failures_total', '{kind="oom"}')).toBe(1);
    expect(value(families, 'posepipe_job_failures_total', '{kind="oom"}')).toBe(1);
    expect(value(families, 'posepipe_job_failures_total', '{kind="input"}')).toBe(1);
    expect(value(families, 'posepipe_job_failures_total', '{kind="crash"}')).toBe(0);
  });
});
