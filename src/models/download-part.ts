/**
 * One URL into one `.part` file over Node's own http/https: resumed with `Range: bytes=N-` when the
 * `.part` has bytes, retried with backoff when the connection drops. node:http rather than fetch:
 * fetch asks for gzip and inflates it, so the bytes on disk would stop matching Content-Length.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../disk.ts';

/** A download failed; `retry` says whether trying again could help (a dropped connection, a 503). */
export class DownloadError extends Error {
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.name = 'DownloadError';
    this.retry = retry;
  }
}

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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
// Large enough that a dropped connection rarely leaves received bytes unwritten: everything the
// socket delivered is already in the stream's buffer, and end() flushes it before a resume.
const WRITE_BUFFER = 4 * 1024 * 1024;

interface Exchange {
  req: ClientRequest;
  res: IncomingMessage;
}

function get(url: string, offset: number, idleMs: number, redirects = MAX_REDIRECTS): Promise<Exchange> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'posepipe', 'accept-encoding': 'identity' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const req = client.get(target, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (!REDIRECTS.has(status) || location === undefined) return resolve({ req, res });
      res.resume();
      const next = new URL(location, target);
      if (redirects === 0) reject(new DownloadError(`more than ${MAX_REDIRECTS} redirects (last to ${next.href})`, false));
      else if (next.protocol !== 'https:' && next.protocol !== 'http:') reject(new DownloadError(`redirected to a ${next.protocol} URL`, false));
      else get(next.href, offset, idleMs, redirects - 1).then(resolve, reject);
    });
    req.setTimeout(idleMs, () => req.destroy(new Error(`nothing received for ${idleMs / 1000} s`)));
    req.on('error', reject);
  });
}

async function partSize(part: string): Promise<number> {
  return (await stat(part).catch(() => undefined))?.size ?? 0;
}

/** `bytes START-END/TOTAL` → its numbers; a 416's form, with `*` for the range, → start -1. */
function contentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: m[1] === undefined ? -1 : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

function statusError(res: IncomingMessage): DownloadError {
  const status = res.statusCode ?? 0;
  // Server trouble and rate limits pass; a 404 or 403 will not change by asking again.
  return new DownloadError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, status >= 500 || status === 408 || status === 429);
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
  if (fileError) throw new DownloadError(`cannot write ${part}: ${fileError.message}`, false);
  if (netError) throw new DownloadError(`connection lost after ${formatBytes(done)}${total === undefined ? '' : ` of ${formatBytes(total)}`}: ${netError.message}`, true);
  return done;
}

/** One request: resume from the part's size, start over on a 200; resolves to the file's total size. */
async function attempt(url: string, part: string, seen: { total?: number }, opts: DownloadOptions): Promise<number> {
  const offset = await partSize(part);
  const ex = await get(url, offset, opts.idleTimeoutMs).catch((error: Error) => {
    throw error instanceof DownloadError ? error : new DownloadError(`cannot connect: ${error.message}`, true);
  });
  const status = ex.res.statusCode ?? 0;
  const range = contentRange(ex.res.headers['content-range']);
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
  const length = ex.res.headers['content-length'];
  const total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
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
