/**
 * Resume benchmark: tracker seconds (GPU seconds with a GPU backend) saved by resuming after a kill
 * half-way through a long video, against starting over. Real tracking (the configured backend,
 * `builtin` by default) on the street fixture looped to 1280x720, through the real CLI:
 *   1. straight through in a fresh data folder: tracker seconds T (sum of chunks.tracker_ms), wall;
 *   2. in another fresh folder, POSEPIPE_CRASHPOINT=chunk-done:<k> SIGKILLs posepipe right after the
 *      k-th chunk is recorded (k: the chunk boundary nearest half the frames); then the same `run` again resumes to completion, and
 *      only the chunks finished after the restart count as the resume's cost;
 *   3. starting over would cost T again after the kill.
 * Prints both totals, the seconds and share saved, wall times, and whether the resumed output is
 * byte-identical to the straight run's (exit 1 if not, naming the chunk results that differ). A kill
 * at chunk-done loses no partial chunk; a kill in the middle of one also loses its tracking so far.
 * 40 s by default: the street fixture's keyframes give 5 chunks of 8.2 s (10 s target), killed after 2.
 * Tracker times on a shared machine vary run to run, hence also a line using one run's timings.
 * Usage: npx tsx bench/resume.ts [--seconds 40 --chunk-seconds 10 --kill-after <chunks>]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 40);
const chunkSeconds = arg('chunk-seconds', 10);
const killAfterArg = arg('kill-after', 0); // 0: the chunk boundary nearest half the frames

const street = resolve('../shared/fixtures/street-people.avi');
const cache = resolve('bench/out');
mkdirSync(cache, { recursive: true });
const video = join(cache, `street-${seconds}s-720p.mp4`); // the same file bench/pipeline.ts makes
if (!existsSync(video)) {
  console.log(`making ${video} (${seconds} s of the street fixture, looped)…`);
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-stream_loop', '-1', '-i', street, '-t', String(seconds), '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', video], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('ffmpeg failed to make the benchmark video');
}

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-resume-'));
// Kept when something goes wrong, with its path said; deleted after a complete run.
process.on('uncaughtException', (error) => {
  console.error(`${error.message}\n(data folders kept in ${root})`);
  process.exit(1);
});
const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.POSEPIPE_CRASHPOINT; // only the killed run gets one
if (!baseEnv.POSEPIPE_PYTHON && !existsSync(resolve('python/.venv/bin/python'))) baseEnv.POSEPIPE_PYTHON = '/usr/bin/python3';

/** A fresh data folder with its own inbox and outbox. */
function workspace(name: string) {
  const dir = join(root, name);
  return { home: join(dir, 'home'), outbox: join(dir, 'outbox') };
}
type Workspace = ReturnType<typeof workspace>;

/** One `posepipe run` to its end; output kept quiet unless it went wrong. */
function run(ws: Workspace, extra: Record<string, string> = {}) {
  const env = { ...baseEnv, POSEPIPE_HOME: ws.home, POSEPIPE_INBOX: join(ws.home, '..', 'inbox'), POSEPIPE_OUTBOX: ws.outbox, ...extra };
  const startedMs = Date.now();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/posepipe.js', 'run', video, '--chunk-seconds', String(chunkSeconds)], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, startedMs, wallMs: performance.now() - t0 };
}
type Run = ReturnType<typeof run>;

