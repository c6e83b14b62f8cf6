/**
 * Status page benchmark (issue 4): response times of the jobs list and job pages over a database
 * with 100,000 chunk rows. In a temp home, Db methods (in one transaction) record 980 jobs of 100
 * chunks each in the states a long-lived install has (done, some with retried chunks; failed with
 * error text and a worker stderr tail; cancelled; queued again after a resume) plus one running job
 * of 2,000 chunks. The real server (startServer, port 0) then answers real HTTP requests, one at a
 * time after a warm-up; prints the first (cold) request's time and p50/p95/max per route, the
 * answer's size, and the row counts. A route that does not answer 200 is reported (and makes the
 * exit status 1) instead of being timed. One done job gets a merge.json, so its page has pictures.
 * The client runs in the same process as the server, so its time is in the figures (it is small).
 * Usage: npm run bench:server [-- --requests 200 --warmup 20]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.ts';
import { openDb, STEP_STATES, type Db, type FailureRecord, type NewChunk, type StepState } from '../src/db/index.ts';
import type { VideoFacts } from '../src/media/index.ts';
import { MERGE_INDEX_VERSION, type MergeResult } from '../src/merge/index.ts';
import { jobDir, MERGE_INDEX_FILE } from '../src/paths.ts';
import { pictureIndex } from '../src/pictures/build-pictures.ts';
import type { ChunkOutput } from '../src/stages/chunk.ts';
import type { EmitOutput } from '../src/stages/emit.ts';
import type { MergeOutput } from '../src/stages/merge.ts';
import type { StageOutput } from '../src/stages/stage.ts';
import type { TrackerInfo } from '../src/stages/track.ts';
import { startServer } from '../src/server/index.ts';
import { printRouteTimes, type RouteTimes, timeRoutes } from './lib.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 200);
const WARMUP = arg('warmup', 20);
const JOBS = 980;
const CHUNKS_PER_JOB = 100;
const BIG_CHUNKS = 2000;
const FRAMES_PER_CHUNK = 250; // 10 s at 25 fps

/** What a seeded job ends as. */
type Plan = 'done' | 'failed' | 'cancelled' | 'queued' | 'running';

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-server-'));
const home = join(root, 'home');
const outbox = join(root, 'outbox');

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A Python traceback of the length a crashed worker leaves (the row keeps the tail). */
function stderrTail(i: number): string {
  const frames = Array.from({ length: 12 }, (_, k) => `  File "/opt/posepipe/python/posepipe/backends/builtin.py", line ${100 + k * 7}, in track_${k}\n    boxes = self._detect(frame, scale=${k})`);
  return `Traceback (most recent call last):\n${frames.join('\n')}\nRuntimeError: CUDA error: an illegal memory access was encountered (request ${i})\n`;
}

const CRASH = (job: number, idx: number): FailureRecord => ({
  kind: 'crash',
  text: `The tracker worker died with signal SIGSEGV while tracking frames ${idx * FRAMES_PER_CHUNK}–${(idx + 1) * FRAMES_PER_CHUNK - 1} of "clip-${job}.mp4"`,
  exitCode: null,
  signal: 'SIGSEGV',
  stderrTail: stderrTail(job * 1000 + idx),
});

