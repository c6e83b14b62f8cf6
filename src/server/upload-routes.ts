/**
 * Upload from the page (issue 12): `POST /api/upload?name=<file name>` with the video as the raw
 * body. It streams into the inbox under a hidden temporary name (which the watcher ignores), is
 * flushed, then takes its final name without replacing anything (`clip (2).mp4` when `clip.mp4` is
 * there), so the watcher only ever sees a complete file. At most uploadMaxMb; the guard's Host and
 * cross-site checks apply as to every other action.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, rm, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isHiddenOrTemporaryName, isVideoName } from '../watcher/index.ts';
import type { AppDeps, ServerEnv } from './deps.ts';

class TooLarge extends Error {}

/** The name an upload asks for, as a plain file name in the inbox; a 400 or 415 says why not. */
function uploadName(raw: string | undefined): string {
  // Browsers send the bare name; anything before a slash or backslash is a path, not ours to follow.
  const name = (raw ?? '').split(/[\\/]/).pop() ?? '';
  if (name === '' || name === '.' || name === '..' || name.includes('\0') || Buffer.byteLength(name) > 240) {
    throw new HTTPException(400, { message: `An upload needs a file name (?name=clip.mp4), not ${JSON.stringify((raw ?? '').slice(0, 80))}` });
  }
  if (isHiddenOrTemporaryName(name)) throw new HTTPException(400, { message: `"${name}" looks hidden or temporary: the inbox would ignore it; rename it first` });
  if (!isVideoName(name)) throw new HTTPException(415, { message: `"${name}" does not have a video file extension (.mp4, .mov, .mkv, …)` });
  return name;
}

/** Link `temp` to the first free name of `name`, `name (2)`, `name (3)`, … in `dir`; never replaces a file. */
async function linkFree(temp: string, dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 1; n < 10_000; n++) {
    const candidate = n === 1 ? name : `${stem} (${n})${ext}`;
    try {
      await link(temp, join(dir, candidate));
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new HTTPException(409, { message: `Too many files named like "${name}" in the inbox` });
}

export function registerUploadRoutes(app: Hono<ServerEnv>, deps: AppDeps): void {
  app.post('/api/upload', async (c) => {
    const limit = deps.config.uploadMaxMb * 1024 * 1024;
    if (limit === 0) throw new HTTPException(403, { message: 'Uploads are off (uploadMaxMb is 0): drop videos into the inbox folder' });
    const name = uploadName(c.req.query('name'));
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > limit) throw new HTTPException(413, { message: `"${name}" is ${declared} bytes; uploads may be at most ${deps.config.uploadMaxMb} MiB (uploadMaxMb)` });
    const body = c.req.raw.body;
    if (!body) throw new HTTPException(400, { message: 'An upload needs the video as its body' });
    const inbox = deps.config.inbox;
    await mkdir(inbox, { recursive: true });
    // Hidden and ending in .part: the watcher never takes it for a video.
    const temp = join(inbox, `.posepipe-upload-${process.pid}-${randomBytes(6).toString('hex')}.part`);
    let bytes = 0;
    try {
      await pipeline(
        Readable.fromWeb(body as import('node:stream/web').ReadableStream),
        new Transform({
          transform(piece: Buffer, _enc, done) {
            bytes += piece.length;
            done(bytes > limit ? new TooLarge() : null, piece);
          },
        }),
        createWriteStream(temp, { flags: 'wx' }),
      );
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const final = await linkFree(temp, inbox, name);
      await unlink(temp);
      return c.json({ name: final, bytes }, 201);
    } catch (error) {
      if (error instanceof TooLarge) throw new HTTPException(413, { message: `"${name}" is over ${deps.config.uploadMaxMb} MiB, the most an upload may be (uploadMaxMb)` });
      if (error instanceof HTTPException) throw error;
      throw new HTTPException(400, { message: `The upload of "${name}" broke off: ${(error as Error).message}` });
    } finally {
      await rm(temp, { force: true });
    }
  });
}
