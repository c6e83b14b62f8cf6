/**
 * Results of any length (issue 13): a long video of tiny frames through `posepipe run` with the
 * test-fixture backend standing in for phalp's output (POSEPIPE_TEST_FIXTURE_PEOPLE people a frame,
 * every phalp extra: about 3.4 kB of JSON per person and frame). The stand-in tracker's time is not
 * the point: prints the output's size, the merge and emit stages' seconds and MB/s, the peak
 * resident memory of the posepipe process (sampled from /proc every 100 ms), and the merge worker
 * thread's own peak for each of its tasks (merge, emit, preview's player files): the JS heap plus
 * buffers of that thread, as the worker measures it (process.memoryUsage() inside the thread:
 * heapUsed + external + arrayBuffers, sampled every chunk and every 256 frames) and posepipe logs
 * it; or how the run failed. Then each export (mot, csv, coco, and smpl of track 1) by `posepipe export`: its seconds
 * and its process's peak resident memory. Then the status page of the job, served by the real server over its
 * data folder: response times (first, p50, p95) of the job page and the player's routes.
 * Usage: npm run bench:long [-- --minutes 60 --people 6 --fps 30]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { openDb, STAGE_NAMES, type StageName } from '../src/db/index.ts';
import { startServer } from '../src/server/index.ts';
import { printRouteTimes, residentBytes, timeRoutes } from './lib.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const minutes = Number(arg('minutes', '60'));
const people = arg('people', '6');
const fps = arg('fps', '30');

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-long-'));
const video = join(root, `long-${minutes}min.mp4`);
console.log(`making ${minutes} min of ${fps} fps 32x32 video…`);
const made = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=32x32:rate=${fps}:duration=${minutes * 60}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(Number(fps) * 10), video], { encoding: 'utf8' });
if (made.status !== 0) throw new Error(`ffmpeg: ${made.stderr}`);

const env: NodeJS.ProcessEnv = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('POSEPIPE_')) env[k] = v;
for (const d of ['home', 'inbox', 'outbox']) mkdirSync(join(root, d));
Object.assign(env, {
  POSEPIPE_HOME: join(root, 'home'),
  POSEPIPE_INBOX: join(root, 'inbox'),
  POSEPIPE_OUTBOX: join(root, 'outbox'),
  POSEPIPE_PYTHON: process.env.POSEPIPE_PYTHON ?? (existsSync(resolve('python/.venv/bin/python')) ? resolve('python/.venv/bin/python') : '/usr/bin/python3'),
  POSEPIPE_TRACKER: 'test-fixture',
  POSEPIPE_TEST_FIXTURE_PEOPLE: people,
  POSEPIPE_TEST_FIXTURE_EXTRAS: 'phalp',
  POSEPIPE_CHUNK_SECONDS: '60',
  POSEPIPE_PREVIEW_SIZE: '0',
  POSEPIPE_MAX_CHUNKS: '100000',
  POSEPIPE_PORT: '0',
});

console.log(`running posepipe (test-fixture as phalp, ${people} people a frame)…`);
const t0 = performance.now();
const child = spawn(process.execPath, ['bin/posepipe.js', 'run', video], { env, stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
const worker: string[] = [];
child.stderr!.on('data', (d: Buffer) => {
  stderr = (stderr + d.toString()).slice(-8000);
  for (const m of stderr.matchAll(/job \d+: (\w+) took ([\d.]+) s in worker thread (\d+), its peak (\d+) MiB[^\n]*\n/g)) worker.push(`${m[1]!.padEnd(7)} ${m[2]} s, peak ${m[4]} MiB (thread ${m[3]})`);
  stderr = stderr.replace(/job \d+: \w+ took [\d.]+ s in worker thread \d+, its peak \d+ MiB[^\n]*\n/g, '');
});
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(child.pid!))), 100);
const code = await new Promise<number | null>((res) => child.on('close', res));
clearInterval(sampler);
const wallS = (performance.now() - t0) / 1000;

const db = new Database(join(root, 'home', 'posepipe.db'), { readonly: true });
const stages = (db.prepare('SELECT name, state, duration_ms, error_text FROM stages WHERE job_id = 1').all() as { name: string; state: string; duration_ms: number | null; error_text: string | null }[]).sort((a, b) => STAGE_NAMES.indexOf(a.name as StageName) - STAGE_NAMES.indexOf(b.name as StageName));
db.close();
const outputs = readdirSync(join(root, 'outbox'));
const bytes = outputs.length ? statSync(join(root, 'outbox', outputs[0]!)).size : 0;
const frames = Math.round(minutes * 60 * Number(fps));
const seconds = (name: string) => (stages.find((s) => s.name === name)?.duration_ms ?? NaN) / 1000;
const mb = bytes / 1e6;
console.log(`video              ${minutes} min, ${frames} frames, ${people} people a frame (${frames * Number(people)} person-frames)`);
console.log(`exit               ${code}${code === 0 ? '' : `: ${stderr.trim().split('\n').at(-1)}`}`);
console.log(`wall               ${wallS.toFixed(1)} s`);
for (const s of stages) console.log(`  ${s.name.padEnd(8)} ${s.state.padEnd(8)} ${s.duration_ms === null ? '–' : `${(s.duration_ms / 1000).toFixed(1)} s`}${s.error_text ? `  ${s.error_text.slice(0, 160)}` : ''}`);
console.log(`output             ${mb.toFixed(1)} MB (${(bytes / Math.max(1, frames * Number(people))).toFixed(0)} bytes per person-frame)`);
console.log(`merge              ${seconds('merge').toFixed(1)} s, ${(mb / seconds('merge')).toFixed(1)} MB/s of output`);
console.log(`emit               ${seconds('emit').toFixed(1)} s, ${(mb / seconds('emit')).toFixed(1)} MB/s`);
console.log(`peak RSS posepipe  ${(peak / 2 ** 20).toFixed(0)} MiB (the whole process, merge worker thread included)`);
for (const line of worker) console.log(`merge worker       ${line} of heap + buffers`);

// Each export of the output through `posepipe export`, its own process: seconds, MB/s of output
// read, and that process's peak resident memory, which should not grow with the video's length.
if (code === 0) {
  // smpl: one track's .npz (each track is one more pass over the output).
  for (const [format, ...more] of [['mot'], ['csv'], ['coco'], ['smpl', '--track', '1']] as const) {
    const e0 = performance.now();
    const exporting = spawn(process.execPath, ['bin/posepipe.js', 'export', '1', '--format', format, ...more, '--out', root], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    exporting.stdout!.on('data', (d: Buffer) => (said += d.toString()));
    exporting.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    let exportPeak = 0;
    const sampling = setInterval(() => (exportPeak = Math.max(exportPeak, residentBytes(exporting.pid!))), 50);
    const exitCode = await new Promise<number | null>((res) => exporting.on('close', res));
    clearInterval(sampling);
    const s = (performance.now() - e0) / 1000;
    const file = said.trim().split('\n').at(-1)!;
    const size = exitCode === 0 ? `${(statSync(file).size / 1e6).toFixed(1)} MB` : `exit ${exitCode}: ${said.trim().slice(-160)}`;
    console.log(`export ${format.padEnd(11)} ${s.toFixed(1)} s, ${(mb / s).toFixed(1)} MB/s of output, ${size}, peak RSS ${(exportPeak / 2 ** 20).toFixed(0)} MiB`);
  }
}

// The status page of this job, from the real server over its data folder: the routes the job page
// and its player ask, to set beside npm run bench:server's (the page reads merge.json's index and
// the player's windows, never the output).
if (code === 0) {
  const config = loadConfig({ env: { HOME: root, ...env, POSEPIPE_PORT: '0' }, wsl: false });
  const pageDb = openDb(config.home);
  const server = await startServer({ db: pageDb, config });
  try {
    const page = await (await fetch(new URL('/jobs/1', server.url))).text();
    const thumb = /\/jobs\/1\/thumbs\/(\d+)\.jpg/.exec(page)?.[1];
    const middle = Math.floor(frames / 2);
    const results = await timeRoutes(server.url, [
      ['/', 'jobs list'],
      ['/jobs/1', 'job page, with its thumbnails and track timeline', /\bthumb\b/],
      ['/api/jobs/1', 'job as JSON'],
      ...(thumb ? [[`/jobs/1/thumbs/${thumb}.jpg`, 'a thumbnail']] as [string, string][] : []),
      ['/api/jobs/1/player', "the player's index"],
      [`/api/jobs/1/frames?from=${middle}&to=${middle + 255}`, "256 frames' boxes from the middle"],
      [`/api/jobs/1/frames?from=${middle - (middle % 256)}&to=${Math.min(frames, middle - (middle % 256) + 256)}`, 'one window from the middle, as the player asks'],
    ], { requests: 50, warmup: 5 });
    console.log(`\nthe status page of this job (${frames} frames, a ${mb.toFixed(0)} MB output), 50 requests a route after 5 warm-up:`);
    if (printRouteTimes(results)) process.exitCode = 1;
  } finally {
    await server.close();
    pageDb.close();
  }
}
rmSync(root, { recursive: true, force: true });
