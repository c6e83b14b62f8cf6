import { extname } from 'node:path';

/** File extensions (lower case, with the dot) that posepipe treats as videos. */
export const VIDEO_EXTENSIONS: readonly string[] = Object.freeze([
  '.mp4', '.mov', '.m4v', '.mkv', '.avi', '.webm', '.mts', '.m2ts', '.ts',
  '.mpg', '.mpeg', '.wmv', '.flv', '.3gp', '.ogv', '.mxf', '.dv',
]);

/** The inbox's subfolder that files of finished jobs are moved into (afterDone: move); never watched. */
export const DONE_FOLDER = 'done';

// Names that browsers, sync tools and copy programs give a file while it is still being written.
// Their final name arrives by rename, which the watcher sees as a new file.
const TEMPORARY_SUFFIXES = ['.part', '.partial', '.crdownload', '.download', '.tmp', '.filepart', '.!ut'];

/** Hidden (leading '.') or a temporary name of a file still being written: never a job. */
export function isHiddenOrTemporaryName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('~$') || name.endsWith('~')) return true;
  const lower = name.toLowerCase();
  return TEMPORARY_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/** A name the watcher considers at all: a video extension, not hidden, not temporary. */
export function isVideoName(name: string): boolean {
  if (isHiddenOrTemporaryName(name)) return false;
  return VIDEO_EXTENSIONS.includes(extname(name).toLowerCase());
}
