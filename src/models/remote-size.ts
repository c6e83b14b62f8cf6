import type { IncomingMessage } from 'node:http';
import { contentLength, contentRange, DownloadError, request, statusError } from './http-request.ts';

/** Statuses by which a server says it does not do HEAD (S3 presigned URLs, some CDNs and CGI scripts). */
const NO_HEAD = new Set([405, 501]);

/**
 * The length a good answer announces. A web page where a model file should be is a dead link's
 * landing or error page served with a 200: its length says nothing about the file, and must not get
 * a whole file in place replaced by the page.
 */
function announcedSize(res: IncomingMessage, size: number | undefined): number {
  if (/^\s*text\/html\b/i.test(res.headers['content-type'] ?? '')) throw new DownloadError('the server answers with a web page (text/html), not the file', false);
  if (size === undefined) throw new DownloadError('the server gives no length', false);
  return size;
}

async function sizeByHead(url: string, idleMs: number): Promise<number | 'no head'> {
  const { res } = await request(url, { method: 'HEAD', idleMs });
  res.resume();
  const status = res.statusCode ?? 0;
  if (NO_HEAD.has(status)) return 'no head';
  if (status !== 200) throw statusError(res);
  return announcedSize(res, contentLength(res.headers['content-length']));
}

/** The total from the answer to `Range: bytes=0-0`; the body (one byte, or the whole file) is not read. */
async function sizeByRangedGet(url: string, idleMs: number): Promise<number> {
  const { req, res } = await request(url, { method: 'GET', range: 'bytes=0-0', idleMs });
  // destroy(), not resume(): a server that ignores the range would send the whole file.
  res.destroy();
  req.destroy();
  const status = res.statusCode ?? 0;
  if (status === 206) return announcedSize(res, contentRange(res.headers['content-range'])?.total);
  if (status === 200) return announcedSize(res, contentLength(res.headers['content-length']));
  throw statusError(res);
}

/**
 * The length of the file at `url` as the server reports it: a HEAD (redirects followed), or, from a
 * server that refuses HEAD, a GET of its first byte. One attempt, no retries: it only checks a file
 * that is already in place. Throws DownloadError naming the cause (`HTTP 404 Not Found`,
 * `cannot connect: …`, `the server gives no length`).
 */
export async function remoteSize(url: string, idleMs: number): Promise<number> {
  try {
    const size = await sizeByHead(url, idleMs);
    return size === 'no head' ? await sizeByRangedGet(url, idleMs) : size;
  } catch (error) {
    // A TypeError is our own bug, not the network's.
    if (error instanceof DownloadError || error instanceof TypeError || !(error instanceof Error)) throw error;
    throw new DownloadError(`cannot connect: ${error.message}`, false);
  }
}
