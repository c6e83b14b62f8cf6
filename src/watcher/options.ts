import { isAbsolute, resolve } from 'node:path';

/** How the inbox is watched and where ready files go. */
export interface InboxWatcherOptions {
  /** Absolute path of the folder users drop videos into. */
  inbox: string;
  /** Size and mtime must stay unchanged this long before a file is ready. */
  readyMs: number;
  /** How often candidates are re-stat'ed (and the inbox itself checked). */
  checkEveryMs: number;
  /** Period of the full readdir that catches events chokidar dropped. */
  rescanMs: number;
  /** `auto` decides from the mount table (network and WSL drive mounts are polled). */
  polling: 'auto' | 'always' | 'never';
  /** chokidar's polling interval when polling. */
  pollIntervalMs?: number;
  /** Called once per distinct file version that became ready, one call at a time, in order. */
  onReady: (file: ReadyFile) => void | Promise<void>;
  /** Ignored entries (symlinks, FIFOs, ...), a missing inbox, failed handovers: once per path or episode. */
  onWarning?: (message: string) => void;
  /** A regular file ignored for its name (not a video extension): once per name while it stays in the inbox. */
  onIgnored?: (message: string) => void;
  /** Mount table to read for `polling: 'auto'`; default /proc/self/mountinfo. */
  mountTable?: string;
}

/** A file whose size and mtime held still for readyMs, with the hash of exactly that version. */
export interface ReadyFile {
  /** Absolute path; for a name that is not valid UTF-8, lossy (U+FFFD for bad bytes): use pathBytes. */
  path: string;
  /** File name, lossy like `path` when the name is not valid UTF-8. */
  name: string;
  /** The file's absolute path as raw bytes; set only when its name is not valid UTF-8 (fs accepts Buffer paths). */
  pathBytes?: Buffer;
  size: number;
  mtimeMs: number;
  sha256: string;
  /** dev:ino:size:mtime of the version hashed: checked again before the file is moved or deleted after its job. */
  version: string;
}

/** A running inbox watcher. */
export interface InboxWatcher {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly usingPolling: boolean;
  /** Why polling is (not) used, for logs. */
  readonly pollingReason: string;
  /** Re-examine now (tests, resume): a full readdir, then one readiness check. */
  rescan(): Promise<void>;
}

/** Check the options once, naming the bad key, and freeze them. */
export function resolveOptions(opts: InboxWatcherOptions): Readonly<InboxWatcherOptions> {
  const bad = (key: string, why: string): never => {
    throw new TypeError(`createInboxWatcher: option "${key}" ${why}`);
  };
  if (typeof opts.inbox !== 'string' || !isAbsolute(opts.inbox)) bad('inbox', 'must be an absolute path');
  for (const key of ['readyMs', 'checkEveryMs', 'rescanMs', 'pollIntervalMs'] as const) {
    const value = opts[key];
    if (value === undefined && key === 'pollIntervalMs') continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) bad(key, 'must be a finite number >= 0');
  }
  if (opts.checkEveryMs <= 0 || opts.rescanMs <= 0) bad(opts.checkEveryMs <= 0 ? 'checkEveryMs' : 'rescanMs', 'must be > 0');
  if (!['auto', 'always', 'never'].includes(opts.polling)) bad('polling', "must be 'auto', 'always' or 'never'");
  if (typeof opts.onReady !== 'function') bad('onReady', 'must be a function');
  if (opts.onIgnored !== undefined && typeof opts.onIgnored !== 'function') bad('onIgnored', 'must be a function');
  return Object.freeze({ ...opts, inbox: resolve(opts.inbox) });
}
