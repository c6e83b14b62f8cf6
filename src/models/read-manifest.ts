import { lastLines, runWorkerOnce } from '../tracker/index.ts';
import { ManifestError, parseManifest, type ModelManifest } from './manifest.ts';

/**
 * Ask the worker which files a backend needs: `<python> posepipe_worker.py --models --backend NAME`
 * (argument array, no shell), one JSON line on stdout. Python owns the paths; a failure throws
 * ManifestError with the worker's last stderr line.
 */
export async function readManifest(opts: { python: string; backend: string; script?: string; timeoutMs?: number }): Promise<ModelManifest> {
  const run = await runWorkerOnce({ python: opts.python, args: ['--models', '--backend', opts.backend], script: opts.script, timeoutMs: opts.timeoutMs });
  if (run.spawnError) throw new ManifestError(`cannot run ${opts.python}: ${run.spawnError.message}`);
  const { out, err } = lastLines(run);
  if (run.code !== 0 || out === '') {
    const how = run.signal ? `was killed by ${run.signal}` : `exited ${run.code}`;
    throw new ManifestError(`${opts.python} posepipe_worker.py --models --backend ${opts.backend} ${how}${out === '' ? ' without a manifest' : ''}${err ? `: ${err}` : ''}`);
  }
  return parseManifest(out);
}
