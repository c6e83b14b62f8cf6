/**
 * RELIABILITY.md "Worker and GPU" and "kill -9 the worker": each failure is caused in the real
 * worker process (the test-fixture backend's knobs) and driven through the real CLI.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { readValidOutput } from '../helpers/output.ts';
import { waitFor, type Workspace, workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

interface ChunkRow {
  idx: number;
  state: string;
  attempts: number;
  first_frame: number;
  frame_count: number;
  splits: number;
  error_kind: string | null;
  error_text: string | null;
  exit_code: number | null;
  signal: string | null;
  stderr_tail: string | null;
}
function rows<T>(home: string, sql: string): T[] {
  const db = new Database(join(home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
const chunks = (home: string) => rows<ChunkRow>(home, 'SELECT * FROM chunks ORDER BY idx');
const job = (home: string) => rows<{ state: string; error_kind: string | null; error_text: string | null }>(home, 'SELECT * FROM jobs')[0]!;
const loads = (home: string) => rows<{ pid: number }>(home, 'SELECT pid FROM tracker_loads ORDER BY id');

/** The pid of the worker once chunk `idx` is running in it. */
function workerRunningChunk(ws: Workspace, idx: number): Promise<number> {
  return waitFor(`chunk ${idx} to be running`, () => {
    try {
      const c = chunks(ws.home).find((r) => r.idx === idx);
      return c?.state === 'running' ? loads(ws.home).at(-1)?.pid : undefined;
    } catch {
      return undefined; // the database is not there yet
    }
  }, 60_000, 20);
}

/** Gone, or a zombie (this container's PID 1 does not reap them). */
function isGone(pid: number): boolean {
  const r = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  return r.status !== 0 || r.stdout.trim().startsWith('Z');
}

const fixtureEnv = (ws: Workspace, extra: Record<string, string> = {}) => cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_OVERLAP_FRAMES: '5', ...extra });

describe('out of memory', () => {
  it('splits a chunk until it fits; the result equals a run with small chunks from the start', async () => {
    // Keyframes every 25 frames: both runs cut by stream copy, so both decode identical pixels.
    const video = fixture('keyframes-25.mp4');
    const split = workspace('oom-split');
    const r = await runCli(['run', video, '--chunk-seconds', '2'], fixtureEnv(split, { POSEPIPE_TEST_FIXTURE_OOM_ABOVE: '30' }));
    expect(r.code, r.stderr).toBe(0);
    const after = chunks(split.home);
    expect(after.map((c) => [c.first_frame, c.frame_count, c.splits])).toEqual([0, 25, 50, 75, 100, 125, 150, 175].map((f) => [f, 25, 1]));
    expect(after.every((c) => c.state === 'done')).toBe(true);
    // The first half of each split keeps the out-of-memory error as its history.
    expect(after.map((c) => c.error_kind)).toEqual(['oom', null, 'oom', null, 'oom', null, 'oom', null]);
    // The worker is restarted after every out-of-memory error.
    expect(loads(split.home).length).toBe(5);

    const small = workspace('oom-small');
    const s = await runCli(['run', video, '--chunk-seconds', '1'], fixtureEnv(small));
    expect(s.code, s.stderr).toBe(0);
    const a = readValidOutput(join(split.outbox, 'keyframes-25.json'));
    expect(a.frames.map((f) => f.index)).toEqual([...Array(200).keys()]);
    expect(readFileSync(join(split.outbox, 'keyframes-25.json'))).toEqual(readFileSync(join(small.outbox, 'keyframes-25.json')));
  });

  it('stops at the minimum size and fails with oom and advice', async () => {
    const ws = workspace('oom-always');
    const r = await runCli(['run', fixture('small.mp4'), '--chunk-seconds', '2'], fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_OOM_ABOVE: '0', POSEPIPE_MIN_CHUNK_FRAMES: '8' }));
    expect(r.code).toBe(1);
    expect(job(ws.home)).toMatchObject({ state: 'failed', error_kind: 'oom' });
    expect(job(ws.home).error_text).toMatch(/out of memory even with \d+ frames \(POSEPIPE_MIN_CHUNK_FRAMES\)/);
    const failed = chunks(ws.home).find((c) => c.state === 'failed')!;
    expect(failed.frame_count).toBeLessThan(16);
    expect(failed.frame_count).toBeGreaterThanOrEqual(8);
  });
});