/** Walk one job through its stages with the same Db calls the pipeline makes, ending as `plan`. */
function seedJob(db: Db, n: number, chunkCount: number, plan: Plan): number {
  const name = `clip-${n}.mp4`;
  const bytes = 50_000_000 + n;
  const { job } = db.createJob({ sourceName: name, sourcePath: join(root, 'inbox', name), sha256: sha(name), bytes });
  const id = job.id;
  db.claimJob(id);
  const totalFrames = chunkCount * FRAMES_PER_CHUNK;
  const staged: StageOutput = { file: 'source.mp4', bytes, sha256: sha(name) };
  const facts: VideoFacts = {
    width: 1280, height: 720, rotation: 0, fps: 25, fpsFraction: '25/1', durationSeconds: totalFrames / 25, codec: 'h264',
    pixelFormat: 'yuv420p', frameCountEstimate: totalFrames, hasAudio: true, formatName: 'mov,mp4,m4a,3gp,3g2,mj2', bytes,
  };
  const rows: NewChunk[] = Array.from({ length: chunkCount }, (_, idx) => ({
    idx, file: `chunks/${String(idx).padStart(4, '0')}.mp4`, firstFrame: idx * FRAMES_PER_CHUNK, frameCount: FRAMES_PER_CHUNK, overlapFrames: idx === 0 ? 0 : 16,
  }));
  const chunked: ChunkOutput = {
    totalFrames, framesPerChunk: FRAMES_PER_CHUNK, method: 'copy',
    chunks: rows.map((r) => ({ index: r.idx, file: r.file, firstFrame: r.firstFrame, frameCount: r.frameCount })),
  };
  db.startStage(id, 'stage');
  db.finishStage(id, 'stage', staged);
  db.startStage(id, 'probe');
  db.finishStage(id, 'probe', facts);
  db.startStage(id, 'chunk');
  db.finishStage(id, 'chunk', chunked, () => db.replaceChunks(id, rows));
  db.startStage(id, 'track');

  // How far tracking got: all of it for a done job; part of it otherwise.
  const reached = plan === 'done' ? chunkCount : plan === 'running' ? Math.floor(chunkCount * 0.6) : 10 + (n % 80);
  const done = (idx: number) => {
    db.startChunk(id, idx);
    db.finishChunk(id, idx, { file: `results/${String(idx).padStart(4, '0')}.pkl`, bytes: 180_000 + idx, sha256: sha(`${n}/${idx}`), trackerMs: 9000 + (idx % 13) * 250 });
  };
  for (let idx = 0; idx < reached; idx++) {
    if (idx % 17 === 5) {
      // Crashed once, then done: the failure stays on the row as history.
      db.startChunk(id, idx);
      db.failChunk(id, idx, CRASH(n, idx), true);
    }
    done(idx);
  }
  if (plan === 'done') {
    const tracker: TrackerInfo = { backend: 'builtin', version: '0.1.0', device: 'cuda:0', trackerMs: chunkCount * 9500 };
    db.finishStage(id, 'track', tracker);
    db.startStage(id, 'merge');
    db.finishStage(id, 'merge', { file: 'merge.json', bytes: 4_000_000, sha256: sha(`${n}/merged`), tracks: 40 + (n % 30), persons: totalFrames * 3 } satisfies MergeOutput);
    db.startStage(id, 'emit');
    db.finishStage(id, 'emit', { file: join(outbox, job.output_name), bytes: 9_000_000, sha256: sha(`${n}/out`) } satisfies EmitOutput);
    db.finishJob(id);
  } else if (plan === 'running') {
    db.startChunk(id, reached);
    db.chunkProgress(id, reached, FRAMES_PER_CHUNK / 2);
  } else {
    // failed, and also the way to cancelled-with-history and queued-after-resume.
    db.startChunk(id, reached);
    if (plan === 'cancelled') {
      db.cancelJob(id);
      db.finishCancel(id);
    } else {
      const failure = CRASH(n, reached);
      db.failChunk(id, reached, failure, false);
      db.failStage(id, 'track', failure);
      db.failJob(id, { kind: 'crash', text: `Chunk ${reached} failed after 3 attempts: ${failure.text}` });
      if (plan === 'queued') db.resumeJob(id);
    }
  }
  return id;
}

/**
 * The merge.json of a done job of `frames` frames like a real one: tracks of a few hundred frames,
 * about three people per frame. The job page draws its pictures from its picture index (and caches
 * them); returns the size the merged frames would have as one JSON, which the page never reads.
 */
function writeMerged(dir: string, frames: number): number {
  const spans = Array.from({ length: Math.ceil(frames / 400) + 6 }, (_, t) => ({ id: t + 1, first: Math.max(0, t * 400 - 1200), last: Math.min(frames - 1, t * 400 + 300) }));
  const tracks = spans.filter((s) => s.first <= s.last);
  const merged: MergeResult = {
    frames: Array.from({ length: frames }, (_, index) => ({
      index,
      persons: tracks
        .filter((t) => t.first <= index && index <= t.last)
        .map((t) => {
          const x = 100 + ((t.id * 97 + index) % 1000);
          const y = 200 + ((t.id * 53) % 300);
          return { track: t.id, bbox: [x, y, x + 120, y + 340] as [number, number, number, number], score: 0.9 };
        }),
    })),
    tracks: tracks.map((t) => ({ id: t.id, firstFrame: t.first, lastFrame: t.last, frames: t.last - t.first + 1 })),
  };
  mkdirSync(dir, { recursive: true });
  const index = { version: MERGE_INDEX_VERSION, frameCount: frames, persons: 0, tracks: merged.tracks, chunks: [], pictures: pictureIndex(merged, 'bench') };
  writeFileSync(join(dir, MERGE_INDEX_FILE), JSON.stringify(index));
  return JSON.stringify(merged).length;
}

