/**
 * Tracker slots benchmark (issue 11). A queue of 5 videos of real footage (the street fixture looped
 * to 5 lengths) through the real `posepipe start` with 1, 2 and 4 slots; the test-fixture backend's
 * slow mode stands in for a GPU (it sleeps per frame, so the CPU stays free for ffmpeg, decoding,
 * merge and emit, which run beside the slots). Prints, from what the database recorded:
 *   - frames/s over the queue (first job started → last JSON written, the issue's "drop to the last
 *     JSON": the last job's preview video, made after its JSON, is not waited for) and the speed-up
 *     over 1 slot;
 *   - each slot's busy fraction while the queue is tracked (its attempts' time / first attempt's
 *     start → last attempt's end: the first job's copy and the last job's merge are outside it);
 *   - the idle gap on a slot between a chunk of one job and the next chunk, of another job (p50/p95).
 * Then the same queue through 2 remote `posepipe worker`s (a coordinator without local slots, a real
 * redis-server) against 2 local slots, and the coordinator load test (bench/coordinator-load.ts).
 * Usage: npm run bench:scale [-- --seconds 6,8,10,12,14 --chunk-seconds 2 --frame-ms 20 --slots 1,2,4 --prepare-ahead 2 --remote 2 --keep --no-load]
 * (--keep leaves each run's folder, with its posepipe.db, and prints where; --no-load skips the load test.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { freePort, percentile, startRedis } from './lib.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const lengths = arg('seconds', '6,8,10,12,14').split(',').map(Number);
const chunkSeconds = Number(arg('chunk-seconds', '2'));
const frameMs = Number(arg('frame-ms', '20'));
const slotCounts = arg('slots', '1,2,4').split(',').map(Number);
const prepareAhead = arg('prepare-ahead', '2');
const remoteWorkers = Number(arg('remote', '2'));
/** Keyframe interval in seconds: cameras write one every second or two, so chunks are cut by stream copy; a long one (5) makes the chunk step re-encode. */
const keyframeSeconds = Number(arg('keyframe-seconds', '1'));

const street = resolve('../shared/fixtures/street-people.avi');
const cache = resolve('bench/out');
mkdirSync(cache, { recursive: true });
const videos = lengths.map((seconds) => {
  const video = join(cache, `street-${seconds}s-360p-k${keyframeSeconds}.mp4`);
  if (!existsSync(video)) {
    console.log(`making ${video} (${seconds} s of the street fixture, looped, 640x360)…`);
    const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-stream_loop', '-1', '-i', street, '-t', String(seconds), '-an', '-vf', 'scale=640:360', '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(Math.round(keyframeSeconds * 50)), '-pix_fmt', 'yuv420p', video], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('ffmpeg failed to make the benchmark video');
  }
  return video;
});

interface Attempt { job_id: number; ran_on: string; started_ms: number; finished_ms: number }
interface Figures { slots: number; label: string; windowMs: number; trackMs: number; frames: number; busy: Map<string, number>; gaps: number[]; attempts: number; loads: number; durations: number[] }

/**
 * The mean busy fraction a scheduler with no gaps at all could reach with these attempts: each, in the
 * order they started, on the slot free first. What it misses of 1 is the queue's granularity (the
 * last chunks leave slots idle), not posepipe's overhead.
 */
function boundBusy(durations: number[], slots: number): number {
  const free = new Array<number>(slots).fill(0);
  for (const d of durations) {
    const i = free.indexOf(Math.min(...free));
    free[i] = free[i]! + d;
  }
  return durations.reduce((a, b) => a + b, 0) / (slots * Math.max(...free));
}


