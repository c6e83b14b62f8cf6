/**
 * A queue of videos through `posepipe start` (issue 11): the next jobs are copied, probed and
 * chunked while the slots track (prepareAhead), the slots take the next job's chunks while the last
 * ones of a job finish, jobs still finish in queue order, and a per-job priority (CLI) puts one
 * video at the front. The same queue gives the same bytes with 1 slot and nothing ahead, with 3 local
 * slots, and with 2 remote `posepipe worker`s (over a real redis-server) plus 1 local slot.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
type App = ReturnType<typeof spawnCli>;
const workers: App[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.done;
  }
});
/** The queue's JSON tracked by one slot with nothing ahead (the first test), by outbox name. */
let reference: Map<string, Buffer> | undefined;
const SETTINGS = { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.03' };

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
      loads: db.prepare('SELECT pid FROM tracker_loads').all() as { pid: number }[],
    };
  } finally {
    db.close();
  }
}

/**
 * Drop the videos one by one with intake paused (so job ids follow the drop order), run `between`,
 * unpause, wait for every JSON and run `done` before posepipe stops. Returns the outbox files' bytes by name.
 */
async function runQueue(
  ws: Workspace,
  extra: Record<string, string>,
  hooks: { between?: (env: NodeJS.ProcessEnv, app: App) => Promise<void>; done?: (env: NodeJS.ProcessEnv) => Promise<void> } = {},
) {
  const env = cliEnv(ws, { ...SETTINGS, ...extra });
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
    await hooks.between?.(env, app);
    expect((await runCli(['unpause'], env)).code).toBe(0);
    const outputs = VIDEOS.map((v) => v.replace(/\.[^.]+$/, '.json'));
    await waitFor('every JSON in the outbox', () => (outputs.every((o) => readdirSync(ws.outbox).includes(o)) ? true : undefined), 180_000, 200);
    await hooks.done?.(env);
  } finally {
    app.child.kill('SIGTERM');
  }
  const end = await app.done;
  expect(end.code, end.stderr).toBe(0);
  return new Map(readdirSync(ws.outbox).map((f) => [f, readFileSync(join(ws.outbox, f))]));
}

