/**
 * Tracker slots benchmark (issue 11, first part: slots on one machine). One video of real footage
 * (the street fixture looped) through the real CLI with 1, 2 and 4 slots; the test-fixture backend's
 * slow mode stands in for a GPU (it sleeps per frame, so the CPU stays free for ffmpeg, decoding,
 * merge and emit). Prints frames/s, the speed-up over one slot, and how busy the slots were
 * (tracker busy time / (wall time of the track stage x slots)).
 * Usage: npm run bench:scale [-- --seconds 40 --chunk-seconds 2 --frame-ms 20 --slots 1,2,4]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const seconds = Number(arg('seconds', '40'));
const chunkSeconds = Number(arg('chunk-seconds', '2'));
const frameMs = Number(arg('frame-ms', '20'));
const slotCounts = arg('slots', '1,2,4').split(',').map(Number);

const street = resolve('../shared/fixtures/street-people.avi');
const cache = resolve('bench/out');
mkdirSync(cache, { recursive: true });
const video = join(cache, `street-${seconds}s-360p.mp4`);
if (!existsSync(video)) {
  console.log(`making ${video} (${seconds} s of the street fixture, looped, 640x360)…`);
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-stream_loop', '-1', '-i', street, '-t', String(seconds), '-an', '-vf', 'scale=640:360', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', video], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('ffmpeg failed to make the benchmark video');
}

interface Figures { slots: number; wallMs: number; trackMs: number; busyMs: number; frames: number; chunks: number; loads: number }

function runWith(slots: number): Figures {
  const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-scale-'));
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      POSEPIPE_HOME: join(root, 'home'),
      POSEPIPE_INBOX: join(root, 'inbox'),
      POSEPIPE_OUTBOX: join(root, 'outbox'),
      POSEPIPE_TRACKER: 'test-fixture',
      POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: String(frameMs / 1000),
    };
    if (!env.POSEPIPE_PYTHON && !existsSync(resolve('python/.venv/bin/python'))) env.POSEPIPE_PYTHON = '/usr/bin/python3';
    const t0 = performance.now();
    const run = spawnSync(process.execPath, ['bin/posepipe.js', 'run', video, '--chunk-seconds', String(chunkSeconds), '--workers', String(slots)], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const wallMs = performance.now() - t0;
    if (run.status !== 0) throw new Error(`posepipe run with ${slots} slot(s) exited ${run.status}: ${run.stderr}`);
    const db = new Database(join(root, 'home', 'posepipe.db'), { readonly: true });
    const track = db.prepare("SELECT duration_ms AS ms FROM stages WHERE name = 'track'").get() as { ms: number };
    const chunks = db.prepare('SELECT count(*) AS n, sum(tracker_ms) AS busy, sum(frame_count) AS frames FROM chunks').get() as { n: number; busy: number; frames: number };
    const loads = db.prepare('SELECT count(*) AS n FROM tracker_loads').get() as { n: number };
    db.close();
    return { slots, wallMs, trackMs: track.ms, busyMs: chunks.busy, frames: chunks.frames, chunks: chunks.n, loads: loads.n };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

console.log(`${seconds} s of 640x360 (street fixture), ${chunkSeconds} s chunks, test-fixture backend sleeping ${frameMs} ms a frame`);
const results = slotCounts.map((n) => {
  const r = runWith(n);
  console.log(`  ${n} slot(s): done in ${(r.wallMs / 1000).toFixed(2)} s`);
  return r;
});
const base = results[0]!;
console.log('\nslots  frames/s (wall)  speed-up  track stage  slots busy  chunks  backend loads');
for (const r of results) {
  const fps = r.frames / (r.wallMs / 1000);
  const busy = r.busyMs / (r.trackMs * r.slots);
  console.log(
    `${String(r.slots).padStart(5)}  ${fps.toFixed(1).padStart(15)}  ${(base.wallMs / r.wallMs).toFixed(2).padStart(7)}x  ${(r.trackMs / 1000).toFixed(2).padStart(9)} s  ${(busy * 100).toFixed(1).padStart(9)}%  ${String(r.chunks).padStart(6)}  ${String(r.loads).padStart(13)}`,
  );
}