/** The queue through `slots` local slots, or (remote > 0) through that many remote workers of one slot each and no local slot. */
async function runWith(slots: number, remote = 0): Promise<Figures> {
  const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-scale-'));
  const helpers: ChildProcess[] = [];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POSEPIPE_HOME: join(root, 'home'),
    POSEPIPE_INBOX: join(root, 'inbox'),
    POSEPIPE_OUTBOX: join(root, 'outbox'),
    POSEPIPE_TRACKER: 'test-fixture',
    POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: String(frameMs / 1000),
    POSEPIPE_CHUNK_SECONDS: String(chunkSeconds),
    POSEPIPE_WORKERS: remote > 0 ? '0' : String(slots),
    POSEPIPE_PREPARE_AHEAD: prepareAhead,
    POSEPIPE_PORT: String(await freePort()),
  };
  if (!env.POSEPIPE_PYTHON && !existsSync(resolve('python/.venv/bin/python'))) env.POSEPIPE_PYTHON = '/usr/bin/python3';
  if (remote > 0) {
    const redis = await startRedis(root);
    helpers.push(redis.process);
    env.POSEPIPE_REDIS_URL = redis.url;
    env.POSEPIPE_WORKER_TOKEN = 'bench-token-0123456789abcdef';
    for (let i = 0; i < remote; i++) {
      helpers.push(spawn(process.execPath, ['bin/posepipe.js', 'worker', '--coordinator', `http://127.0.0.1:${env.POSEPIPE_PORT}`], { env: { ...env, POSEPIPE_HOME: join(root, `worker-${i}`), POSEPIPE_WORKERS: '1' }, stdio: 'ignore' }));
    }
  }
  mkdirSync(env.POSEPIPE_INBOX!, { recursive: true });
  // The whole queue is in the inbox before posepipe starts: its first scan queues all five.
  for (const v of videos) copyFileSync(v, join(env.POSEPIPE_INBOX!, v.split('/').at(-1)!));
  const app = spawn(process.execPath, ['bin/posepipe.js', 'start'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  app.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((res) => app.on('close', (code) => res(code)));
  try {
    const deadline = Date.now() + 30 * 60_000;
    // Every job done (its preview too), so that posepipe stops with nothing in flight.
    const allDone = () => {
      if (!existsSync(env.POSEPIPE_OUTBOX!) || readdirSync(env.POSEPIPE_OUTBOX!).filter((f) => f.endsWith('.json')).length < videos.length) return false;
      const db = new Database(join(root, 'home', 'posepipe.db'), { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'done'").get() as { n: number }).n === videos.length;
      } finally {
        db.close();
      }
    };
    while (!allDone()) {
      if (app.exitCode !== null) throw new Error(`posepipe start with ${slots} slot(s) exited ${app.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`posepipe start with ${slots} slot(s) did not finish the queue in 30 minutes`);
      await sleep(200);
    }
  } finally {
    app.kill('SIGTERM');
  }
  if ((await exited) !== 0) throw new Error(`posepipe start with ${slots} slot(s) did not stop cleanly: ${stderr}`);
  for (const h of helpers) h.kill('SIGTERM');
  const db = new Database(join(root, 'home', 'posepipe.db'), { readonly: true });
  try {
    const jobs = db.prepare("SELECT min(started_ms) AS first, (SELECT max(finished_ms) FROM stages WHERE name = 'emit') AS last, count(*) AS n, sum(state = 'done') AS done FROM jobs").get() as { first: number; last: number; n: number; done: number };
    if (jobs.done !== videos.length) throw new Error(`${jobs.done} of ${videos.length} jobs done with ${slots} slot(s)`);
    const frames = (db.prepare('SELECT sum(frame_count) AS n FROM chunks').get() as { n: number }).n;
    const attempts = db.prepare("SELECT job_id, ran_on, started_ms, finished_ms FROM chunk_attempts WHERE outcome IS NOT NULL ORDER BY started_ms").all() as Attempt[];
    const loads = (db.prepare('SELECT count(*) AS n FROM tracker_loads').get() as { n: number }).n;
    const busy = new Map<string, number>();
    const gaps: number[] = [];
    const last = new Map<string, Attempt>();
    for (const a of attempts) {
      busy.set(a.ran_on, (busy.get(a.ran_on) ?? 0) + (a.finished_ms - a.started_ms));
      const before = last.get(a.ran_on);
      if (before && before.job_id !== a.job_id) gaps.push(a.started_ms - before.finished_ms);
      last.set(a.ran_on, a);
    }
    const trackMs = Math.max(...attempts.map((a) => a.finished_ms)) - Math.min(...attempts.map((a) => a.started_ms));
    return { slots: remote > 0 ? remote : slots, label: remote > 0 ? `${remote} remote` : `${slots} local`, windowMs: jobs.last - jobs.first, trackMs, frames, busy, gaps, attempts: attempts.length, loads, durations: attempts.map((a) => a.finished_ms - a.started_ms) };
  } finally {
    db.close();
    if (process.argv.includes('--keep')) console.log(`  (kept ${root})`);
    else rmSync(root, { recursive: true, force: true });
  }
}

console.log(`a queue of ${videos.length} videos (${lengths.join(', ')} s of 640x360, the street fixture), ${chunkSeconds} s chunks, prepareAhead ${prepareAhead}, test-fixture backend sleeping ${frameMs} ms a frame`);
const results: Figures[] = [];
for (const n of slotCounts) {
  const r = await runWith(n);
  console.log(`  ${n} slot(s): the queue took ${(r.windowMs / 1000).toFixed(2)} s`);
  results.push(r);
}
const base = results[0]!;
// "while tracking": first attempt's start → last attempt's end (without the first job's copy, probe
// and chunk before any slot can start, and the last job's merge and emit after the slots are done).
console.log('\n     slots  frames/s  speed-up  queue time  while tracking (speed-up)  busy per slot (min / mean)  no-gap bound  idle gap between jobs p50 / p95  attempts  loads');
for (const r of results) {
  const fps = r.frames / (r.windowMs / 1000);
  const tracking = `${(r.trackMs / 1000).toFixed(2)} s (${(base.trackMs / r.trackMs).toFixed(2)}x)`;
  const fractions = [...r.busy.values()].map((ms) => ms / r.trackMs);
  const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
  console.log(
    `${r.label.padStart(10)}  ${fps.toFixed(1).padStart(8)}  ${(base.windowMs / r.windowMs).toFixed(2).padStart(7)}x  ${(r.windowMs / 1000).toFixed(2).padStart(8)} s  ${tracking.padStart(25)}  ${`${Math.min(...fractions).toFixed(3)} / ${mean.toFixed(3)}`.padStart(26)}  ${boundBusy(r.durations, r.slots).toFixed(3).padStart(12)}  ${`${percentile(r.gaps, 50)} / ${percentile(r.gaps, 95)} ms (${r.gaps.length})`.padStart(32)}  ${String(r.attempts).padStart(8)}  ${String(r.loads).padStart(5)}`,
  );
}
if (remoteWorkers > 0) {
  const local = results.find((r) => r.slots === remoteWorkers) ?? (await runWith(remoteWorkers));
  const far = await runWith(remoteWorkers, remoteWorkers);
  const fps = (r: Figures) => r.frames / (r.windowMs / 1000);
  console.log(`\n${remoteWorkers} remote workers: ${fps(far).toFixed(1)} frames/s, ${(far.windowMs / 1000).toFixed(2)} s for the queue; ${remoteWorkers} local slots: ${fps(local).toFixed(1)} frames/s (remote ${((fps(far) / fps(local) - 1) * 100).toFixed(1)}%)`);
  const fractions = [...far.busy.values()].map((ms) => ms / far.trackMs);
  console.log(`  remote busy per worker (min / mean) ${Math.min(...fractions).toFixed(3)} / ${(fractions.reduce((a, b) => a + b, 0) / fractions.length).toFixed(3)} (no-gap bound ${boundBusy(far.durations, far.slots).toFixed(3)}), idle gap between jobs p50 / p95 ${percentile(far.gaps, 50)} / ${percentile(far.gaps, 95)} ms`);
}
if (process.argv.includes('--no-load')) process.exit(process.exitCode ?? 0);
console.log('\ncoordinator load test (npm run bench:coordinator):');
const load = spawnSync(process.execPath, ['--import', 'tsx', 'bench/coordinator-load.ts', '--jobs', '100', '--chunks', '200', '--workers', '50'], { stdio: 'inherit' });
if (load.status !== 0) process.exitCode = 1;
