import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** What a file must be: any of its size and hashes that the manifest (or the server) knows. */
export interface FileExpectation {
  size?: number;
  sha256?: string;
  sha256Prefix?: string;
  md5Prefix?: string;
}

type Algorithm = 'sha256' | 'md5';

/**
 * The hex digests of a file, read once in 1 MiB pieces for all `algorithms` together: model files
 * run to gigabytes, and a second read of one would double the time a check takes.
 */
async function hashFile(path: string, algorithms: readonly Algorithm[]): Promise<Partial<Record<Algorithm, string>>> {
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) for (const [, h] of hashes) h.update(chunk as Buffer);
  return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
}

/** Whether a file with these expectations can be judged on its own, without asking the server for its size. */
export function hasOwnChecks(expected: FileExpectation): boolean {
  return expected.size !== undefined || expected.sha256 !== undefined || expected.sha256Prefix !== undefined || expected.md5Prefix !== undefined;
}

/**
 * Why `path` is not the expected file (`size mismatch: expected 10 bytes, got 7`), or undefined
 * when every known check passes. Size first: it is free, and a wrong size needs no hashing.
 * A missing file is a problem too ("missing"), not an exception.
 */
export async function fileProblem(path: string, expected: FileExpectation): Promise<string | undefined> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return 'missing';
  if (!info.isFile()) return 'not a regular file';
  if (expected.size !== undefined && info.size !== expected.size) return `size mismatch: expected ${expected.size} bytes, got ${info.size}`;
  const algorithms: Algorithm[] = [];
  if (expected.sha256 !== undefined || expected.sha256Prefix !== undefined) algorithms.push('sha256');
  if (expected.md5Prefix !== undefined) algorithms.push('md5');
  if (algorithms.length === 0) return undefined;
  const { sha256, md5 } = await hashFile(path, algorithms);
  if (expected.sha256 !== undefined && sha256 !== expected.sha256) return `sha256 mismatch: expected ${expected.sha256}, got ${sha256}`;
  if (expected.sha256Prefix !== undefined && !sha256!.startsWith(expected.sha256Prefix)) return `sha256 mismatch: expected a hash starting ${expected.sha256Prefix}, got ${sha256}`;
  if (expected.md5Prefix !== undefined && !md5!.startsWith(expected.md5Prefix)) return `md5 mismatch: expected a hash starting ${expected.md5Prefix}, got ${md5}`;
  return undefined;
}
