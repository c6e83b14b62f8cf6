import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { checkFreeSpace, diskFullError } from '../disk.ts';
import { InputError } from '../errors.ts';

/** What the stage stage leaves in the job folder. */
export interface StageOutput {
  /** Internal name relative to the job folder, e.g. "source.mov": the tracker never sees user names. */
  file: string;
  bytes: number;
  sha256: string;
}

const SAFE_EXT = /^\.[a-z0-9]{1,5}$/;

/**
 * Copy the user's file into the job folder under an internal name (on the Linux filesystem,
 * off a Windows drive under WSL): temp name, hash while copying, verify, rename.
 */
export async function stage(ctx: {
  jobDir: string;
  /** The user's file; a Buffer when its path is not valid UTF-8 (fs reads it by its real bytes). */
  sourcePath: string | Buffer;
  displayName: string;
  sha256: string;
  /** Free space (MiB) to keep on the job folder's filesystem after the copy; default DEFAULT_MIN_FREE_MB. */
  minFreeMb?: number;
}): Promise<StageOutput> {
  mkdirSync(ctx.jobDir, { recursive: true });
  const ext = extname(ctx.displayName).toLowerCase();
  const file = `source${SAFE_EXT.test(ext) ? ext : '.bin'}`;
  const tmp = join(ctx.jobDir, `.${file}.tmp-${process.pid}`);
  const hash = createHash('sha256');
  const what = `staging "${ctx.displayName}"`;
  let bytes = 0;
  try {
    const st = statSync(ctx.sourcePath);
    if (!st.isFile()) throw new InputError(`Cannot stage "${ctx.displayName}": it is not a regular file`);
    await checkFreeSpace({ dir: ctx.jobDir, what, bytes: st.size, minFreeMb: ctx.minFreeMb });
    await pipeline(
      createReadStream(ctx.sourcePath),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
      createWriteStream(tmp, { flush: true }),
    );
  } catch (error) {
    rmSync(tmp, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`Cannot stage "${ctx.displayName}": the file was removed from the inbox before it could be copied`);
    }
    throw await diskFullError(error, ctx.jobDir, what);
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== ctx.sha256) {
    rmSync(tmp, { force: true });
    throw new InputError(`Cannot stage "${ctx.displayName}": its content changed after it was picked up; the new content becomes a job of its own`);
  }
  renameSync(tmp, join(ctx.jobDir, file));
  return { file, bytes, sha256 };
}

/** sha256 of a file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
