/**
 * Hostile results against a real `posepipe start` coordinator (a real redis-server, one job seeded
 * at its track stage with chunks of FRAMES frames, so that the size cap, a MiB a frame, lets the
 * big probes reach the check): each is uploaded by a token holder posing as a worker while
 * /metrics is asked every 50 ms. Prints, per probe, the answer, the reason the attempt was failed
 * with, /metrics' p50 / p95 / max and the coordinator's peak RSS; at the end whether it is alive.
 * The probes: `(` + 150 million `N` (V8 aborted the process on it), a 2 MB Fortran array of 2,000
 * dimensions (5.3 s of event loop), 270 strings of 1 MiB (within every pickle limit: the check's
 * heap limit ends it), and FRAMES + 50 MiB sent without Content-Length (past the size cap while streaming).
 * Usage: npm run bench:hostile [-- --frames 400]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { openDb } from '../src/db/index.ts';
import { freePort, percentile, residentBytes, startRedis } from './lib.ts';

const i = process.argv.indexOf('--frames');
const FRAMES = i > 0 ? Number(process.argv[i + 1]) : 400;
const TOKEN = 'bench-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The probes: a name and the bytes (or, for the streamed one, pieces and no Content-Length). */
function probes(): Array<{ name: string; pieces: Buffer[]; announce: boolean }> {
  const flood = Buffer.alloc(3 + 150_000_000 + 1, 0x4e);
  flood.set([0x80, 5, 0x28]);
  flood[flood.length - 1] = 0x2e;
  const int = (n: number) => Buffer.from([0x4a, ...new Uint8Array(Int32Array.of(n).buffer)]);
  const str = (s: string) => Buffer.concat([Buffer.from([0x58, ...new Uint8Array(Uint32Array.of(s.length).buffer)]), Buffer.from(s)]);
  const call = (module: string, name: string, ...args: Buffer[]) => Buffer.concat([str(module), str(name), Buffer.from([0x93, 0x28]), ...args, Buffer.from([0x74, 0x52])]);
  const raw = Buffer.alloc(2_000_000);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(raw.length));
  const dims = Buffer.concat([Buffer.from([0x28]), int(2_000_000), ...new Array<Buffer>(1999).fill(int(1)), Buffer.from([0x74])]);
  const fortran = Buffer.concat([Buffer.from([0x80, 5]), call('numpy.core.numeric', '_frombuffer', Buffer.from([0x96]), length, raw, call('numpy', 'dtype', str('u1'), Buffer.from([0x89, 0x88])), dims, str('F')), Buffer.from([0x2e])]);
  const mib = Buffer.concat([Buffer.from([0x58, 0, 0, 0x10, 0]), Buffer.alloc(1024 ** 2, 'a'), Buffer.from([0x61])]);
  const strings = Buffer.concat([Buffer.from([0x80, 5, 0x5d]), ...new Array<Buffer>(270).fill(mib), Buffer.from([0x2e])]);
  return [
    { name: '150 MB of ( + N', pieces: [flood], announce: true },
    { name: '2 MB Fortran, 2000 dims', pieces: [fortran], announce: true },
    { name: '270 x 1 MiB strings', pieces: [strings], announce: true },
    { name: `${FRAMES + 50} MiB, no length`, pieces: new Array<Buffer>(FRAMES + 50).fill(Buffer.alloc(1024 ** 2, 0x4e)), announce: false },
  ];
}

