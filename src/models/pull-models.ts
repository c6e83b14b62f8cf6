/**
 * `posepipe models pull`: every file of a manifest into place, in order. A file already there and
 * passing its checks (for one with no size or hash in the manifest: the server's size) is skipped;
 * anything else is fetched (fetch-file.ts) from its URL or, when that fails for good, its alternates.
 */
import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { formatBytes } from '../disk.ts';
import { displayName } from '../progress.ts';
import { fileProblem, hasOwnChecks } from './check-file.ts';
import type { DownloadOptions } from './download-part.ts';
import { AllUrlsFailed, describeTried, fetchFromAny, type TriedUrl } from './fetch-file.ts';
import { DownloadError } from './http-request.ts';
import type { ManualFile, ModelFile, ModelManifest } from './manifest.ts';
import { mirrorUrl } from './mirror.ts';
import { createPullProgress, type FileProgress, type TextOut } from './pull-progress.ts';
import { remoteSize } from './remote-size.ts';
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
  /** The URL fetched first (after the mirror): the manifest's `url`. */
  url: string;
  dest: string;
  cause: string;
  /** Every URL tried with its cause, when the file has alternates and all of them failed. */
  tried?: TriedUrl[];
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

// A size check only vouches for a file that is already usable: not worth a minute per file offline.
const SIZE_CHECK_IDLE_MS = 15_000;

/**
 * For a file in place that the manifest gives no size or hash: the server's size against the
 * file's (a download cut off by an earlier, non-atomic downloader stays at `dest` otherwise).
 * `problem` when they differ; `unchecked` with the cause when no URL tells a size (offline, 404):
 * the file is kept then, since it may well be whole.
 */
async function serverSizeProblem(dest: string, urls: readonly string[], idleMs: number): Promise<{ problem?: string; unchecked?: string }> {
  const tried: TriedUrl[] = [];
  for (const url of urls) {
    try {
      const size = await remoteSize(url, Math.min(idleMs, SIZE_CHECK_IDLE_MS));
      const have = (await stat(dest)).size;
      return size === have ? {} : { problem: `size mismatch: the server announces ${size} bytes, the file has ${have}` };
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      tried.push({ url, cause: error.message });
    }
  }
  return { unchecked: tried.length === 1 ? tried[0]!.cause : describeTried(tried) };
}

function fetchedText(bytes: number, startedAt: number, from: string | undefined): string {
  const seconds = (Date.now() - startedAt) / 1000;
  const rate = seconds > 0.1 ? ` (${formatBytes(bytes / seconds)}/s)` : '';
  return `fetched ${formatBytes(bytes)} in ${seconds.toFixed(1)} s${rate}${from === undefined ? '' : ` from ${from}`}`;
}

/** The URL that served a file, when it was an alternate (the line says so); undefined for the first. */
const alternateOf = (url: string, urls: readonly string[]) => (url === urls[0] ? undefined : url);

/** An archive entry: in place when all `provides` exist; an archive already there is unpacked, not fetched. */
async function pullArchive(file: ModelFile, urls: readonly string[], download: DownloadOptions, progress: FileProgress): Promise<Outcome> {
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
  const { bytes, url } = await fetchFromAny(file, urls, download, progress);
  await extractArchive(file.dest, into);
  checkProvided(into, provides);
  return { kind: 'fetched', text: `${fetchedText(bytes, startedAt, alternateOf(url, urls))}, unpacked into ${into}` };
}

async function pullOne(file: ModelFile, urls: readonly string[], download: DownloadOptions, progress: FileProgress): Promise<Outcome> {
  if (file.unpack) return pullArchive(file, urls, download, progress);
  let problem = await fileProblem(file.dest, file);
  if (problem === undefined && !hasOwnChecks(file)) {
    const check = await serverSizeProblem(file.dest, urls, download.idleTimeoutMs);
    if (check.unchecked !== undefined) return { kind: 'present', text: `ok (already there; size not checked: ${check.unchecked})` };
    problem = check.problem;
  }
  if (problem === undefined) return { kind: 'present', text: 'ok (already there)' };
  if (problem !== 'missing') progress.note(`${displayName(file.name)}: ${file.dest} is corrupt (${problem}); fetching it again`);
  const startedAt = Date.now();
  const { bytes, url } = await fetchFromAny(file, urls, download, progress);
  return { kind: 'fetched', text: fetchedText(bytes, startedAt, alternateOf(url, urls)) };
}

function writeSummary(report: Omit<PullReport, 'exitCode'>, backend: string, line: (text: string) => void): void {
  line(`models for ${backend}: ${report.fetched.length} fetched, ${report.present.length} already there, ${report.failed.length} failed`);
  for (const f of report.failed) {
    if (f.tried === undefined) {
      line(`FAILED ${displayName(f.name)}: ${f.cause}`);
      line(`  url:  ${f.url}`);
    } else {
      line(`FAILED ${displayName(f.name)}: all ${f.tried.length} URLs failed`);
      for (const [i, t] of f.tried.entries()) line(`  ${i === 0 ? 'url: ' : 'also:'} ${t.url} (${t.cause})`);
    }
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
    const urls = [file.url, ...(file.alternates ?? [])].map((u) => mirrorUrl(u, opts.mirror));
    const label = displayName(file.name);
    const bar = progress.file(label);
    const download: DownloadOptions = { ...tuning, onBytes: (done, total) => bar.bytes(done, total), onRetry: (text) => bar.note(`${label}: ${text}`) };
    try {
      const outcome = await pullOne(file, urls, download, bar);
      report[outcome.kind].push(file);
      bar.finish(`${label}: ${outcome.text}`);
    } catch (error) {
      // Our own bugs stop the pull; everything else (network, disk, checks) is this file's failure.
      if (error instanceof TypeError || !(error instanceof Error)) throw error;
      const tried = error instanceof AllUrlsFailed ? { tried: error.tried } : {};
      report.failed.push({ name: file.name, url: urls[0]!, dest: file.dest, cause: error.message, ...tried });
      bar.finish(`${label}: FAILED: ${error.message}`);
    }
  }
  report.manualMissing = opts.manifest.manual.filter((m) => !existsSync(m.dest));
  writeSummary(report, opts.manifest.backend, progress.line);
  return { ...report, exitCode: report.failed.length > 0 ? 2 : 0 };
}
