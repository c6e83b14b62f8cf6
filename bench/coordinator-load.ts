/**
 * Coordinator load test (issue 11): JOBS x CHUNKS chunk rows, seeded through the real Db with real
 * files on disk, handed out by a real `posepipe start` (no local slot, a real redis-server) to
 * SIMULATED workers: BullMQ Workers in this process that claim each offer over HTTP and upload a
 * valid result pickle at once (no tracking, no download: the coordinator's own work is measured).
 * Prints claim and upload round trips p50/p95, chunks/s, the coordinator's peak RSS, the rows it
 * wrote to SQLite per second (its /metrics), and checks that no chunk was recorded twice.
 * Usage: npm run bench:coordinator [-- --jobs 100 --chunks 200 --workers 50]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { openDb } from '../src/db/index.ts';
import { freePort, percentile, startRedis } from './lib.ts';
import { QUEUE_NAME, redisConnection, type Offer } from '../src/scheduler/index.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : Number(fallback);
};
const JOBS = arg('jobs', '100');
const CHUNKS = arg('chunks', '200');
const WORKERS = arg('workers', '50');
const FRAMES = 2;
const TOKEN = 'bench-token-0123456789abcdef';


const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-coordinator-'));
const home = join(root, 'home');
try {
  // One valid result per first frame (every job has the same ranges), written by the test helper the way the tracker writes them.
  console.log(`seeding ${JOBS} jobs x ${CHUNKS} chunks of ${FRAMES} frames…`);
  const pickles = join(root, 'pickles');
  mkdirSync(pickles);
  const header = { schema: 'posepipe.chunk/1', backend: 'test-fixture', backend_version: '1', device: 'cpu', frame_count: FRAMES, width: 640, height: 360, rows: [] };
  const made = spawnSync('/usr/bin/python3', [resolve('test/helpers/make-chunk-pickle.py')], {
    input: JSON.stringify(Array.from({ length: CHUNKS }, (_, i) => ({ out: join(pickles, `${i * FRAMES}.pkl`), protocol: 5, chunk: { ...header, first_frame: i * FRAMES } }))),
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`make-chunk-pickle.py: ${made.stderr}`);
  const result = new Map<number, { bytes: Buffer; sha256: string }>();
  for (let i = 0; i < CHUNKS; i++) {
    const bytes = readFileSync(join(pickles, `${i * FRAMES}.pkl`));
    result.set(i * FRAMES, { bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  // Jobs at their track stage, through the real transitions, with the files reconcile checks.
  const db = openDb(home);
  for (let j = 0; j < JOBS; j++) {
    const id = db.createJob({ sourceName: `clip-${j}.mp4`, sourcePath: `/inbox/clip-${j}.mp4`, sha256: createHash('sha256').update(`bench ${j}`).digest('hex'), bytes: 4 }).job.id;
    const dir = join(home, 'jobs', String(id));
    mkdirSync(join(dir, 'chunks'), { recursive: true });
    writeFileSync(join(dir, 'source.mp4'), 'fake');
    writeFileSync(join(dir, 'chunks', '0000.mp4'), 'fake');
    db.claimJob(id);
    db.startStage(id, 'stage');
    db.finishStage(id, 'stage', { file: 'source.mp4', bytes: 4, sha256: 'b'.repeat(64) });
    db.startStage(id, 'probe');
    const frames = CHUNKS * FRAMES;
    db.finishStage(id, 'probe', { width: 640, height: 360, rotation: 0, fps: 25, fpsFraction: '25/1', durationSeconds: frames / 25, codec: 'h264', pixelFormat: 'yuv420p', frameCountEstimate: frames, hasAudio: false, formatName: 'mov,mp4', bytes: 4 });
    const rows = Array.from({ length: CHUNKS }, (_, i) => ({ idx: i, file: 'chunks/0000.mp4', firstFrame: i * FRAMES, frameCount: FRAMES, overlapFrames: 0 }));
    db.startStage(id, 'chunk');
    const output = { totalFrames: frames, framesPerChunk: FRAMES, method: 'encode', chunks: rows.map((r) => ({ index: r.idx, file: r.file, firstFrame: r.firstFrame, frameCount: r.frameCount })) };
    db.finishStage(id, 'chunk', output, () => db.replaceChunks(id, rows));
  }
  db.requeueStale(); // as after a stop: queued again at track
  db.close();

  const { url: redisUrl, process: redis } = await startRedis(root);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POSEPIPE_HOME: home,
    POSEPIPE_INBOX: join(root, 'inbox'),
    POSEPIPE_OUTBOX: join(root, 'outbox'),
    POSEPIPE_TRACKER: 'test-fixture',
    POSEPIPE_WORKERS: '0',
    POSEPIPE_REDIS_URL: redisUrl,
    POSEPIPE_WORKER_TOKEN: TOKEN,
    POSEPIPE_PORT: String(port),
    POSEPIPE_PREPARE_AHEAD: '4',
  };
  const coordinator = spawn(process.execPath, ['bin/posepipe.js', 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${base}/metrics`).catch(() => undefined))?.ok) break;
    await sleep(100);
  }
  let peakRss = 0;
  const rssTimer = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${coordinator.pid}/status`, 'utf8'))?.[1]);
      peakRss = Math.max(peakRss, kb * 1024);
    } catch {
      // gone
    }
  }, 100);
  const rowsWritten = async () => Number(/^posepipe_sqlite_rows_written_total (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

  const auth = { authorization: `Bearer ${TOKEN}` };
  const claims: number[] = [];
  const uploads: number[] = [];
  let refused = 0;
  const ready = { backend: 'test-fixture', version: 'bench', device: 'cpu', pid: process.pid, loadSeconds: 0 };
  const total = JOBS * CHUNKS;
  let accepted = 0;
  const t0 = performance.now();
  const rows0 = await rowsWritten();
  const workers = Array.from({ length: WORKERS }, (_, w) =>
    new Worker<Offer>(
      QUEUE_NAME,
      async (job) => {
        const c0 = performance.now();
        const r = await fetch(`${base}/worker/v1/claim`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ offer: job.data, worker: { name: `sim-${w}`, host: 'bench', ready } }) });
        claims.push(performance.now() - c0);
        if (r.status !== 200) {
          refused++;
          await r.body?.cancel();
          return;
        }
        const claim = (await r.json()) as { attempt: number; lease: string; chunk: { first_frame: number } };
        const { bytes, sha256 } = result.get(claim.chunk.first_frame)!;
        const u0 = performance.now();
        const up = await fetch(`${base}/worker/v1/attempts/${claim.attempt}/result`, { method: 'PUT', headers: { ...auth, 'x-posepipe-lease': claim.lease, 'x-posepipe-sha256': sha256, 'x-posepipe-tracker-ms': '1' }, body: new Uint8Array(bytes) });
        uploads.push(performance.now() - u0);
        await up.body?.cancel();
        if (up.status === 200) accepted++;
      },
      { connection: redisConnection(redisUrl), concurrency: 1, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } },
    ),
  );
  while (accepted < total) {
    await sleep(500);
    if (coordinator.exitCode !== null) throw new Error(`the coordinator exited ${coordinator.exitCode}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const rows1 = await rowsWritten();
  await Promise.all(workers.map((w) => w.close()));
  // Let the last jobs merge and emit, then stop.
  const check = openDb(home, { readonly: true });
  for (let i = 0; i < 600 && check.countJobsByState().done < JOBS; i++) await sleep(200);
  clearInterval(rssTimer);
  coordinator.kill('SIGTERM');
  await new Promise((r) => coordinator.once('close', r));
  redis.kill('SIGKILL');
  const twice = (check.listAttempts().filter((a) => a.outcome === 'done').length) - total;
  const done = check.countJobsByState().done;
  check.close();

  console.log(`\n${total} chunks (${JOBS} jobs) handed to ${WORKERS} simulated workers in ${seconds.toFixed(1)} s: ${(total / seconds).toFixed(0)} chunks/s`);
  console.log(`claim round trip     p50 ${percentile(claims, 50).toFixed(1)} ms   p95 ${percentile(claims, 95).toFixed(1)} ms   (${claims.length} claims, ${refused} refused: offers already taken)`);
  console.log(`result upload        p50 ${percentile(uploads, 50).toFixed(1)} ms   p95 ${percentile(uploads, 95).toFixed(1)} ms`);
  console.log(`coordinator peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
  console.log(`SQLite rows written  ${((rows1 - rows0) / seconds).toFixed(0)}/s (${rows1 - rows0} in all)`);
  console.log(`chunks recorded twice: ${twice}; jobs done: ${done} of ${JOBS}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
