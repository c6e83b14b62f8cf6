import { spawn } from 'node:child_process';
import { detectorCommand } from '../detector/command.ts';
import { DEFAULT_WORKER_SCRIPT } from './options.ts';

/** A finished one-shot run of the worker script (`--check`, `--models`). */
export interface WorkerRun {
  /** The interpreter could not be started at all (no such file, not executable). */
  spawnError?: Error;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `<python> posepipe_worker.py ARGS` once and collect its output (argument array, no shell);
 * killed after `timeoutMs`. The one-shot modes answer with one JSON line on stdout.
 */
export function runWorkerOnce(opts: { python: string; args: readonly string[]; script?: string; timeoutMs?: number }): Promise<WorkerRun> {
  return new Promise((resolve) => {
    const child = spawn(opts.python, [opts.script ?? DEFAULT_WORKER_SCRIPT, ...opts.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // --check loads the backend: builtin's loads its detector helper, as a tracking worker does.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', POSEPIPE_DETECTOR_COMMAND: JSON.stringify(detectorCommand()) },
    });
    let stdout = '';
    let stderr = '';
    let spawnError: Error | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => (spawnError = error));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ spawnError, code, signal, stdout, stderr });
    });
  });
}

/** The last line of a run's stdout (its JSON answer), and of its stderr (the reason it gave none). */
export function lastLines(run: WorkerRun): { out: string; err: string } {
  return { out: run.stdout.trim().split('\n').at(-1) ?? '', err: run.stderr.trim().split('\n').at(-1) ?? '' };
}
