import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The temp-name pattern of writeFileAtomic (groups: final name, pid): hidden, so watchers and users skip it. */
export const ATOMIC_TEMP = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Write `data` to `file` as a whole or not at all: a hidden temp name in the same folder, flushed,
 * renamed into place, then the folder flushed so the rename itself survives a power cut.
 * On any error the temp file is removed and the error passed on.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncFolder(dir);
}

/**
 * Put a finished file (a download's `.part`) in place as a whole: flush it, rename it over `to`,
 * flush the folder. A power cut leaves the old file or the new one, never half of one.
 */
export async function renameDurably(from: string, to: string): Promise<void> {
  const handle = await open(from, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(from, to);
  await syncFolder(dirname(to));
}

/** Flush a folder, so a rename in it survives a power cut; one that cannot be opened (some network shares) is not an error. */
async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, 'r').catch(() => undefined);
  await folder?.sync().catch(() => undefined);
  await folder?.close();
}
