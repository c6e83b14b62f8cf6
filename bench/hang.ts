/**
 * Hang benchmark: the time from a tracker worker going silent (POSEPIPE_TEST_FIXTURE_HANG_AT, caught
 * by the heartbeat deadline) or going on with heartbeats whose frame count is frozen
 * (POSEPIPE_TEST_FIXTURE_STUCK_AT, caught by the no-advance deadline) to its chunk's retry starting,
 * for several deadlines, through the real CLI with the test-fixture backend on a 4 s 320x240 clip.
 *
 * The fixture sleeps FRAME_SECONDS = 0.5 per frame and stops at frame HANG_AT = 4. The worker sends
 * progress as frames are pulled, at most one event per 0.5 s, so with 0.5 s frames every pull sends
 * one and the last progress event (or the last frame advance) is the hang itself. When that is, after
 * the chunk's start, is calibrated by a run without the fault on a clip of HANG_AT frames (a fresh
 * worker imports OpenCV on its first request, so it is more than HANG_AT x FRAME_SECONDS). The
 * fixture hangs on every attempt; with POSEPIPE_MAX_ATTEMPTS=2 the job fails after the second
 * hang, which is measured too.
 *
 * Observed by polling the chunk row in the SQLite database (20 ms): started_ms of each attempt, and
 * finished_ms of attempt 1, written when the killed worker's exit is seen ("kill" below: a few ms
 * after the SIGKILL); tracker_loads gives the restart (spawn after the 0.5 s backoff, then load).
 * Expect hang→retry ≈ deadline + 0.5 s backoff + restart.
 * Usage: npx tsx bench/hang.ts [--heartbeats 2,5,10 --advances 2,5,10]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

const list = (name: string, fallback: number[]) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]!.split(',').map(Number) : fallback;
};
const heartbeats = list('heartbeats', [2, 5, 10]);
const advances = list('advances', [2, 5, 10]);
const HANG_AT = 4;
const FRAME_SECONDS = 0.5;

const cache = resolve('bench/out');
mkdirSync(cache, { recursive: true });
const video = join(cache, 'testsrc-4s-320x240.mp4');
if (!existsSync(video)) {
  console.log(`making ${video}…`);
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=4', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', video], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('ffmpeg failed to make the benchmark video');
}

const calibrationVideo = join(cache, `testsrc-${HANG_AT}f-320x240.mp4`);
if (!existsSync(calibrationVideo)) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', video, '-frames:v', String(HANG_AT), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', calibrationVideo], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('ffmpeg failed to make the calibration video');
}

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-hang-'));
// Nothing of the developer's own POSEPIPE_* settings but the interpreter: the deadlines are ours.
const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POSEPIPE_') || k === 'POSEPIPE_PYTHON'));
if (!baseEnv.POSEPIPE_PYTHON && !existsSync(resolve('python/.venv/bin/python'))) baseEnv.POSEPIPE_PYTHON = '/usr/bin/python3';

type Kind = 'heartbeat' | 'advance';
const KNOBS: Record<Kind, { fault: string; deadline: string }> = {
  heartbeat: { fault: 'POSEPIPE_TEST_FIXTURE_HANG_AT', deadline: 'POSEPIPE_HEARTBEAT_SECONDS' },
  advance: { fault: 'POSEPIPE_TEST_FIXTURE_STUCK_AT', deadline: 'POSEPIPE_ADVANCE_SECONDS' },
};

interface Attempt {
  startedMs: number;
  finishedMs?: number;
}
interface ChunkRow {
  attempts: number;
  started_ms: number | null;
  finished_ms: number | null;
  state: string;
  error_kind: string | null;
}

/** A fresh data folder's environment for the test-fixture backend with 0.5 s frames. */
function fixtureEnv(home: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...baseEnv,
    POSEPIPE_HOME: home,
    POSEPIPE_INBOX: join(home, 'inbox'),
    POSEPIPE_OUTBOX: join(home, 'outbox'),
    POSEPIPE_TRACKER: 'test-fixture',
    POSEPIPE_MAX_ATTEMPTS: '2',
    POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: String(FRAME_SECONDS),
    ...extra,
  };
}

