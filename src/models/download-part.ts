/**
 * One URL into one `.part` file: resumed with `Range: bytes=N-` when the `.part` has bytes, retried
 * with backoff when the connection drops.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../disk.ts';
import { contentLength, contentRange, DownloadError, request, statusError, type Exchange } from './http-request.ts';

/** How hard downloadToPart tries. */
export interface DownloadOptions {
  /** Attempts in all, the first included. */
  tries: number;
  /** Wait before the second attempt; doubled for each one after. */
  retryDelayMs: number;
  /** A connection that sends nothing for this long is dropped (and retried). */
  idleTimeoutMs: number;
  onBytes?: (done: number, total: number | undefined) => void;
  /** A retry is about to happen, with the reason. */
  onRetry?: (message: string) => void;
}

// Large enough that a dropped connection rarely leaves received bytes unwritten: everything the
// socket delivered is already in the stream's buffer, and end() flushes it before a resume.
const WRITE_BUFFER = 4 * 1024 * 1024;

async function partSize(part: string): Promise<number> {
  return (await stat(part).catch(() => undefined))?.size ?? 0;
}

/** Write the body to the part from `start`; every byte the socket delivered reaches the file. */
async function receive(ex: Exchange, part: string, start: number, total: number | undefined, onBytes: DownloadOptions['onBytes']): Promise<number> {
  const file = createWriteStream(part, { flags: start > 0 ? 'a' : 'w', highWaterMark: WRITE_BUFFER });
  let done = start;
  let fileError: Error | undefined;
  file.on('error', (error) => {
    fileError ??= error;
    ex.res.destroy();
  });
  ex.res.on('data', (chunk: Buffer) => {
    done += chunk.length;
    onBytes?.(done, total);
    if (!file.write(chunk)) {
      ex.res.pause();
      file.once('drain', () => ex.res.resume());
    }
  });
  const netError = await new Promise<Error | undefined>((resolve) => {
    ex.req.once('error', resolve);
    ex.res.once('error', resolve);
    ex.res.once('close', () => resolve(ex.res.complete ? undefined : new Error('connection closed before the end of the body')));
  });
  // end(), not destroy(): what was received is kept for the resume.
  file.end();
  await finished(file).catch((error: Error) => (fileError ??= error));
  // Not a DownloadError: the disk is at fault, so neither a retry nor another URL would help.
  if (fileError) throw new Error(`cannot write ${part}: ${fileError.message}`);
  if (netError) throw new DownloadError(`connection lost after ${formatBytes(done)}${total === undefined ? '' : ` of ${formatBytes(total)}`}: ${netError.message}`, true);
  return done;
}

/** One request: resume from the part's size, start over on a 200; resolves to the file's total size. */
async function attempt(url: string, part: string, seen: { total?: number }, opts: DownloadOptions): Promise<number> {
  const offset = await partSize(part);
  const ex = await request(url, { method: 'GET', range: offset > 0 ? `bytes=${offset}-` : undefined, idleMs: opts.idleTimeoutMs }).catch((error: Error) => {
    throw error instanceof DownloadError ? error : new DownloadError(`cannot connect: ${error.message}`, true);
  });
  const status = ex.res.statusCode ?? 0;
  const range = contentRange(ex.res.headers['content-range']);
  if ((status === 200 || status === 206) && /^\s*text\/html/i.test(ex.res.headers['content-type'] ?? '')) {
    // No model file is a web page: a dead link's "not found" page served with 200 must not become the
    // file (and the next URL gets its turn).
    ex.res.destroy();
    throw new DownloadError('the server answered with a web page (text/html), not the file', false);
  }
  if (status === 416 && offset > 0) {
    ex.res.resume();
    // The part may already hold the whole file (an earlier run stopped just before the rename).
    if (range?.total === offset) return offset;
    await rm(part, { force: true });
    throw new DownloadError(`the server refused to resume at byte ${offset}; starting over`, true);
  }
  if (status === 206 && offset > 0) {
    const total = range?.total;
    // A different total than an earlier attempt saw means the file changed on the server: the
    // bytes already in the part belong to the old one.
    if (range?.start !== offset || total === undefined || (seen.total !== undefined && seen.total !== total)) {
      ex.res.destroy();
      await rm(part, { force: true });
      throw new DownloadError(`unexpected Content-Range "${ex.res.headers['content-range'] ?? ''}" for a resume at byte ${offset}; starting over`, true);
    }
    seen.total = total;
    await receive(ex, part, offset, total, opts.onBytes);
    return total;
  }
  if (status !== 200) {
    ex.res.resume();
    throw statusError(ex.res);
  }
  const total = contentLength(ex.res.headers['content-length']);
  if (total !== undefined) seen.total = total;
  // A 200 to a range request is the whole file: the part is written again from its first byte.
  const bytes = await receive(ex, part, 0, total, opts.onBytes);
  return total ?? bytes;
}

/**
 * Download `url` into `part`, continuing what the part already holds. Resolves to the size the
 * server announced (or the bytes received when it announced none); the caller verifies the part.
 * Throws DownloadError naming the cause once the tries are spent or the failure is final.
 */
export async function downloadToPart(url: string, part: string, opts: DownloadOptions): Promise<number> {
  const seen: { total?: number } = {};
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(url, part, seen, opts);
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      if (!error.retry || tries >= opts.tries) throw error;
      const delay = Math.min(opts.retryDelayMs * 2 ** (tries - 1), 30_000);
      opts.onRetry?.(`${error.message}; trying again in ${delay >= 1000 ? `${delay / 1000} s` : `${delay} ms`} (try ${tries + 1} of ${opts.tries})`);
      await sleep(delay);
    }
  }
}
