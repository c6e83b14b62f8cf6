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
  // A folder that cannot be opened for syncing (some network shares) is not an error.
  const folder = await open(dir, 'r').catch(() => undefined);
  await folder?.sync().catch(() => undefined);
  await folder?.close();
}
