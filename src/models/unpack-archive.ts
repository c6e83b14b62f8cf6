import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';

function runTar(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => reject(new Error(`cannot run tar: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const last = stderr.trim().split('\n').at(-1) ?? '';
      reject(new Error(`tar ${signal ? `was killed by ${signal}` : `exited ${code}`}${last ? `: ${last}` : ''}`));
    });
  });
}

/** Extract the .tar.gz `archive` into `into` with tar (an argument array, never a shell); the archive is kept. */
export async function extractArchive(archive: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  // Both paths are absolute (the manifest insists), so neither can be read as a tar option.
  // --no-same-owner: under root, tar would otherwise hand the files to the archive's uid.
  await runTar(['-xzf', archive, '-C', into, '--no-same-owner']);
}

/** Throw, naming the first missing one, unless every path an archive provides exists after extraction. */
export function checkProvided(into: string, provides: readonly string[]): void {
  const missing = provides.find((p) => !existsSync(p));
  if (missing !== undefined) throw new Error(`the archive was extracted into ${into}, but ${missing} is not in it`);
}

/** Whether every path an unpack entry provides exists already. */
export function allProvided(provides: readonly string[]): boolean {
  return provides.every((p) => existsSync(p));
}
