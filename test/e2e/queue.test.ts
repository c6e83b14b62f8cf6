/**
 * A queue of videos through `posepipe start` (issue 11, part 2): the next jobs are copied, probed and
 * chunked while the slots track (prepareAhead), the slots take the next job's chunks while the last
 * ones of a job finish, jobs still finish in queue order, and the bytes are those of one slot with
 * nothing ahead. A per-job priority (CLI) puts one video at the front.
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

/** Three different videos, in the order they are dropped (job ids 1, 2, 3). */
const VIDEOS = ['small.mp4', 'with-audio.mp4', 'vfr.mp4'];

interface StageTimes { job_id: number; name: string; started_ms: number; finished_ms: number }
interface Attempt { job_id: number; ran_on: string; started_ms: number; finished_ms: number; outcome: string }
interface JobTimes { id: number; source_name: string; started_ms: number; finished_ms: number; priority: number }

function read(ws: Workspace) {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    const stages = db.prepare('SELECT job_id, name, started_ms, finished_ms FROM stages').all() as StageTimes[];
    return {
      stage: (job: number, name: string) => stages.find((s) => s.job_id === job && s.name === name)!,
      attempts: db.prepare('SELECT job_id, ran_on, started_ms, finished_ms, outcome FROM chunk_attempts ORDER BY id').all() as Attempt[],
      jobs: db.prepare('SELECT id, source_name, started_ms, finished_ms, priority FROM jobs ORDER BY id').all() as JobTimes[],
    };
  } finally {
    db.close();
  }
}

/**
 * Drop the videos one by one with intake paused (so job ids follow the drop order), run `between`,
 * unpause, and wait for every JSON. Returns the outbox files' bytes by name.
 */
async function runQueue(ws: Workspace, extra: Record<string, string>, between: (env: NodeJS.ProcessEnv) => Promise<void> = async () => {}) {
  const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.03', ...extra });
  expect((await runCli(['pause'], env)).code).toBe(0);
  const app = spawnCli(['start'], env);
  try {
    await waitFor('the watcher to start', () => (app.output().includes('watching') ? true : undefined), 30_000);
    for (const [i, name] of VIDEOS.entries()) {
      copyFileSync(fixture(name), join(ws.inbox, name));
      await waitFor(`job ${i + 1} to be queued`, async () => {
        const r = await runCli(['status', '--json'], env);
        return (JSON.parse(r.stdout) as { jobs: unknown[] }).jobs.length === i + 1 ? true : undefined;
      }, 30_000, 200);
    }
    await between(env);
    expect((await runCli(['unpause'], env)).code).toBe(0);
    const outputs = VIDEOS.map((v) => v.replace(/\.[^.]+$/, '.json'));
    await waitFor('every JSON in the outbox', () => (outputs.every((o) => readdirSync(ws.outbox).includes(o)) ? true : undefined), 180_000, 200);
  } finally {
    app.child.kill('SIGTERM');
  }
  const end = await app.done;
  expect(end.code, end.stderr).toBe(0);
  return new Map(readdirSync(ws.outbox).map((f) => [f, readFileSync(join(ws.outbox, f))]));
}

describe('a queue of videos (posepipe start)', () => {
  it('runs a job pushed to the front first; with nothing ahead a job starts once the one before is tracked; 2 slots and 2 jobs ahead give the same bytes, preparing the next jobs and starting their chunks while a job finishes', async () => {
    // One slot, nothing ahead, and job 3 pushed to the front, job 1 to the back (posepipe priority).
    const serial = workspace('queue-serial');
    const one = await runQueue(serial, { POSEPIPE_WORKERS: '1', POSEPIPE_PREPARE_AHEAD: '0' }, async (env) => {
      const bad = await runCli(['priority', '2', 'soon'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('a priority is a whole number');
      expect((await runCli(['priority', '9'], env)).code).toBe(2);
      const low = await runCli(['priority', '1', '-1'], env);
      expect(low.stdout.trim(), low.stderr).toBe('job 1: priority -1');
      const front = await runCli(['priority', '3', '--front'], env);
      expect(front.stdout.trim(), front.stderr).toBe('job 3: priority 1');
      const st = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { jobs: { id: number; priority: number }[] };
      expect(Object.fromEntries(st.jobs.map((j) => [j.id, j.priority]))).toEqual({ 1: -1, 2: 0, 3: 1 });
    });
    const s = read(serial);
    const order = (key: 'started_ms' | 'finished_ms') => [...s.jobs].sort((x, y) => x[key] - y[key]).map((j) => j.id);
    expect(order('started_ms')).toEqual([3, 2, 1]);
    expect(order('finished_ms')).toEqual([3, 2, 1]);
    // Nothing ahead: a job is staged only once the one before it (in priority order) has been tracked.
    expect(s.stage(2, 'stage').started_ms).toBeGreaterThanOrEqual(s.stage(3, 'track').finished_ms);
    expect(s.stage(1, 'stage').started_ms).toBeGreaterThanOrEqual(s.stage(2, 'track').finished_ms);
    expect(new Set(s.attempts.map((a) => a.ran_on))).toEqual(new Set(['slot 1']));
    // A finished job's priority cannot change.
    const done = await runCli(['priority', '1', '5'], cliEnv(serial));
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/job 1/);

    // Two slots, two jobs prepared ahead, queue order.
    const ahead = workspace('queue-ahead');
    const two = await runQueue(ahead, { POSEPIPE_WORKERS: '2', POSEPIPE_PREPARE_AHEAD: '2' });
    expect([...two.keys()].sort()).toEqual([...one.keys()].sort());
    for (const [name, bytes] of one) expect(two.get(name)!.equals(bytes), name).toBe(true);
    const a = read(ahead);
    for (const job of [2, 3]) {
      // Prepared ahead: chunked before the job before it was tracked.
      expect(a.stage(job, 'chunk').finished_ms).toBeLessThan(a.stage(job - 1, 'track').finished_ms);
      // Its first chunk started while the last ones of the job before were still running.
      const first = Math.min(...a.attempts.filter((t) => t.job_id === job).map((t) => t.started_ms));
      expect(first).toBeLessThan(a.stage(job - 1, 'track').finished_ms);
    }
    // Jobs finish in queue order, and every attempt ran once, on one of the two slots.
    const finished = a.jobs.map((j) => j.finished_ms);
    expect([...finished].sort((x, y) => x - y)).toEqual(finished);
    expect(a.attempts.every((t) => t.outcome === 'done')).toBe(true);
    expect(new Set(a.attempts.map((t) => t.ran_on))).toEqual(new Set(['slot 1', 'slot 2']));
  }, 300_000);
});
