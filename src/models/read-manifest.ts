import { spawn } from 'node:child_process';
import { DEFAULT_WORKER_SCRIPT } from '../tracker/index.ts';
import { ManifestError, parseManifest, type ModelManifest } from './manifest.ts';

/**
 * Ask the worker which files a backend needs: `<python> posepipe_worker.py --models --backend NAME`
 * (argument array, no shell), one JSON line on stdout. Python owns the paths; a failure throws
 * ManifestError with the worker's last stderr line.
 */
export function readManifest(opts: { python: string; backend: string; script?: string; timeoutMs?: number }): Promise<ModelManifest> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.python, [opts.script ?? DEFAULT_WORKER_SCRIPT, '--models', '--backend', opts.backend], {
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
      reject(new ManifestError(`cannot run ${opts.python}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') {
        const last = stderr.trim().split('\n').at(-1) ?? '';
        const how = signal ? `was killed by ${signal}` : `exited ${code}`;
        reject(new ManifestError(`${opts.python} posepipe_worker.py --models --backend ${opts.backend} ${how}${line === '' ? ' without a manifest' : ''}${last ? `: ${last}` : ''}`));
        return;
      }
      try {
        resolve(parseManifest(line));
      } catch (error) {
        reject(error);
      }
    });
  });
}
