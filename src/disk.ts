/**
 * Free-space checks before the stages that write large files, and clear `disk` errors when a
 * write runs out of space anyway (another program filled the disk, or an estimate was low).
 */
import { statfs } from 'node:fs/promises';
import { CONFIG_SPEC } from './config.ts';
import { PipelineError } from './errors.ts';

/** The free space kept when a stage is given no minFreeMb (the configuration's default, checked by a test). */
export const DEFAULT_MIN_FREE_MB = 256;

const MIB = 1024 * 1024;

/** A `disk` failure whose message already names the folder, the need and the free space. */
export class DiskSpaceError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('disk', message, options);
    this.name = 'DiskSpaceError';
  }
}

/** 1536 → "1.5 KB", 1288490188 → "1.2 GB": binary units, one decimal below 10. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Bytes an unprivileged process may still write on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** What a stage is about to write, for checkFreeSpace. */
export interface SpaceNeed {
  /** An existing folder on the filesystem that receives the files; named in the message. */
  dir: string;
  /** What is being done, for the message: `staging "clip.mp4"`. */
  what: string;
  /** Bytes the stage will write (an estimate where it cannot be known). */
  bytes: number;
  /** Free space (MiB) that must remain afterwards; default DEFAULT_MIN_FREE_MB. */
  minFreeMb?: number;
}

/**
 * Fail with a `disk` error, before writing anything, when `dir`'s filesystem has less than
 * `bytes` plus the configured margin free: better than filling the disk the database lives on.
 */
export async function checkFreeSpace(need: SpaceNeed): Promise<void> {
  const marginMb = need.minFreeMb ?? DEFAULT_MIN_FREE_MB;
  const required = need.bytes + marginMb * MIB;
  const available = await freeBytes(need.dir);
  if (available >= required) return;
  const margin = marginMb > 0 ? ` (${formatBytes(need.bytes)} + ${marginMb} MB kept free, ${CONFIG_SPEC.minFreeMb.env})` : '';
  throw new DiskSpaceError(
    `Not enough disk space in ${need.dir}: ${need.what} needs ${formatBytes(required)}${margin}, ${formatBytes(available)} free; free some space, then resume the job`,
  );
}

/**
 * A write that failed for lack of space (ENOSPC, or EDQUOT: over quota) as a `disk` error naming
 * the folder and what was being written (also ffmpeg's `disk` errors); anything else is returned unchanged.
 */
export async function diskFullError(error: unknown, dir: string, what: string): Promise<unknown> {
  if (error instanceof DiskSpaceError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const full = code === 'ENOSPC' || code === 'EDQUOT' || (error instanceof PipelineError && error.kind === 'disk');
  if (!full) return error;
  const available = await freeBytes(dir).then(formatBytes, () => 'unknown');
  const why = code === 'EDQUOT' ? 'the disk quota is exceeded' : 'the disk is full';
  return new DiskSpaceError(`Not enough disk space in ${dir}: ${what} failed, ${why} (${available} free); free some space, then resume the job`, { cause: error });
}