const planFor = (n: number): Plan => (n % 10 < 7 ? 'done' : n % 10 < 9 ? 'failed' : n % 20 === 9 ? 'cancelled' : 'queued');


async function main(): Promise<number> {
  const db = openDb(home);
  const t0 = performance.now();
  const ids = db.transaction(() => {
    const made = Array.from({ length: JOBS }, (_, n) => ({ id: seedJob(db, n, CHUNKS_PER_JOB, planFor(n)), plan: planFor(n) }));
    made.push({ id: seedJob(db, JOBS, BIG_CHUNKS, 'running'), plan: 'running' });
    return made;
  });
  const seedSeconds = (performance.now() - t0) / 1000;

  const chunkCounts = Object.fromEntries(STEP_STATES.map((s) => [s, 0])) as Record<StepState, number>;
  for (const { id } of ids) for (const [state, n] of Object.entries(db.countChunksByState(id))) chunkCounts[state as StepState] += n;
  const totalChunks = Object.values(chunkCounts).reduce((a, b) => a + b, 0);
  const jobCounts = db.countJobsByState();
  console.log(`seeded in ${seedSeconds.toFixed(1)} s: ${ids.length} jobs (${Object.entries(jobCounts).map(([s, n]) => `${s} ${n}`).join(', ')})`);
  console.log(`${totalChunks} chunk rows (${Object.entries(chunkCounts).map(([s, n]) => `${s} ${n}`).join(', ')})`);

  const config = loadConfig({ env: { HOME: root, POSEPIPE_HOME: home, POSEPIPE_INBOX: join(root, 'inbox'), POSEPIPE_OUTBOX: outbox, POSEPIPE_PORT: '0' }, wsl: false });
  const small = ids.find((j) => j.plan === 'done')!.id;
  const mergedBytes = writeMerged(jobDir(config, small), CHUNKS_PER_JOB * FRAMES_PER_CHUNK);
  console.log(`job ${small}: frames of ${(mergedBytes / 1e6).toFixed(1)} MB as JSON; its pictures come from merge.json's index (the first request computes and caches them)`);
  const server = await startServer({ db, config });
  const failed = ids.find((j) => j.plan === 'failed')!.id;
  const big = ids.at(-1)!.id;
  // [path, what, a pattern the answer must match so that a fallback page is not timed by mistake]
  const routes: [string, string, RegExp?][] = [
    ['/', 'jobs list, first page'],
    ['/?state=failed', 'jobs list, failed only'],
    ['/?page=10', 'jobs list, page 10'],
    ['/api/jobs', 'jobs list as JSON'],
    [`/jobs/${small}`, 'job page, 100 chunks, done, pictures', /<figure[^>]*class="[^"]*\bthumb\b/],
    [`/jobs/${failed}`, 'job page, 100 chunks, failed'],
    [`/jobs/${big}`, 'job page, 2000 chunks, running'],
    [`/api/jobs/${small}`, 'job as JSON, 100 chunks'],
    [`/api/jobs/${big}`, 'job as JSON, 2000 chunks'],
    ['/metrics', 'metrics'],
  ];
  console.log(`server ${server.url}; ${REQUESTS} sequential requests per route after ${WARMUP} warm-up; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);

  let results: RouteTimes[];
  try {
    results = await timeRoutes(server.url, routes, { requests: REQUESTS, warmup: WARMUP });
  } finally {
    await server.close();
    db.close();
  }
  const failures = printRouteTimes(results);
  rmSync(root, { recursive: true, force: true });
  return failures ? 1 : 0;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error);
  console.error(`(data kept in ${root})`);
  return 1;
});