describe('worker crashes, exits and stalls', () => {
  it('retries only the chunk whose worker was killed with SIGKILL, recording the signal and stderr', async () => {
    const ws = workspace('kill-worker');
    const app = spawnCli(['run', fixture('small.mp4'), '--chunk-seconds', '1'], fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.02', POSEPIPE_TEST_FIXTURE_PRINT: '1' }));
    const victim = await workerRunningChunk(ws, 2);
    process.kill(victim, 'SIGKILL');
    const r = await app.done;
    expect(r.code, r.stderr).toBe(0);
    const after = chunks(ws.home);
    expect(after.map((c) => c.attempts)).toEqual([1, 1, 2, 1, 1, 1]);
    expect(after[2]).toMatchObject({ state: 'done', error_kind: 'crash', signal: 'SIGKILL' });
    // What the worker printed before it died (its stdout chatter goes to stderr, never the protocol).
    expect(after[2]!.stderr_tail).toMatch(/test-fixture: frame \d+/);
    // And the whole of the worker's stderr is kept in the home folder's worker.log.
    expect(readFileSync(join(ws.home, 'worker.log'), 'utf8')).toMatch(/test-fixture: frame 29\b/);
  });

  it('kills a worker frozen with SIGSTOP at the heartbeat deadline and retries only its chunk', async () => {
    const ws = workspace('sigstop');
    const app = spawnCli(['run', fixture('small.mp4'), '--chunk-seconds', '1'], fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.02', POSEPIPE_HEARTBEAT_SECONDS: '2' }));
    const frozen = await workerRunningChunk(ws, 2);
    process.kill(frozen, 'SIGSTOP');
    const r = await app.done;
    expect(r.code, r.stderr).toBe(0);
    const after = chunks(ws.home);
    expect(after.map((c) => c.attempts)).toEqual([1, 1, 2, 1, 1, 1]);
    expect(after[2]).toMatchObject({ state: 'done', error_kind: 'stall' });
    // The frozen process was killed with its group, not left stopped.
    await waitFor(`stopped worker ${frozen} to be gone`, () => (isGone(frozen) ? true : undefined), 10_000);
  });

  it('fails a chunk that crashes the worker every time, with the reason in status; the next job completes', async () => {
    const ws = workspace('crash-always');
    const env = fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_CRASH_AT: '60', POSEPIPE_MAX_ATTEMPTS: '2' });
    const bad = await runCli(['run', fixture('small.mp4'), '--chunk-seconds', '3'], env);
    expect(bad.code).toBe(1);
    const st = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(st.jobs[0]).toMatchObject({ state: 'failed', error: { kind: 'crash' } });
    expect(st.jobs[0].chunkList[0].error).toMatchObject({ kind: 'crash', signal: 'SIGKILL' });
    const good = await runCli(['run', fixture('with-audio.mp4'), '--chunk-seconds', '3'], env);
    expect(good.code, good.stderr).toBe(0);
  });

  it('does not count a worker that exits 0 without a result as done', async () => {
    const ws = workspace('exit-zero');
    const r = await runCli(['run', fixture('small.mp4'), '--chunk-seconds', '2'], fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_EXIT_AT: '10', POSEPIPE_MAX_ATTEMPTS: '2' }));
    expect(r.code).toBe(1);
    const c = chunks(ws.home)[0]!;
    expect(c).toMatchObject({ state: 'failed', error_kind: 'crash', exit_code: 0, attempts: 2 });
  });

  it('fails an import error at once, saying to run posepipe doctor, without a retry loop', async () => {
    const ws = workspace('import-error');
    const r = await runCli(['run', fixture('small.mp4')], fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_IMPORT_ERROR: 'torch' }));
    expect(r.code).toBe(1);
    expect(job(ws.home).error_kind).toBe('environment');
    expect(job(ws.home).error_text).toContain('posepipe doctor');
    expect(r.stderr).toContain("No module named 'torch'");
  });

  it('kills a hung worker (no progress) and one stuck without advancing, then retries the chunk', async () => {
    // Both at once: each run mostly waits for its deadline.
    const stall = async ([knob, flag]: readonly [string, string]): Promise<void> => {
      const ws = workspace('stall');
      const r = await runCli(['run', fixture('small.mp4'), '--chunk-seconds', '2'], fixtureEnv(ws, { [knob]: '10', [flag]: '2', POSEPIPE_MAX_ATTEMPTS: '2' }));
      expect(r.code, knob).toBe(1);
      const c = chunks(ws.home)[0]!;
      expect(c, knob).toMatchObject({ state: 'failed', error_kind: 'stall', attempts: 2 });
      // Every worker that was started is gone: its whole group was killed.
      for (const { pid } of loads(ws.home)) expect(spawnSync('ps', ['-p', String(pid)]).status, `pid ${pid}`).not.toBe(0);
    };
    await Promise.all([
      stall(['POSEPIPE_TEST_FIXTURE_HANG_AT', 'POSEPIPE_HEARTBEAT_SECONDS']),
      stall(['POSEPIPE_TEST_FIXTURE_STUCK_AT', 'POSEPIPE_ADVANCE_SECONDS']),
    ]);
  });

  it('never kills a slow but healthy worker', async () => {
    const ws = workspace('slow');
    const r = await runCli(['run', fixture('with-audio.mp4'), '--chunk-seconds', '10'], fixtureEnv(ws, { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.1', POSEPIPE_HEARTBEAT_SECONDS: '1', POSEPIPE_ADVANCE_SECONDS: '1' }));
    expect(r.code, r.stderr).toBe(0);
    expect(chunks(ws.home)[0]).toMatchObject({ state: 'done', attempts: 1 });
  });
});
