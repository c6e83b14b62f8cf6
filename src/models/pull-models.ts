/**
 * `posepipe models pull`: every file of a manifest into place, in order. A file already there and
 * passing its checks is skipped; anything else is downloaded to `<dest>.part` (resumed across runs),
 * verified, flushed and renamed into place, so `dest` never holds half a file.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatBytes, freeBytes } from '../disk.ts';
import { displayName } from '../progress.ts';
import { fileProblem } from './check-file.ts';
import { downloadToPart, type DownloadOptions } from './download-part.ts';
import type { ManualFile, ModelFile, ModelManifest } from './manifest.ts';
import { mirrorUrl } from './mirror.ts';
import { createPullProgress, type FileProgress, type TextOut } from './pull-progress.ts';
import { allProvided, checkProvided, extractArchive } from './unpack-archive.ts';

/** What pullModels is given; the tuning knobs default to values fit for multi-gigabyte downloads. */
export interface PullOptions {
  manifest: ModelManifest;
  /** Base URL: `https://HOST/PATH` is fetched from `MIRROR/HOST/PATH`. */
  mirror?: string;
  out: TextOut;
  /** Attempts per download when the connection drops (default 5). */
  tries?: number;
  /** First wait between attempts, doubled each time (default 1000 ms). */
  retryDelayMs?: number;
  /** A connection silent for this long counts as dropped (default 60 s). */
  idleTimeoutMs?: number;
}

/** A file that could not be put in place, and why. */
export interface PullFailure {
  name: string;
  /** The URL actually fetched (after the mirror). */
  url: string;
  dest: string;
  cause: string;
}

/** The outcome of a pull; `exitCode` is 2 when any downloadable file is not in place. */
export interface PullReport {
  fetched: ModelFile[];
  present: ModelFile[];
  failed: PullFailure[];
  /** Manual files whose destination does not exist yet. */
  manualMissing: ManualFile[];
  exitCode: 0 | 2;
}

interface Outcome {
  kind: 'present' | 'fetched';
  text: string;
}

