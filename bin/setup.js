#!/usr/bin/env node
// `npm run setup`: everything posepipe needs on a fresh Debian/Ubuntu (or WSL) machine, checked
// one step at a time; where something is missing it says exactly what to install.
// Plain JavaScript with no dependencies: it runs before the npm packages exist.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, 'python', '.venv');
const venvPython = join(venv, 'bin', 'python');
const problems = [];

function step(title) {
  console.log(`\n== ${title}`);
}
function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
}
function fail(message, fix) {
  console.log(`FAIL ${message}\n     fix: ${fix}`);
  problems.push(`${message} — ${fix}`);
}

step('Node.js');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node.js ${process.versions.node} is too old`, 'install Node.js 20.19 or newer');
else console.log(`ok   node ${process.versions.node}`);

step('npm packages');
const npmCli = process.env.npm_execpath;
const npm = npmCli ? run(process.execPath, [npmCli, 'install', '--no-audit', '--no-fund'], { stdio: 'inherit' }) : run('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
if (npm.status !== 0) fail('npm install failed (see above)', 'better-sqlite3 compiles with node-gyp: sudo apt-get install build-essential python3');
else console.log('ok   npm packages installed');

step('ffmpeg and ffprobe');
for (const [tool, env] of [['ffmpeg', 'FFMPEG_PATH'], ['ffprobe', 'FFPROBE_PATH']]) {
  const r = run(process.env[env] || tool, ['-version']);
  if (r.status === 0) console.log(`ok   ${r.stdout.split('\n')[0]}`);
  else fail(`${tool} not found`, `sudo apt-get install ffmpeg (or set ${env})`);
}

step('Python virtual environment (python/.venv)');
const basePython = process.env.POSEPIPE_BASE_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
if (!existsSync(venvPython)) {
  // --system-site-packages: Debian's python3-numpy and python3-opencv work without a package index.
  const r = run(basePython, ['-m', 'venv', '--system-site-packages', venv]);
  if (r.status !== 0) fail(`cannot make a venv with ${basePython}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`, 'sudo apt-get install python3-venv');
  else console.log(`ok   made ${venv} from ${basePython}`);
} else console.log(`ok   ${venv} exists`);

if (existsSync(venvPython)) {
  step('Python packages (python/requirements.txt)');
  const index = process.env.PIP_INDEX_URL || 'https://pypi.org/simple/';
  let reachable = false;
  try {
    const res = await fetch(new URL('pip/', index.endsWith('/') ? index : `${index}/`), { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    reachable = res.ok;
  } catch {
    reachable = false;
  }
  if (reachable) {
    const r = run(venvPython, ['-m', 'pip', 'install', '-r', join(root, 'python', 'requirements.txt')], { stdio: 'inherit' });
    if (r.status !== 0) fail('pip install -r python/requirements.txt failed (see above)', 'fix the error above, or install python3-numpy and python3-opencv from your distribution');
    else console.log('ok   requirements installed');
  } else {
    console.log(`skip no package index reachable at ${index}: using the system's packages (Debian: python3-numpy, python3-opencv)`);
  }

  step('Tracker worker imports');
  // builtin's check loads its person detector, a helper in this Node (the build's dist/detect-serve.js,
  // made by npm's prepare step above), as posepipe hands it to every worker.
  const detector = JSON.stringify([process.execPath, join(root, 'dist', 'detect-serve.js')]);
  const r = run(venvPython, [join(root, 'python', 'posepipe_worker.py'), '--check', '--backend', process.env.POSEPIPE_TRACKER || 'builtin'], { env: { ...process.env, POSEPIPE_DETECTOR_COMMAND: detector } });
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    report = undefined;
  }
  if (!report) fail(`the worker check did not run: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`, 'see the error above');
  else {
    for (const c of report.checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (!report.ok) fail('the tracker worker cannot load (see the FAIL lines above)', 'for a missing module: sudo apt-get install python3-numpy python3-opencv (or pip install -r python/requirements.txt inside python/.venv); for the person detector: npm install');
  }
}

console.log('');
if (problems.length) {
  console.log(`Setup is not complete (${problems.length} problem${problems.length > 1 ? 's' : ''}):`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log('Setup complete. Start posepipe with: npm start   (drop videos into inbox/, results appear in outbox/)');
