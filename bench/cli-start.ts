/**
 * CLI start-up benchmark: the wall time of a short command, from spawning `node bin/posepipe.js` to
 * its exit, over N runs each, against a real home holding a few finished jobs (made first with
 * `posepipe run` and the test-fixture backend on small generated clips). The figure people feel is
 * the median of `posepipe status`; the goal is at most 0.3 s. `node -e 0` is printed beside it: the
 * floor any Node command pays.
 *
 * The launcher runs the build (dist/) only while it is newer than every source file, else compiles
 * the sources through tsx: the build is made first when it is missing or stale, and the figures say
 * which one ran.
 * Usage: npx tsx bench/cli-start.ts [--runs 15] [--jobs 3]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from './lib.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 15);
const JOBS = arg('jobs', 3);
const GOAL_S = 0.3;
const BIN = resolve('bin/posepipe.js');

/** The newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  let ms = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    ms = Math.max(ms, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return ms;
}

const built = () => existsSync('dist/BUILT') && statSync('dist/BUILT').mtimeMs > newest('src');
if (!built()) {
  console.log('dist/ is missing or older than src/: building it (node bin/build.js)…');
  const b = spawnSync(process.execPath, ['bin/build.js'], { stdio: 'inherit' });
  if (b.status !== 0) throw new Error('the build failed');
}
const runsFrom = built() ? 'dist/ (the build)' : 'src/ through tsx';

const cache = resolve('bench/out');
mkdirSync(cache, { recursive: true });
const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-cli-'));
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POSEPIPE_') || k === 'POSEPIPE_PYTHON')),
  POSEPIPE_HOME: join(root, 'home'),
  POSEPIPE_INBOX: join(root, 'inbox'),
  POSEPIPE_OUTBOX: join(root, 'outbox'),
  POSEPIPE_TRACKER: 'test-fixture',
  POSEPIPE_PREVIEW_SIZE: '0',
  POSEPIPE_CHUNK_SECONDS: '1',
};
if (!env.POSEPIPE_PYTHON && !existsSync(resolve('python/.venv/bin/python'))) env.POSEPIPE_PYTHON = '/usr/bin/python3';

try {
  // A few real jobs, each its own content (a different test pattern and length), so `status` has rows, stages and chunks to read.
  const patterns = ['testsrc', 'testsrc2', 'smptebars', 'rgbtestsrc', 'mandelbrot'];
  for (let i = 0; i < JOBS; i++) {
    const video = join(cache, `cli-${patterns[i % patterns.length]}-${2 + i}s.mp4`);
    if (!existsSync(video)) {
      const f = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `${patterns[i % patterns.length]}=size=160x120:rate=10:duration=${2 + i}`, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', video], { stdio: 'inherit' });
      if (f.status !== 0) throw new Error('ffmpeg failed to make a benchmark clip');
    }
    const r = spawnSync(process.execPath, [BIN, 'run', video], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`posepipe run ${video} exited ${r.status}: ${r.stderr}`);
  }

  // CPU seconds too (user + system, from GNU time where installed): unlike wall time, they hardly move when the machine is busy.
  const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const time = (argv: string[]): { median: number; p90: number; min: number; cpu: number } => {
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const start = performance.now();
      const r = gnuTime
        ? spawnSync(gnuTime, ['-f', 'cpu %U %S', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
        : spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      const s = (performance.now() - start) / 1000;
      if (r.status !== 0) throw new Error(`${argv.slice(1).join(' ')} exited ${r.status}: ${r.stderr}`);
      if (i === 0) continue; // the first run warms the file cache
      times.push(s);
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
      if (m) cpu.push(Number(m[1]) + Number(m[2]));
    }
    return { median: percentile(times, 50), p90: percentile(times, 90), min: Math.min(...times), cpu: percentile(cpu, 50) };
  };

  console.log(`posepipe CLI start-up: ${RUNS} runs each (after one warm-up), ${JOBS} finished jobs in the home; posepipe runs from ${runsFrom}`);
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}\n`);
  const rows: [string, string[]][] = [
    ['node -e 0 (the floor)', [process.execPath, '-e', '0']],
    ['posepipe --version', [process.execPath, BIN, '--version']],
    ['posepipe status', [process.execPath, BIN, 'status']],
    ['posepipe status --json', [process.execPath, BIN, 'status', '--json']],
    ['posepipe status 1', [process.execPath, BIN, 'status', '1']],
  ];
  console.log('command                     median    p90       min       CPU (median)');
  let statusMedian = NaN;
  for (const [label, argv] of rows) {
    const t = time(argv);
    if (label === 'posepipe status') statusMedian = t.median;
    console.log(`${label.padEnd(26)} ${t.median.toFixed(3)} s  ${t.p90.toFixed(3)} s  ${t.min.toFixed(3)} s  ${Number.isNaN(t.cpu) ? '-' : `${t.cpu.toFixed(2)} s`}`);
  }
  console.log(`\nposepipe status: median ${statusMedian.toFixed(3)} s wall (goal ≤ ${GOAL_S} s): ${statusMedian <= GOAL_S ? 'met' : 'NOT met'}`);
  process.exitCode = statusMedian <= GOAL_S ? 0 : 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