/** Flush the part, rename it over `dest`, flush the folder: a power cut leaves old or new, never half. */
async function placeFile(part: string, dest: string): Promise<void> {
  const handle = await open(part, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(part, dest);
  // A folder that cannot be opened for syncing (some network shares) is not an error.
  const folder = await open(dirname(dest), 'r').catch(() => undefined);
  await folder?.sync().catch(() => undefined);
  await folder?.close();
}

async function checkSpace(file: ModelFile, part: string): Promise<void> {
  if (file.size === undefined) return;
  const have = (await stat(part).catch(() => undefined))?.size ?? 0;
  const need = file.size - have;
  const free = await freeBytes(dirname(file.dest));
  if (free < need) throw new Error(`not enough space in ${dirname(file.dest)}: it needs ${formatBytes(need)}, ${formatBytes(free)} free`);
}

/** Download into the part and verify it; a part that fails its checks is deleted and fetched once more. */
async function fetchVerified(file: ModelFile, url: string, download: DownloadOptions, progress: FileProgress): Promise<number> {
  const part = `${file.dest}.part`;
  await mkdir(dirname(file.dest), { recursive: true });
  await checkSpace(file, part);
  for (let round = 1; ; round++) {
    const total = await downloadToPart(url, part, download);
    const got = (await stat(part)).size;
    const problem = got !== total ? `size mismatch: the server announced ${total} bytes, got ${got}` : await fileProblem(part, file);
    if (problem === undefined) {
      await placeFile(part, file.dest);
      return got;
    }
    await rm(part, { force: true });
    if (round === 2) throw new Error(problem);
    progress.note(`${displayName(file.name)}: ${problem}; fetching it once more from scratch`);
  }
}

function fetchedText(bytes: number, startedAt: number): string {
  const seconds = (Date.now() - startedAt) / 1000;
  return `fetched ${formatBytes(bytes)} in ${seconds.toFixed(1)} s${seconds > 0.1 ? ` (${formatBytes(bytes / seconds)}/s)` : ''}`;
}

/** An archive entry: in place when all `provides` exist; an archive already there is unpacked, not fetched. */
async function pullArchive(file: ModelFile, url: string, download: DownloadOptions, progress: FileProgress): Promise<Outcome> {
  const { into, provides } = file.unpack!;
  if (allProvided(provides)) return { kind: 'present', text: 'ok (already there)' };
  const problem = await fileProblem(file.dest, file);
  if (problem !== undefined && problem !== 'missing') progress.note(`${displayName(file.name)}: the archive at ${file.dest} is corrupt (${problem}); fetching it again`);
  if (problem === undefined) {
    // An archive tar cannot read is typically a truncated one from a download made without a
    // .part (4D-Humans' own wget): fetch it again. One that lacks a `provides` would lack it again.
    const extracted = await extractArchive(file.dest, into).then(
      () => true,
      (error: Error) => void progress.note(`${displayName(file.name)}: the archive already at ${file.dest} does not unpack (${error.message}); fetching it again`),
    );
    if (extracted) {
      checkProvided(into, provides);
      return { kind: 'present', text: `ok (archive already there, unpacked into ${into})` };
    }
    await rm(file.dest, { force: true });
  }
  const startedAt = Date.now();
  const bytes = await fetchVerified(file, url, download, progress);
  await extractArchive(file.dest, into);
  checkProvided(into, provides);
  return { kind: 'fetched', text: `${fetchedText(bytes, startedAt)}, unpacked into ${into}` };
}

async function pullOne(file: ModelFile, url: string, download: DownloadOptions, progress: FileProgress): Promise<Outcome> {
  if (file.unpack) return pullArchive(file, url, download, progress);
  const problem = await fileProblem(file.dest, file);
  if (problem === undefined) return { kind: 'present', text: 'ok (already there)' };
  if (problem !== 'missing') progress.note(`${displayName(file.name)}: ${file.dest} is corrupt (${problem}); fetching it again`);
  const startedAt = Date.now();
  return { kind: 'fetched', text: fetchedText(await fetchVerified(file, url, download, progress), startedAt) };
}

function writeSummary(report: Omit<PullReport, 'exitCode'>, backend: string, line: (text: string) => void): void {
  line(`models for ${backend}: ${report.fetched.length} fetched, ${report.present.length} already there, ${report.failed.length} failed`);
  for (const f of report.failed) {
    line(`FAILED ${displayName(f.name)}: ${f.cause}`);
    line(`  url:  ${f.url}`);
    line(`  dest: ${displayName(f.dest)}`);
  }
  if (report.manualMissing.length > 0) {
    line(`still needed: ${report.manualMissing.length} file(s) posepipe cannot download for you:`);
    for (const m of report.manualMissing) {
      line(`  ${displayName(m.name)}`);
      line(`    dest: ${displayName(m.dest)}`);
      line(`    how:  ${m.how}`);
    }
  }
  line(`\`posepipe doctor\` checks everything the ${backend} backend needs.`);
}

/**
 * Fetch every file of `manifest` to its destination, with a progress line per file and a summary
 * on `out`. Failures are reported per file (name, URL, destination, cause) and the pull goes on.
 */
export async function pullModels(opts: PullOptions): Promise<PullReport> {
  const progress = createPullProgress(opts.out);
  const report: Omit<PullReport, 'exitCode'> = { fetched: [], present: [], failed: [], manualMissing: [] };
  const tuning = { tries: opts.tries ?? 5, retryDelayMs: opts.retryDelayMs ?? 1000, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000 };
  for (const file of opts.manifest.files) {
    const url = mirrorUrl(file.url, opts.mirror);
    const label = displayName(file.name);
    const bar = progress.file(label);
    const download: DownloadOptions = { ...tuning, onBytes: (done, total) => bar.bytes(done, total), onRetry: (text) => bar.note(`${label}: ${text}`) };
    try {
      const outcome = await pullOne(file, url, download, bar);
      report[outcome.kind].push(file);
      bar.finish(`${label}: ${outcome.text}`);
    } catch (error) {
      // Our own bugs stop the pull; everything else (network, disk, checks) is this file's failure.
      if (error instanceof TypeError || !(error instanceof Error)) throw error;
      report.failed.push({ name: file.name, url, dest: file.dest, cause: error.message });
      bar.finish(`${label}: FAILED: ${error.message}`);
    }
  }
  report.manualMissing = opts.manifest.manual.filter((m) => !existsSync(m.dest));
  writeSummary(report, opts.manifest.backend, progress.line);
  return { ...report, exitCode: report.failed.length > 0 ? 2 : 0 };
}
