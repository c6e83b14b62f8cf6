import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';

/**
 * What identifies one version of a file for readiness: the same inode with the same size and
 * mtime. A new inode at the same path (deleted and dropped again) is a new version.
 */
export function versionKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** lstat that answers undefined for a path that is gone (ENOENT, or a parent that is no longer a folder). */
export async function lstatIfPresent(path: string | Buffer): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** True for errors that mean "the file is no longer there". */
export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** What a non-regular inbox entry is, in words for a warning. */
export function describeKind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The content hash of one file version, and the version it was taken from. */
export interface HashResult {
  sha256: string;
  key: string;
}

/**
 * Stream the file through sha256. Opened with O_NOFOLLOW | O_NONBLOCK and checked with fstat
 * before reading, so a path swapped for a symlink or FIFO after the last lstat is never followed
 * and never blocks; such a file throws. Returns undefined if the file disappeared.
 */
export async function hashFile(path: string | Buffer, signal: AbortSignal): Promise<HashResult | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`"${path.toString()}" is ${describeKind(st)}, not a regular file`);
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      if (signal.aborted) return undefined;
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), key: versionKey(st) };
  } finally {
    await handle.close();
  }
}

/** A counting limiter: at most `size` holders at once, the rest wait in order. */
export class Slots {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((grant) => this.#waiters.push(grant));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#free += 1;
  }
}
