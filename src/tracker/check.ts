import { spawn } from 'node:child_process';
import { DEFAULT_WORKER_SCRIPT } from './options.ts';

/** One line of the worker's `--check` report. */
export interface WorkerCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** What `posepipe doctor` learns from the worker: whether the interpreter runs, and each import. */
export interface WorkerCheckReport {
  interpreter: { ok: boolean; detail: string };
  checks: WorkerCheck[];
}

/**
 * Run `<python> posepipe_worker.py --check --backend NAME` (argument array, no shell) and read
 * its one JSON line: every import and the backend's load, checked before any job runs.
 */
export function checkWorker(opts: { python: string; backend: string; script?: string; timeoutMs?: number }): Promise<WorkerCheckReport> {
  return new Promise((resolve) => {
    const child = spawn(opts.python, [opts.script ?? DEFAULT_WORKER_SCRIPT, '--check', '--backend', opts.backend], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ interpreter: { ok: false, detail: `cannot run ${opts.python}: ${error.message}` }, checks: [] });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let report: { ok: boolean; checks: WorkerCheck[] } | undefined;
      try {
        report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
      } catch {
        report = undefined;
      }
      if (!report || !Array.isArray(report.checks)) {
        const last = stderr.trim().split('\n').at(-1) ?? '';
        resolve({ interpreter: { ok: false, detail: `${opts.python} --check ${signal ? `was killed by ${signal}` : `exited ${code}`} without a report${last ? `: ${last}` : ''}` }, checks: [] });
        return;
      }
      const python = report.checks.find((c) => c.name === 'python');
      resolve({ interpreter: { ok: python?.ok ?? true, detail: `${opts.python} (Python ${python?.detail ?? '?'})` }, checks: report.checks.filter((c) => c.name !== 'python') });
    });
  });
}