/** A thread asking `workerData` every 50 ms, posting each answer's time in ms. */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  for (;;) {
    const t = performance.now();
    await (await fetch(workerData, { signal: AbortSignal.timeout(10000) })).text();
    parentPort.postMessage(performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
})();
`;

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-hostile-'));
const home = join(root, 'home');
try {
  const list = probes();
  // One job at its track stage through the real transitions, a chunk per probe.
  const db = openDb(home);
  const id = db.createJob({ sourceName: 'clip.mp4', sourcePath: '/inbox/clip.mp4', sha256: 'c'.repeat(64), bytes: 4 }).job.id;
  const dir = join(home, 'jobs', String(id));
  mkdirSync(join(dir, 'chunks'), { recursive: true });
  writeFileSync(join(dir, 'source.mp4'), 'fake');
  writeFileSync(join(dir, 'chunks', '0000.mp4'), 'fake');
  db.claimJob(id);
  db.startStage(id, 'stage');
  db.finishStage(id, 'stage', { file: 'source.mp4', bytes: 4, sha256: 'b'.repeat(64) });
  db.startStage(id, 'probe');
  const frames = list.length * FRAMES;
  db.finishStage(id, 'probe', { width: 640, height: 360, rotation: 0, fps: 25, fpsFraction: '25/1', durationSeconds: frames / 25, codec: 'h264', pixelFormat: 'yuv420p', frameCountEstimate: frames, hasAudio: false, formatName: 'mov,mp4', bytes: 4 });
  const rows = list.map((_, idx) => ({ idx, file: 'chunks/0000.mp4', firstFrame: idx * FRAMES, frameCount: FRAMES, overlapFrames: 0 }));
  db.startStage(id, 'chunk');
  db.finishStage(id, 'chunk', { totalFrames: frames, framesPerChunk: FRAMES, method: 'encode', chunks: rows.map((r) => ({ index: r.idx, file: r.file, firstFrame: r.firstFrame, frameCount: r.frameCount })) }, () => db.replaceChunks(id, rows));
  db.requeueStale();
  db.close();

  const { url: redisUrl, process: redis } = await startRedis(root);
  const port = await freePort();
  const env = { ...process.env, POSEPIPE_HOME: home, POSEPIPE_INBOX: join(root, 'inbox'), POSEPIPE_OUTBOX: join(root, 'outbox'), POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_WORKERS: '0', POSEPIPE_REDIS_URL: redisUrl, POSEPIPE_WORKER_TOKEN: TOKEN, POSEPIPE_PORT: String(port) };
  const coordinator = spawn(process.execPath, ['bin/posepipe.js', 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let n = 0; n < 300 && !(await fetch(`${base}/metrics`).catch(() => undefined))?.ok; n++) await sleep(100);
  console.log(`coordinator up; chunks of ${FRAMES} frames (size cap ${FRAMES + 1} MiB)\n`);
  const ready = { backend: 'test-fixture', version: 'bench', device: 'cpu', pid: process.pid, loadSeconds: 0 };
  for (const [idx, probe] of list.entries()) {
    let claim: { attempt: number; lease?: string } | undefined;
    for (let n = 0; n < 300 && !claim; n++) {
      const r = await fetch(`${base}/worker/v1/claim`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ offer: { jobId: id, firstFrame: idx * FRAMES }, worker: { name: 'bench', host: 'bench', ready } }) });
      if (r.status === 200) claim = (await r.json()) as typeof claim;
      else await sleep(100);
    }
    if (!claim) throw new Error(`chunk ${idx} could not be claimed`);
    const sha = createHash('sha256');
    for (const p of probe.pieces) sha.update(p);
    // /metrics is asked from a thread of its own, so that this thread's work (hashing, copying the body) is not timed.
    const poller = new Worker(POLLER, { eval: true, workerData: `${base}/metrics` });
    const times: number[] = [];
    poller.on('message', (ms: number) => times.push(ms));
    let peak = 0;
    const rss = setInterval(() => (peak = Math.max(peak, residentBytes(coordinator.pid!))), 50);
    const t0 = performance.now();
    const body = probe.announce ? new Uint8Array(probe.pieces[0]!) : (Readable.toWeb(Readable.from(probe.pieces)) as ReadableStream<Uint8Array>);
    const headers: Record<string, string> = { ...auth, 'x-posepipe-sha256': sha.digest('hex'), 'x-posepipe-tracker-ms': '1', ...(claim.lease ? { 'x-posepipe-lease': claim.lease } : {}) };
    const answer = await fetch(`${base}/worker/v1/attempts/${claim.attempt}/result`, { method: 'PUT', headers, body, duplex: 'half' } as RequestInit).then(
      async (r) => `${r.status} ${(((await r.json().catch(() => ({}))) as { error?: string }).error ?? '').slice(0, 110)}`,
      (e: unknown) => `no answer (${(e as Error).message})`,
    );
    const seconds = (performance.now() - t0) / 1000;
    await sleep(300);
    clearInterval(rss);
    await poller.terminate();
    console.log(`${probe.name}: ${answer} (${seconds.toFixed(1)} s)`);
    console.log(`  /metrics p50 ${percentile(times, 50).toFixed(1)} ms  p95 ${percentile(times, 95).toFixed(1)} ms  max ${Math.max(...times).toFixed(1)} ms (${times.length} requests); coordinator peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB\n`);
  }
  const check = openDb(home, { readonly: true });
  for (const c of check.listChunks(id)) console.log(`chunk ${c.idx}: ${c.state}, ${c.error_text ?? ''}`);
  check.close();
  console.log(`\ncoordinator ${coordinator.exitCode === null ? 'alive' : `exited ${coordinator.exitCode}`}`);
  coordinator.kill('SIGTERM');
  await new Promise((r) => coordinator.once('close', r));
  redis.kill('SIGKILL');
} finally {
  rmSync(root, { recursive: true, force: true });
}
