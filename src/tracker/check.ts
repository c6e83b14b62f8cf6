import { lastLines, runWorkerOnce } from './run-once.ts';

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
export async function checkWorker(opts: { python: string; backend: string; script?: string; timeoutMs?: number }): Promise<WorkerCheckReport> {
  const run = await runWorkerOnce({ python: opts.python, args: ['--check', '--backend', opts.backend], script: opts.script, timeoutMs: opts.timeoutMs });
  if (run.spawnError) return { interpreter: { ok: false, detail: `cannot run ${opts.python}: ${run.spawnError.message}` }, checks: [] };
  const { out, err } = lastLines(run);
  let report: { ok: boolean; checks: WorkerCheck[] } | undefined;
  try {
    report = JSON.parse(out);
  } catch {
    report = undefined;
  }
  if (!report || !Array.isArray(report.checks)) {
    return { interpreter: { ok: false, detail: `${opts.python} --check ${run.signal ? `was killed by ${run.signal}` : `exited ${run.code}`} without a report${err ? `: ${err}` : ''}` }, checks: [] };
  }
  const python = report.checks.find((c) => c.name === 'python');
  return { interpreter: { ok: python?.ok ?? true, detail: `${opts.python} (Python ${python?.detail ?? '?'})` }, checks: report.checks.filter((c) => c.name !== 'python') };
}
