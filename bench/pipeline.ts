/**
 * Pipeline overhead benchmark (issue 2): a 60 s 1280x720 video with real people (the street
 * fixture looped), 10 s chunks, through the real CLI. Prints wall time, tracker busy time and their
 * ratio, how many times the backend was loaded, chunking and merge time.
 * Usage: npm run bench [-- --seconds 60 --chunk-seconds 10]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 60);
const chunkSeconds = arg('chunk-seconds', 10);

const street = resolve('../shared/fixtures/street-people.avi');
const cache = resolve('bench/out');
mkdirSync(cache, { recursive: true });
const video = join(cache, `street-${seconds}s-720p.mp4`);
if (!existsSync(video)) {
  console.log(`making ${video} (${seconds} s of the street fixture, looped)…`);
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-stream_loop', '-1', '-i', street, '-t', String(seconds), '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', video], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('ffmpeg failed to make the benchmark video');
}

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-'));
const env: NodeJS.ProcessEnv = { ...process.env, POSEPIPE_HOME: join(root, 'home'), POSEPIPE_INBOX: join(root, 'inbox'), POSEPIPE_OUTBOX: join(root, 'outbox') };
if (!env.POSEPIPE_PYTHON && !existsSync(resolve('python/.venv/bin/python'))) env.POSEPIPE_PYTHON = '/usr/bin/python3';

console.log(`running posepipe on ${seconds} s of 1280x720 with ${chunkSeconds} s chunks…`);
const t0 = performance.now();
const run = spawnSync(process.execPath, ['bin/posepipe.js', 'run', video, '--chunk-seconds', String(chunkSeconds)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
const wallMs = performance.now() - t0;
if (run.status !== 0) throw new Error(`posepipe run exited ${run.status}`);

const db = new Database(join(root, 'home', 'posepipe.db'), { readonly: true });
const stage = (name: string) => (db.prepare('SELECT duration_ms AS ms FROM stages WHERE name = ?').get(name) as { ms: number }).ms;
const chunks = db.prepare('SELECT count(*) AS n, sum(tracker_ms) AS busy, sum(frame_count) AS frames FROM chunks').get() as { n: number; busy: number; frames: number };
const loads = db.prepare('SELECT count(*) AS n, sum(load_ms) AS ms FROM tracker_loads').get() as { n: number; ms: number };
const method = (JSON.parse((db.prepare("SELECT output_json FROM stages WHERE name = 'chunk'").get() as { output_json: string }).output_json) as { method: string }).method;
const stages = Object.fromEntries(['stage', 'probe', 'chunk', 'merge', 'emit'].map((name) => [name, stage(name)]));
db.close();

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`
video                 ${seconds} s, 1280x720, ${chunks.frames} frames, ${chunks.n} chunks (target ${chunkSeconds} s, ${method})
total wall time       ${fmt(wallMs)}   (posepipe run, process start to exit)
tracker busy time     ${fmt(chunks.busy)}   (sum of the worker's per-chunk time)
overhead ratio        ${(wallMs / chunks.busy).toFixed(3)}   (wall / tracker busy; aim <= 1.10)
backend loads         ${loads.n}   (${fmt(loads.ms)} to load)
stage copy            ${fmt(stages.stage!)}
probe                 ${fmt(stages.probe!)}
chunking              ${fmt(stages.chunk!)}
merge                 ${fmt(stages.merge!)}
emit                  ${fmt(stages.emit!)}
tracker throughput    ${(chunks.frames / (chunks.busy / 1000)).toFixed(1)} frames/s`);
rmSync(root, { recursive: true, force: true });
