/**
 * One model file from the first of its URLs that serves it whole: downloaded into `<dest>.part`,
 * verified, flushed and renamed into place, so `dest` never holds half a file.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renameDurably } from '../atomic-file.ts';
import { formatBytes, freeBytes } from '../disk.ts';
import { displayName } from '../progress.ts';
import { fileProblem } from './check-file.ts';
import { downloadToPart, type DownloadOptions } from './download-part.ts';
import { DownloadError } from './http-request.ts';
import type { ModelFile } from './manifest.ts';
import type { FileProgress } from './pull-progress.ts';

/** One URL a pull tried (after the mirror), and why it did not serve the file. */
export interface TriedUrl {
  url: string;
  cause: string;
}

/** `URL: cause; URL: cause`, for a message that names every URL tried. */
export function describeTried(tried: readonly TriedUrl[]): string {
  return tried.map((t) => `${t.url}: ${t.cause}`).join('; ');
}

/** Every URL of a file failed for good; the message lists each with its cause. */
export class AllUrlsFailed extends Error {
  readonly tried: TriedUrl[];
  constructor(tried: TriedUrl[]) {
    super(`all ${tried.length} URLs failed: ${describeTried(tried)}`);
    this.name = 'AllUrlsFailed';
    this.tried = tried;
  }
}

async function checkSpace(file: ModelFile, part: string): Promise<void> {
  if (file.size === undefined) return;
  const have = (await stat(part).catch(() => undefined))?.size ?? 0;
  const need = file.size - have;
  const free = await freeBytes(dirname(file.dest));
  if (free < need) throw new Error(`not enough space in ${dirname(file.dest)}: it needs ${formatBytes(need)}, ${formatBytes(free)} free`);
}

/**
 * Download into the part and verify it; a part that fails its checks is deleted and fetched once
 * more, and a second failure is this URL's DownloadError (it serves the wrong file).
 */
async function fetchVerified(file: ModelFile, url: string, download: DownloadOptions, progress: FileProgress): Promise<number> {
  const part = `${file.dest}.part`;
  await mkdir(dirname(file.dest), { recursive: true });
  await checkSpace(file, part);
  for (let round = 1; ; round++) {
    const total = await downloadToPart(url, part, download);
    const got = (await stat(part)).size;
    const problem = got !== total ? `size mismatch: the server announced ${total} bytes, got ${got}` : await fileProblem(part, file);
    if (problem === undefined) {
      await renameDurably(part, file.dest);
      return got;
    }
    await rm(part, { force: true });
    if (round === 2) throw new DownloadError(problem, false);
    progress.note(`${displayName(file.name)}: ${problem}; fetching it once more from scratch`);
  }
}

/**
 * Fetch from `urls` in order. A URL that fails for good (a DownloadError: HTTP 404, refused after
 * the retries, the wrong file twice) hands over to the next; anything else (the disk) stops at once.
 * Resolves to the bytes placed and the URL that served them.
 */
export async function fetchFromAny(file: ModelFile, urls: readonly string[], download: DownloadOptions, progress: FileProgress): Promise<{ bytes: number; url: string }> {
  const tried: (TriedUrl & { error: DownloadError })[] = [];
  let delivered = false;
  for (const url of urls) {
    const last = tried.at(-1);
    if (last) {
      // Bytes from one host are not completed from another: without a hash the mix would pass.
      if (delivered) await rm(`${file.dest}.part`, { force: true });
      progress.note(`${displayName(file.name)}: ${last.url} failed (${last.cause}); trying ${url}`);
    }
    delivered = false;
    const onBytes: DownloadOptions['onBytes'] = (done, total) => {
      delivered = true;
      download.onBytes?.(done, total);
    };
    try {
      return { bytes: await fetchVerified(file, url, { ...download, onBytes }, progress), url };
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      tried.push({ url, cause: error.message, error });
    }
  }
  // A file without alternates fails as it always did: the cause alone, its URL on its own line.
  if (tried.length === 1) throw tried[0]!.error;
  throw new AllUrlsFailed(tried.map(({ url, cause }) => ({ url, cause })));
}