/** Chunk start → the worker's HANG_AT-th frame pull: the same work without the fault, to its end. */
function calibrate(): number {
  const home = join(root, 'calibration');
  const r = spawnSync(process.execPath, ['bin/posepipe.js', 'run', calibrationVideo], { env: fixtureEnv(home, {}), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`calibration run exited ${r.status ?? r.signal}\n${r.stderr}`);
  const db = new Database(join(home, 'posepipe.db'), { readonly: true });
  const c = db.prepare('SELECT started_ms, finished_ms FROM chunks WHERE idx = 0').get() as { started_ms: number; finished_ms: number };
  db.close();
  rmSync(home, { recursive: true, force: true });
  return c.finished_ms - c.started_ms;
}

/** One `posepipe run` that hangs on both attempts; the chunk row is polled until it exits. */
async function measure(kind: Kind, deadlineSeconds: number, hangAfterStartMs: number) {
  const home = join(root, `${kind}-${deadlineSeconds}`);
  const env = fixtureEnv(home, { [KNOBS[kind].fault]: String(HANG_AT), [KNOBS[kind].deadline]: String(deadlineSeconds) });
  const t0 = performance.now();
  const child = spawn(process.execPath, ['bin/posepipe.js', 'run', video], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let retryLogMs: number | undefined; // when the pipeline's "— retrying" line reached us
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (retryLogMs === undefined && stderr.includes('— retrying')) retryLogMs = Date.now();
  });
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  let running = true;
  void exited.then(() => (running = false));

  const dbPath = join(home, 'posepipe.db');
  const attempts = new Map<number, Attempt>();
  let db: Database.Database | undefined;
  const observe = (row: ChunkRow | undefined) => {
    if (!row || row.attempts === 0 || row.started_ms === null) return;
    const a = attempts.get(row.attempts) ?? { startedMs: row.started_ms };
    if (row.finished_ms !== null) a.finishedMs = row.finished_ms;
    attempts.set(row.attempts, a);
  };
  const chunkRow = (d: Database.Database) => d.prepare('SELECT attempts, started_ms, finished_ms, state, error_kind FROM chunks WHERE idx = 0').get() as ChunkRow | undefined;
  while (running) {
    try {
      db ??= existsSync(dbPath) ? new Database(dbPath, { readonly: true, fileMustExist: true }) : undefined;
      if (db) observe(chunkRow(db));
    } catch {
      // the database is being created or migrated: try again on the next tick
    }
    await sleep(20);
  }
  db?.close();
  const code = await exited;
  const wallMs = performance.now() - t0;
  const final = new Database(dbPath, { readonly: true });
  const last = chunkRow(final);
  observe(last);
  const loads = final.prepare('SELECT started_ms, load_ms FROM tracker_loads ORDER BY id').all() as { started_ms: number; load_ms: number }[];
  final.close();

  const a1 = attempts.get(1);
  const a2 = attempts.get(2);
  const respawn = loads[1];
  if (code !== 1 || last?.state !== 'failed' || last.error_kind !== 'stall' || !a1?.finishedMs || !a2?.finishedMs || !respawn) {
    throw new Error(`${kind} ${deadlineSeconds} s: expected a stall on both attempts and exit 1; got exit ${code}, chunk ${JSON.stringify(last)}, attempts ${JSON.stringify([...attempts])}, ${loads.length} load(s)\n${stderr}\n(data folder kept in ${home})`);
  }
  rmSync(home, { recursive: true, force: true });
  const hang1 = a1.startedMs + hangAfterStartMs;
  return {
    hangToKill: a1.finishedMs - hang1,
    backoff: respawn.started_ms - a1.finishedMs,
    restart: a2.startedMs - respawn.started_ms,
    loadMs: respawn.load_ms,
    hangToRetry: a2.startedMs - hang1,
    secondHangToKill: a2.finishedMs - (a2.startedMs + hangAfterStartMs),
    logLag: retryLogMs === undefined ? undefined : retryLogMs - a1.finishedMs,
    wallMs,
  };
}

const s = (ms: number) => (ms / 1000).toFixed(2).padStart(7);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' / ');
console.log(`hang → retry latency: test-fixture backend, ${video.replace(`${resolve('.')}/`, '')}, hang at frame ${HANG_AT} with ${FRAME_SECONDS} s frames, POSEPIPE_MAX_ATTEMPTS=2`);
console.log(`machine: ${cpus().length} CPUs; load average (1/5/15 min) ${load()} at start`);
const started = performance.now();
const calibrations = [calibrate(), calibrate(), calibrate()].sort((a, b) => a - b);
const hangAfterStartMs = calibrations[1]!; // the median
console.log(`calibrated: the worker reaches frame ${HANG_AT} ${(hangAfterStartMs / 1000).toFixed(2)} s after the chunk's start (median of ${calibrations.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s: ${HANG_AT} x ${FRAME_SECONDS} s of frames + a fresh worker's first request, and the result's write)`);
for (const kind of ['heartbeat', 'advance'] as const) {
  const deadlines = kind === 'heartbeat' ? heartbeats : advances;
  console.log(`
${KNOBS[kind].fault}=${HANG_AT}, ${KNOBS[kind].deadline} = deadline (seconds)
deadline  hang→kill  backoff  restart (load)  hang→retry  over deadline+0.5  2nd hang→kill  log lag   run wall`);
  for (const deadline of deadlines) {
    const m = await measure(kind, deadline, hangAfterStartMs);
    const over = m.hangToRetry - deadline * 1000 - 500;
    console.log(
      `${String(deadline).padStart(6)} s  ${s(m.hangToKill)} s  ${s(m.backoff)} s  ${s(m.restart)} s (${(m.loadMs / 1000).toFixed(2)})  ${s(m.hangToRetry)} s  ${s(over)} s          ${s(m.secondHangToKill)} s      ${m.logLag === undefined ? '    –' : `${m.logLag} ms`.padStart(6)}  ${s(m.wallMs)} s`,
    );
  }
}
console.log(`
hang = the chunk's start + the calibrated time to frame ${HANG_AT} (the last progress event); kill = the chunk recorded failed after the
killed worker exited; backoff = kill → worker respawn; restart = respawn → retry's chunk start (load = the backend's own load time);
log lag = the "— retrying" line on posepipe's stderr, after the kill as recorded.
load average at end ${load()}; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
rmSync(root, { recursive: true, force: true });
