import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** What a file must be: any of its size and hashes that the manifest (or the server) knows. */
export interface FileExpectation {
  size?: number;
  sha256?: string;
  sha256Prefix?: string;
}

/** The SHA-256 of a file as lower-case hex, read in 1 MiB pieces (model files run to gigabytes). */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
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
  if (expected.sha256 === undefined && expected.sha256Prefix === undefined) return undefined;
  const actual = await sha256File(path);
  if (expected.sha256 !== undefined && actual !== expected.sha256) return `sha256 mismatch: expected ${expected.sha256}, got ${actual}`;
  if (expected.sha256Prefix !== undefined && !actual.startsWith(expected.sha256Prefix)) return `sha256 mismatch: expected a hash starting ${expected.sha256Prefix}, got ${actual}`;
  return undefined;
}
