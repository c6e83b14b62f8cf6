/**
 * Upload from the page (issue 12): `POST /api/upload?name=<file name>` with the video as the raw
 * body. It streams into the inbox under a hidden temporary name (which the watcher ignores), is
 * flushed, then takes its final name without replacing anything (`clip (2).mp4` when `clip.mp4` is
 * there), so the watcher only ever sees a complete file. At most uploadMaxMb each, maxUploads at
 * once, and never into the last minFreeMb of the inbox's disk; the guard's Host and cross-site
 * checks apply as to every other action.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, rm, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { formatBytes, freeBytes } from '../disk.ts';
import { isHiddenOrTemporaryName, isVideoName } from '../watcher/index.ts';
import type { AppDeps, ServerEnv } from './deps.ts';

class TooLarge extends Error {}
class NoRoom extends Error {}

const MIB = 1024 * 1024;

/** How often (bytes written) free space is looked at again while an upload grows. */
const SPACE_CHECK_BYTES = 16 * MIB;

/** How long a client refused for want of an upload slot is asked to wait (seconds). */
const RETRY_AFTER_S = 10;

/** C0 and C1 controls, DEL, and the bidi controls that make a name display as another (`clip\u202Evom.exe`). */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** A name for a message: quoted, shortened, and every unsafe character written as its code. */
function shown(raw: string): string {
  return JSON.stringify(raw.slice(0, 80)).replace(UNSAFE_CHARS, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** The name an upload asks for, as a plain file name in the inbox; a 400 or 415 says why not. */
function uploadName(raw: string | undefined): string {
  const asked = raw ?? '';
  const unsafe = asked.match(UNSAFE_CHARS);
  if (unsafe) {
    const code = `U+${unsafe[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new HTTPException(400, { message: `The file name ${shown(asked)} holds a control or bidi character (${code}); rename the file first` });
  }
  // Browsers send the bare name; anything before a slash or backslash is a path, not ours to follow.
  const name = asked.split(/[\\/]/).pop() ?? '';
  if (name === '' || name === '.' || name === '..' || Buffer.byteLength(name) > 240) {
    throw new HTTPException(400, { message: `An upload needs a file name (?name=clip.mp4), not ${shown(asked)}` });
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

/** Register POST /api/upload: at most maxUploads at once, each within uploadMaxMb and the inbox's free space less minFreeMb. */
export function registerUploadRoutes(app: Hono<ServerEnv>, deps: AppDeps): void {
  let active = 0;
  app.post('/api/upload', async (c) => {
    const { config } = deps;
    const limit = config.uploadMaxMb * MIB;
    if (limit === 0) throw new HTTPException(403, { message: 'Uploads are off (uploadMaxMb is 0): drop videos into the inbox folder' });
    const name = uploadName(c.req.query('name'));
    const header = c.req.header('content-length');
    const declared = header === undefined ? undefined : Number(header);
    if (declared !== undefined && declared > limit) throw new HTTPException(413, { message: `"${name}" is ${declared} bytes; uploads may be at most ${config.uploadMaxMb} MiB (uploadMaxMb)` });
    if (active >= config.maxUploads) {
      c.header('Retry-After', String(RETRY_AFTER_S));
      throw new HTTPException(429, { message: `${config.maxUploads} uploads are already arriving (maxUploads): send "${name}" when one has finished` });
    }
    const body = c.req.raw.body;
    if (!body) throw new HTTPException(400, { message: 'An upload needs the video as its body' });
    active++;
    try {
      return c.json(await receive(body, name, declared, config), 201);
    } finally {
      active--;
    }
  });
}

/** The space an upload must leave free in the inbox, and the message when it would not. */
function noRoom(name: string, inbox: string, need: number | undefined, free: number, minFreeMb: number): HTTPException {
  const what = need === undefined ? `"${name}" would fill it` : `"${name}" needs ${formatBytes(need)}`;
  const kept = minFreeMb > 0 ? ` and ${minFreeMb} MiB must stay free (minFreeMb)` : '';
  return new HTTPException(507, { message: `Not enough disk space in ${inbox}: ${what}, ${formatBytes(free)} is free${kept}; nothing was kept` });
}

/**
 * Stream `body` into the inbox under a hidden temporary name, flush it, and give it its final name.
 * The announced size is checked against free space before the first byte; the space is looked at
 * again as the file grows (a chunked upload announces nothing), and a full disk is a 507. Whatever
 * goes wrong, the temporary file is removed.
 */
async function receive(body: ReadableStream, name: string, declared: number | undefined, config: AppDeps['config']): Promise<{ name: string; bytes: number }> {
  const { inbox, minFreeMb } = config;
  const limit = config.uploadMaxMb * MIB;
  const margin = minFreeMb * MIB;
  await mkdir(inbox, { recursive: true });
  const free = await freeBytes(inbox);
  if (free - (declared ?? 0) < margin) throw noRoom(name, inbox, declared, free, minFreeMb);
  // Hidden and ending in .part: the watcher never takes it for a video.
  const temp = join(inbox, `.posepipe-upload-${process.pid}-${randomBytes(6).toString('hex')}.part`);
  let bytes = 0;
  let nextCheck = SPACE_CHECK_BYTES;
  let refusal: HTTPException | undefined;
  try {
    await pipeline(
      Readable.fromWeb(body as import('node:stream/web').ReadableStream),
      new Transform({
        transform(piece: Buffer, _enc, done) {
          bytes += piece.length;
          if (bytes > limit) return done(new TooLarge());
          if (bytes < nextCheck) return done(null, piece);
          nextCheck = bytes + SPACE_CHECK_BYTES;
          const left = declared === undefined ? 0 : Math.max(0, declared - bytes);
          freeBytes(inbox).then(
            (now) => {
              if (now - left - piece.length >= margin) return done(null, piece);
              refusal = noRoom(name, inbox, declared === undefined ? undefined : left + piece.length, now, minFreeMb);
              done(new NoRoom());
            },
            (error: Error) => done(error),
          );
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
    return { name: final, bytes };
  } catch (error) {
    if (error instanceof TooLarge) throw new HTTPException(413, { message: `"${name}" is over ${config.uploadMaxMb} MiB, the most an upload may be (uploadMaxMb)` });
    if (error instanceof NoRoom && refusal) throw refusal;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      const now = await freeBytes(inbox).catch(() => 0);
      throw new HTTPException(507, { message: `Not enough disk space in ${inbox}: the disk filled up after ${formatBytes(bytes)} of "${name}" (${code === 'EDQUOT' ? 'over quota' : 'full'}, ${formatBytes(now)} free); nothing was kept` });
    }
    if (error instanceof HTTPException) throw error;
    throw new HTTPException(400, { message: `The upload of "${name}" broke off: ${(error as Error).message}` });
  } finally {
    await rm(temp, { force: true });
  }
}