function mustSucceed(r: Run, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: posepipe run exited ${r.status ?? r.signal}\n${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!; // the output path
}

interface ChunkFacts {
  idx: number;
  state: string;
  tracker_ms: number | null;
  finished_ms: number | null;
  frame_count: number;
  result_sha256: string | null;
}

function readDb(ws: Workspace) {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  const chunks = db.prepare('SELECT idx, state, tracker_ms, finished_ms, frame_count, result_sha256 FROM chunks ORDER BY idx').all() as ChunkFacts[];
  const loads = db.prepare('SELECT started_ms, load_ms FROM tracker_loads ORDER BY id').all() as { started_ms: number; load_ms: number }[];
  db.close();
  return { chunks, loads };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const busyMs = (chunks: ChunkFacts[]) => sum(chunks.map((c) => c.tracker_ms ?? 0));
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' / ');
const loadAtStart = load();

console.log(`straight run: ${seconds} s of 1280x720 with ${chunkSeconds} s chunks…`);
const straightWs = workspace('straight');
const straight = run(straightWs);
const straightOut = readFileSync(mustSucceed(straight, 'straight run'));
const s = readDb(straightWs);
const total = busyMs(s.chunks);
const n = s.chunks.length;
const frames = sum(s.chunks.map((c) => c.frame_count));
const framesThrough = (k: number) => sum(s.chunks.slice(0, k).map((c) => c.frame_count));
// Default: the chunk boundary nearest to half the frames (chunks follow keyframes, so sizes vary).
const killAfter = killAfterArg > 0 ? killAfterArg : s.chunks.slice(1).reduce((best, _c, i) => (Math.abs(framesThrough(i + 1) - frames / 2) < Math.abs(framesThrough(best) - frames / 2) ? i + 1 : best), 1);
if (killAfter >= n) throw new Error(`--kill-after ${killAfter}: the video has only ${n} chunks`);

console.log(`killed run: POSEPIPE_CRASHPOINT=chunk-done:${killAfter}…`);
const resumedWs = workspace('resumed');
const killed = run(resumedWs, { POSEPIPE_CRASHPOINT: `chunk-done:${killAfter}` });
if (killed.signal !== 'SIGKILL') throw new Error(`the crash point did not kill posepipe (exit ${killed.status ?? killed.signal})\n${killed.stderr}`);
const k = readDb(resumedWs);
const doneBefore = k.chunks.filter((c) => c.state === 'done');
const beforeMs = busyMs(doneBefore);

console.log('resumed run…');
const resumed = run(resumedWs);
const resumedOut = readFileSync(mustSucceed(resumed, 'resumed run'));
const r = readDb(resumedWs);
// Only chunks finished after the restart are the resume's cost (a done chunk redone would count too).
const redone = r.chunks.filter((c) => (c.finished_ms ?? 0) >= resumed.startedMs);
const resumeMs = busyMs(redone);
const resumeLoads = r.loads.filter((l) => l.started_ms >= resumed.startedMs);
const sameChunksStraightMs = busyMs(s.chunks.filter((c) => redone.some((d) => d.idx === c.idx)));

const withResume = beforeMs + resumeMs;
const startingOver = beforeMs + total;
const identical = straightOut.equals(resumedOut);
// A chunk tracked before the kill went through the same steps in both runs: if its result differs,
// the backend itself is not deterministic, whatever resuming does.
const differing = r.chunks.filter((c) => c.result_sha256 !== s.chunks.find((x) => x.idx === c.idx)?.result_sha256);
const chunkDiff = differing.length
  ? `chunk results that differ from the straight run's: ${differing.map((c) => `${c.idx} (${redone.includes(c) ? 'tracked after the restart' : 'tracked before the kill, like the straight run: the backend is not deterministic'})`).join(', ')}`
  : 'every chunk result is identical to the straight run\'s';
console.log(`
video                 ${seconds} s, 1280x720, ${frames} frames, ${n} chunks (target ${chunkSeconds} s)
machine               ${cpus().length} CPUs; load average (1/5/15 min) ${loadAtStart} at start, ${load()} at end
straight run          tracker ${fmt(total)}, wall ${fmt(straight.wallMs)}
killed run            killed after chunk ${killAfter} of ${n} (${doneBefore.length} done, ${((100 * framesThrough(killAfter)) / frames).toFixed(0)} % of the frames): tracker ${fmt(beforeMs)} before the kill, wall ${fmt(killed.wallMs)}
resumed run           tracker ${fmt(resumeMs)} on ${redone.length} chunk(s) (the same chunks took ${fmt(sameChunksStraightMs)} in the straight run; the difference is run-to-run noise), wall ${fmt(resumed.wallMs)}, ${resumeLoads.length} backend load(s) (${fmt(sum(resumeLoads.map((l) => l.load_ms)))})
with resume           tracker ${fmt(withResume)}   (before the kill + resumed)
starting over         tracker ${fmt(startingOver)}   (before the kill + the whole video again)
saved                 tracker ${fmt(startingOver - withResume)}, ${((100 * (startingOver - withResume)) / startingOver).toFixed(1)} % of starting over
saved, one timing     tracker ${fmt(total - sameChunksStraightMs)}, ${((100 * (total - sameChunksStraightMs)) / (2 * total - sameChunksStraightMs)).toFixed(1)} % of starting over   (the skipped chunks as timed in the straight run: no run-to-run noise)
wall, with resume     ${fmt(killed.wallMs + resumed.wallMs)}   (killed + resumed run; starting over: ${fmt(killed.wallMs + straight.wallMs)})
identical output      ${identical ? 'yes' : 'NO'}   (resumed JSON vs the straight run's, byte for byte); ${chunkDiff}`);
if (identical) rmSync(root, { recursive: true, force: true });
else {
  console.log(`                      ${differences(straightOut, resumedOut)}\n                      (data folders kept in ${root})`);
  process.exitCode = 1;
}

/** Where two outputs differ: top-level keys, and which frames (by chunk) have other persons. */
function differences(a: Buffer, b: Buffer): string {
  type Output = Record<string, unknown> & { frames: unknown[]; chunks: { index: number; firstFrame: number }[] };
  const x = JSON.parse(a.toString()) as Output;
  const y = JSON.parse(b.toString()) as Output;
  const keys = Object.keys(x).filter((key) => key !== 'frames' && JSON.stringify(x[key]) !== JSON.stringify(y[key]));
  const frames = x.frames.map((f, i) => i).filter((i) => JSON.stringify(x.frames[i]) !== JSON.stringify(y.frames[i]));
  const chunkOf = (i: number) => x.chunks.filter((c) => c.firstFrame <= i).length - 1;
  const byChunk = [...new Set(frames.map(chunkOf))].map((c) => `chunk ${c}: ${frames.filter((i) => chunkOf(i) === c).length}`);
  return `differs in ${keys.length ? keys.join(', ') : 'no top-level key but frames'}; ${frames.length} frame(s) differ${frames.length ? `, first ${frames[0]} (${byChunk.join(', ')})` : ''}`;
}
