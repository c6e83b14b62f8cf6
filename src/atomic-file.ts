import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The temp-name pattern of writeFileAtomic (groups: final name, pid): hidden, so watchers and users skip it. */
export const ATOMIC_TEMP = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Make `file` whole or not at all: `write` fills a hidden temp name in the same folder, which is
 * flushed, renamed into place, then the folder flushed so the rename itself survives a power cut.
 * On any error (in `write` too) the temp file is removed and the error passed on.
 */
async function replaceAtomically(file: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx');
    try {
      await write(handle);
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

/** Write `data` to `file` as a whole or not at all (see replaceAtomically). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await replaceAtomically(file, (handle) => handle.writeFile(data));
}

/** Text gathered before one write: few syscalls, and a bounded buffer whatever the file's size. */
const WRITE_BUFFER = 1 << 20;

/**
 * writeFileAtomic for content given piece by piece (a document too large to be one string): the
 * pieces are gathered into writes of about 1 MiB. Returns the size and sha256 of what was written;
 * `written.bytes` follows the writes (so a failure can say how far it got).
 */
export async function writeStreamAtomic(file: string, pieces: AsyncIterable<string>, written = { bytes: 0 }): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  await replaceAtomically(file, async (handle) => {
    let pending: string[] = [];
    let pendingLength = 0;
    const flush = async () => {
      const data = Buffer.from(pending.join(''), 'utf8');
      pending = [];
      pendingLength = 0;
      hash.update(data);
      // writeFile writes it all, from the current position (write() may stop short).
      await handle.writeFile(data);
      written.bytes += data.length;
    };
    for await (const piece of pieces) {
      pending.push(piece);
      pendingLength += piece.length;
      if (pendingLength >= WRITE_BUFFER) await flush();
    }
    await flush();
  });
  return { bytes: written.bytes, sha256: hash.digest('hex') };
}

/** writeFileAtomic for bytes given piece by piece (a zip made from files on disk): each piece written as it comes. */
export async function writeBytesAtomic(file: string, pieces: AsyncIterable<Uint8Array>): Promise<void> {
  await replaceAtomically(file, async (handle) => {
    for await (const piece of pieces) await handle.writeFile(piece);
  });
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