describe('a queue of videos (posepipe start)', () => {
  it('runs a job pushed to the front first; with nothing ahead a job starts once the one before is tracked; 3 slots and 2 jobs ahead give the same bytes, preparing the next jobs and starting their chunks while a job finishes', async () => {
    // One slot, nothing ahead, and job 3 pushed to the front, job 1 to the back (posepipe priority).
    const serial = workspace('queue-serial');
    const one = await runQueue(serial, { POSEPIPE_WORKERS: '1', POSEPIPE_PREPARE_AHEAD: '0' }, { between: async (env) => {
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
    } });
    reference = one;
    // Each frame's time is the source's (vfr.mp4 drops frames here and there), not index / fps.
    const probed = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'V:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', fixture('vfr.mp4')], { encoding: 'utf8' });
    const shown = probed.stdout.split('\n').map((l) => l.split(',')[0]!.trim()).filter((f) => f !== '').map(Number);
    const vfr = JSON.parse(one.get('vfr.json')!.toString()) as { source: { fps: number }; frames: { index: number; time: number; sourceTime: number }[] };
    expect(vfr.frames).toHaveLength(shown.length);
    for (const f of vfr.frames) {
      expect(Math.abs(f.time - (shown[f.index]! - shown[0]!)), `frame ${f.index}`).toBeLessThan(0.001);
      expect(Math.abs(f.sourceTime - shown[f.index]!)).toBeLessThan(0.001);
    }
    expect(vfr.frames.some((f) => Math.abs(f.time - f.index / vfr.source.fps) > 0.01)).toBe(true);
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

    // Three slots, two jobs prepared ahead, queue order.
    const ahead = workspace('queue-ahead');
    // Slower frames than the serial run's: the next jobs' copy, probe and cut (ffmpeg, on the same two
    // cores as three trackers) must fit inside the tracking of the job before for "ahead" to be seen.
    const three = await runQueue(ahead, { POSEPIPE_WORKERS: '3', POSEPIPE_PREPARE_AHEAD: '2', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.08' });
    expect([...three.keys()].sort()).toEqual([...one.keys()].sort());
    for (const [name, bytes] of one) expect(three.get(name)!.equals(bytes), name).toBe(true);
    const a = read(ahead);
    for (const job of [2, 3]) {
      // Prepared ahead: chunked before the job before it was tracked.
      expect(a.stage(job, 'chunk').finished_ms).toBeLessThan(a.stage(job - 1, 'track').finished_ms);
      // Its first chunk started while the last ones of the job before were still running.
      const first = Math.min(...a.attempts.filter((t) => t.job_id === job).map((t) => t.started_ms));
      expect(first).toBeLessThan(a.stage(job - 1, 'track').finished_ms);
    }
    // Jobs finish in queue order, and every attempt ran once, on one of the three slots.
    const finished = a.jobs.map((j) => j.finished_ms);
    expect([...finished].sort((x, y) => x - y)).toEqual(finished);
    expect(a.attempts.every((t) => t.outcome === 'done')).toBe(true);
    expect(new Set(a.attempts.map((t) => t.ran_on))).toEqual(new Set(['slot 1', 'slot 2', 'slot 3']));
    // Each slot is its own worker, loaded once; the chunks of one job ran side by side.
    expect(new Set(a.loads.map((l) => l.pid)).size).toBe(3);
    const mostAtOnce = (list: Attempt[]) => Math.max(...list.map((x) => list.filter((y) => y.started_ms < x.finished_ms && x.started_ms < y.finished_ms).length));
    expect(mostAtOnce(a.attempts.filter((t) => t.job_id === 1))).toBeGreaterThanOrEqual(2);
    expect(mostAtOnce(s.attempts)).toBe(1);
  }, 300_000);

  it('2 remote posepipe workers and 1 local slot give the bytes of 1 slot; every chunk is done once; status shows the workers (an unhealthy remote slot with its error) and where each chunk ran', async () => {
    expect(reference, 'the first test makes the reference bytes').toBeDefined();
    const ws = workspace('queue-remote');
    const redis = await redisFor(ws.root);
    const token = 'queue-test-token-0123456789';
    const remote = { POSEPIPE_WORKER_TOKEN: token, POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: SETTINGS.POSEPIPE_TEST_FIXTURE_FRAME_SECONDS, POSEPIPE_TRACKER: 'test-fixture' };
    let seen: { name: string; health: string; error: string | null; lastSeenMs: number }[] = [];
    const out = await runQueue(ws, { POSEPIPE_WORKERS: '1', POSEPIPE_PREPARE_AHEAD: '2', POSEPIPE_REDIS_URL: redis.url, POSEPIPE_WORKER_TOKEN: token }, {
      between: async (env, app) => {
        const url = await waitFor('the coordinator to listen', () => /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())?.[1], 30_000);
        // The second worker has two slots; the second cannot load its backend (it says so, and takes no chunk).
        const extra: Record<string, string>[] = [{ POSEPIPE_WORKERS: '1' }, { POSEPIPE_WORKERS: 'cpu,cuda:1', POSEPIPE_TEST_FIXTURE_FAIL_LOAD_ON: 'cuda:1' }];
        for (const [i, more] of extra.entries()) {
          const w = spawnCli(['worker', '--coordinator', url, '--redis', redis.url], cliEnv(workspace(`queue-worker-${i + 1}`), { ...remote, ...more }));
          workers.push(w);
          await waitFor(`worker ${i + 1} to take chunks`, () => (w.output().includes('taking chunks') ? true : undefined), 30_000);
        }
        // Each worker says hello: its slots are on the status before any chunk.
        await waitFor('the workers\' hello', async () => {
          const st = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { workers: { name: string }[] };
          return st.workers.filter((w) => w.name.startsWith('worker ')).length === 3 ? true : undefined;
        }, 30_000, 200);
      },
      done: async (env) => {
        const st = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { workers: typeof seen; jobs: { chunkList: { ranOn: string | null }[] }[] };
        seen = st.workers;
        // Each chunk says where it ran.
        expect(st.jobs.flatMap((j) => j.chunkList).every((c) => typeof c.ranOn === 'string' && c.ranOn !== '')).toBe(true);
      },
    });
    expect([...out.keys()].sort()).toEqual([...reference!.keys()].sort());
    for (const [name, bytes] of reference!) expect(out.get(name)!.equals(bytes), name).toBe(true);
    const { attempts } = read(ws);
    expect(attempts.every((t) => t.outcome === 'done')).toBe(true);
    const where = new Set(attempts.map((t) => t.ran_on.replace(/:\d+#/, ':PID#')));
    const host = [...where].find((w) => w.startsWith('worker '))?.split(':')[0];
    // Both remote workers and the local slot tracked chunks; the unhealthy slot none.
    expect(where).toEqual(new Set(['slot 1', `${host}:PID#1`]));
    expect(new Set(attempts.filter((t) => t.ran_on.startsWith('worker ')).map((t) => t.ran_on)).size).toBe(2);
    const remoteRows = seen.filter((w) => w.name.startsWith('worker '));
    expect(remoteRows.map((w) => w.health).sort()).toEqual(['ready', 'ready', 'unhealthy']);
    expect(remoteRows.find((w) => w.health === 'unhealthy')!.error).toMatch(/no backend on cuda:1/);
    expect(remoteRows.every((w) => w.lastSeenMs > 0)).toBe(true);
  }, 300_000);
});
