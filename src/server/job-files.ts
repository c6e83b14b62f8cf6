/**
 * Opening a job's files for the page (chunk logs, thumbnails) so that nothing outside the job's
 * folder can be served: the path must stay inside it as written and once every symlink is
 * resolved, and the last component is opened without following a link and must be a regular
 * file (a FIFO or device planted there is refused too, without blocking on it).
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { HTTPException } from 'hono/http-exception';

/** An open regular file and its size. */
export interface OpenedFile {
  handle: FileHandle;
  size: number;
}

const inside = (dir: string, path: string): boolean => {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
};

const missing = (error: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

/** Open a regular file `path` (relative to `dir`, or absolute) only if it lies inside `dir`; `what` names it in a 404. */
export async function openInside(dir: string, path: string, what: string): Promise<OpenedFile> {
  const full = resolve(dir, path);
  if (!inside(dir, full)) throw new HTTPException(403, { message: `${what} is outside its job folder` });
  let realDir: string;
  let real: string;
  try {
    realDir = await realpath(dir);
    real = await realpath(full);
  } catch (error) {
    if (missing(error)) throw new HTTPException(404, { message: `${what} does not exist (yet)` });
    throw error;
  }
  if (!inside(realDir, real)) throw new HTTPException(403, { message: `${what} leads outside its job folder` });
  return openRegular(real, what);
}

/** Open a regular file without following a symlink in its last component and without blocking on a FIFO. */
export async function openRegular(path: string, what: string): Promise<OpenedFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (missing(error)) throw new HTTPException(404, { message: `${what} does not exist (yet)` });
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new HTTPException(403, { message: `${what} is a symbolic link; it is not served` });
    throw error;
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new HTTPException(403, { message: `${what} is not a regular file; it is not served` });
  }
  return { handle, size: info.size };
}
