/**
 * What becomes of an inbox file once its job is done (the `afterDone` setting): kept, moved into
 * inbox/done/, or deleted. Only the version the watcher handed over is ever touched: a file replaced
 * or changed since (another inode, size or mtime) is left where it is.
 *
 * Nothing is recorded for this: a job is done in the database before its file is touched, and a
 * file still in the inbox is handed over again at the next start, where its content finds the same
 * done job. So a stop or a crash between the JSON and the move costs one move at the next start,
 * never a second run of the job.
 */
import type { Stats } from 'node:fs';
import { link, mkdir, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ReadyFile } from './options.ts';
import { isGone, lstatIfPresent, versionKey } from './readiness.ts';
import { DONE_FOLDER } from './video-files.ts';

/** The setting's values. */
export type AfterDoneMode = 'keep' | 'move' | 'delete';

/** What the after-done step needs. */
export interface AfterDoneOptions {
  mode: AfterDoneMode;
  /** Absolute path of the inbox; files move into its DONE_FOLDER. */
  inbox: string;
  /** The job's output path when the job is done, else undefined (looked up at the moment of acting). */
  outputOf: (jobId: number) => string | undefined;
  log: (line: string) => void;
  /** Called just before a done job's file is moved or deleted (the test hook that kills the process there). */
  beforeAct?: () => void;
}

/** Moves or deletes the inbox files of done jobs, one at a time. */
export interface InboxAfterDone {
  /** The watcher handed `file` over and it became (or already was) job `jobId`: acted on at once if that job is done. */
  taken(jobId: number, file: ReadyFile): void;
  /** Job `jobId` has just been recorded done: act on the file it was taken from, if the watcher handed one over. */
  jobDone(jobId: number): void;
  /** Wait for the moves and deletes under way. */
  close(): Promise<void>;
}

/** Hard links are not everywhere (some network and FUSE filesystems): then a checked rename moves the file. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);
const MAX_SUFFIX = 10_000;

/** Make the after-done step for `posepipe start`. */
export function createAfterDone(opts: AfterDoneOptions): InboxAfterDone {
  const files = new Map<number, ReadyFile>();
  let chain: Promise<void> = Promise.resolve();
  const act = (jobId: number): void => {
    if (opts.mode === 'keep') return;
    const file = files.get(jobId);
    if (file === undefined) return;
    const output = opts.outputOf(jobId);
    if (output === undefined) return;
    files.delete(jobId);
    chain = chain.then(() => settle(opts, jobId, file, output)).catch((error: unknown) => {
      opts.log(`job ${jobId}: "${file.name}" stays in the inbox: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
  return {
    taken(jobId, file) {
      if (opts.mode === 'keep') return;
      files.set(jobId, file);
      act(jobId);
    },
    jobDone: act,
    close: () => chain,
  };
}

/** The file's path as fs takes it: its raw bytes when its name is not valid UTF-8. */
function fsPath(file: ReadyFile): string | Buffer {
  return file.pathBytes ?? file.path;
}

/** Move or delete one done job's file, if it is still the version its job took. */
async function settle(opts: AfterDoneOptions, jobId: number, file: ReadyFile, output: string): Promise<void> {
  const st = await lstatIfPresent(fsPath(file));
  if (st === undefined) return; // gone already: moved by an earlier run, or by the user
  if (!st.isFile() || versionKey(st) !== file.version) {
    opts.log(`job ${jobId}: "${file.name}" is left in the inbox: it was replaced or changed after the job took it`);
    return;
  }
  if (opts.mode === 'delete') {
    // The JSON is the only copy of the work once the source is gone: it must be there.
    if ((await lstatIfPresent(output)) === undefined) {
      opts.log(`job ${jobId}: "${file.name}" is left in the inbox: its output ${output} is missing`);
      return;
    }
    opts.beforeAct?.();
    await unlink(fsPath(file));
    opts.log(`job ${jobId}: "${file.name}" deleted from the inbox (its result: ${output})`);
    return;
  }
  opts.beforeAct?.();
  const moved = await moveIntoDone(fsPath(file), st, join(opts.inbox, DONE_FOLDER));
  if (moved !== undefined) opts.log(`job ${jobId}: "${file.name}" moved to ${join(opts.inbox, DONE_FOLDER, moved.toString())}`);
}

/**
 * Move `from` into `doneDir` under its own name, or NAME-2.EXT, NAME-3.EXT, … when that is taken:
 * never over another file. A hard link claims the name atomically, then the inbox name is removed;
 * a name already linked to this very file (a move cut short) only needs the second step. Answers
 * the name used, in bytes when the file's name is not valid UTF-8.
 */
async function moveIntoDone(from: string | Buffer, st: Stats, doneDir: string): Promise<string | Buffer | undefined> {
  await mkdir(doneDir, { recursive: true });
  const name = typeof from === 'string' ? basename(from) : Buffer.from(basename(from.toString('latin1')), 'latin1');
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const candidate = n === 1 ? name : numbered(name, n);
    const to = typeof candidate === 'string' ? join(doneDir, candidate) : Buffer.concat([Buffer.from(`${doneDir}/`), candidate]);
    try {
      await link(from, to);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') {
        const there = await lstatIfPresent(to);
        if (there !== undefined && there.dev === st.dev && there.ino === st.ino) return removeSource(from, candidate);
        continue;
      }
      if (isGone(error)) return undefined;
      if (!NO_LINKS.has(code)) throw error;
      // Without links: rename only onto a free name (a name taken between the two steps is the one race left).
      if ((await lstatIfPresent(to)) !== undefined) continue;
      await rename(from, to);
      return candidate;
    }
    return removeSource(from, candidate);
  }
  throw new Error(`${MAX_SUFFIX} files of that name are already in ${doneDir}`);
}

async function removeSource(from: string | Buffer, name: string | Buffer): Promise<string | Buffer> {
  await unlink(from).catch((error: unknown) => {
    if (!isGone(error)) throw error;
  });
  return name;
}

/** `clip.mp4` → `clip-2.mp4`; a name without an extension (or a leading dot only) gets the number at its end. */
function numbered(name: string | Buffer, n: number): string | Buffer {
  const text = typeof name === 'string' ? name : name.toString('latin1');
  const dot = text.lastIndexOf('.');
  const out = dot > 0 ? `${text.slice(0, dot)}-${n}${text.slice(dot)}` : `${text}-${n}`;
  return typeof name === 'string' ? out : Buffer.from(out, 'latin1');
}

