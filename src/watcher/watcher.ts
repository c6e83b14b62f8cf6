import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { watch, type FSWatcher } from 'chokidar';
import { decidePolling, type PollDecision } from './mounts.ts';
import { resolveOptions, type InboxWatcher, type InboxWatcherOptions, type ReadyFile } from './options.ts';
import { describeKind, hashFile, isGone, lstatIfPresent, Slots, versionKey } from './readiness.ts';
import { DONE_FOLDER, isHiddenOrTemporaryName, isVideoName, VIDEO_EXTENSIONS } from './video-files.ts';

/** One file being watched until its size and mtime hold still. */
interface Candidate {
  key: string;
  since: number;
  hashing: boolean;
}

// Hashing reads whole files; a few at once keeps the disk busy without opening hundreds of files.
const HASH_CONCURRENCY = 4;
const READY_CAP_MS = 10_000;

class Watcher implements InboxWatcher {
  readonly #opts: Readonly<InboxWatcherOptions>;
  readonly #inbox: string;
  #decision: PollDecision = { poll: false, reason: 'not started' };
  #fsw: FSWatcher | undefined;
  /** dev:ino of the folder being watched; undefined while not watching. */
  #inboxId: string | undefined;
  /** The inbox's real path, which chokidar watches (a symlinked inbox is followed here, once). */
  #watchedRoot = '';
  #inboxWarned = false;
  // Entries are keyed by path. A name that is not valid UTF-8 cannot be a string path (Node decodes
  // its bad bytes to U+FFFD), so its key is the lossy path, NUL, and the name's bytes in hex (see
  // byteKey): distinct per real name, and the file is always reached through those bytes.
  readonly #candidates = new Map<string, Candidate>();
  /** path -> version key handed to onReady, so the same version is never handed over twice. */
  readonly #handed = new Map<string, string>();
  readonly #warned = new Set<string>();
  /** Entries with other names already looked at (and logged, for regular files): once each while they stay. */
  readonly #ignored = new Set<string>();
  /** Paths to examine at the next check: from chokidar events and rescans. */
  readonly #pending = new Set<string>();
  readonly #hashing = new Set<Promise<void>>();
  readonly #hashSlots = new Slots(HASH_CONCURRENCY);
  #checkChain: Promise<void> = Promise.resolve();
  #tickBusy = false;
  /** A chokidar event named something it could not represent: list the inbox at the next check. */
  #listingDue = false;
  /** The watched folder was seen deleted: re-watch even if a new one has the same dev:ino. */
  #inboxLost = false;
  #delivery: Promise<void> = Promise.resolve();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #abort = new AbortController();
  #started = false;
  #closed = false;

  constructor(opts: InboxWatcherOptions) {
    this.#opts = resolveOptions(opts);
    this.#inbox = this.#opts.inbox;
  }

  get usingPolling(): boolean {
    return this.#decision.poll;
  }

  get pollingReason(): string {
    return this.#decision.reason;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#runCheck(true);
    this.#timers.push(
      setInterval(() => this.#tick(false), this.#opts.checkEveryMs),
      setInterval(() => this.#tick(true), this.#opts.rescanMs),
    );
  }

  async rescan(): Promise<void> {
    if (!this.#started) return; // before start() there is nothing to re-examine
    await this.#runCheck(true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#abort.abort();
    await this.#checkChain;
    await this.#unwatch();
    await Promise.all([...this.#hashing]);
    await this.#delivery;
  }

  #tick(full: boolean): void {
    if (this.#tickBusy) return;
    this.#tickBusy = true;
    void this.#runCheck(full).finally(() => {
      this.#tickBusy = false;
    });
  }

  /** Checks run one at a time; a rescan() asked for during a check runs after it. */
  #runCheck(full: boolean): Promise<void> {
    const run = this.#checkChain.then(() => this.#check(full));
    this.#checkChain = run;
    return run;
  }

  async #check(full: boolean): Promise<void> {
    if (this.#closed) return;
    try {
      const fresh = await this.#ensureWatching();
      if (fresh === undefined) return;
      if (full || fresh || this.#listingDue) {
        this.#listingDue = false;
        await this.#queueListing();
      }
      const paths = [...new Set([...this.#pending, ...this.#candidates.keys()])];
      this.#pending.clear();
      await Promise.all(paths.map((path) => this.#examine(path)));
    } catch (error) {
      // The inbox vanished under our readdir: the next check tells gone from replaced.
      if (isGone(error)) this.#inboxLost = true;
      else this.#warnOnce(`check:${String(error)}`, `Inbox check failed: ${errorText(error)}; trying again`);
    }
  }

  /** Watch the inbox if it is there; answers undefined while it is missing, true when newly (re)watched. */
  async #ensureWatching(): Promise<boolean | undefined> {
    const st = await stat(this.#inbox).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) {
      if (this.#inboxId !== undefined) {
        await this.#unwatch();
        this.#warn(`Inbox "${this.#inbox}" disappeared; waiting for it to come back`);
        this.#inboxWarned = true;
      } else if (!this.#inboxWarned) {
        this.#warn(`Inbox "${this.#inbox}" does not exist or is not a folder; waiting for it to appear`);
        this.#inboxWarned = true;
      }
      return undefined;
    }
    const id = `${st.dev}:${st.ino}`;
    if (id === this.#inboxId && !this.#inboxLost) return false;
    if (this.#inboxId !== undefined) {
      // Deleted and recreated between two checks (a new folder can even get the old inode number,
      // hence #inboxLost): the old native watch sees nothing of the new folder.
      await this.#unwatch();
      this.#warn(`Inbox "${this.#inbox}" was replaced; watching the new folder`);
    }
    this.#inboxWarned = false;
    this.#inboxLost = false;
    await this.#watch(id);
    return true;
  }

  async #watch(id: string): Promise<void> {
    this.#watchedRoot = await realpath(this.#inbox).catch(() => this.#inbox);
    this.#decision = await decidePolling(this.#opts.polling, this.#watchedRoot, this.#opts.mountTable);
    const interval = this.#opts.pollIntervalMs ?? 500;
    const fsw = watch(this.#watchedRoot, {
      depth: 0,
      ignoreInitial: false,
      followSymlinks: false,
      usePolling: this.#decision.poll,
      interval,
      binaryInterval: interval,
      awaitWriteFinish: false,
      ignored: (path: string, stats?: Stats) => this.#chokidarIgnores(path, stats),
    });
    fsw.on('all', (event, path) => {
      if (event === 'unlinkDir' && path === this.#watchedRoot) this.#inboxLost = true;
      else this.#notice(path);
    });
    // A name created, removed or renamed in the inbox (native 'rename', or the polled folder's own
    // stat changing): list the inbox ourselves at the next check. chokidar turns backslashes in
    // names into '/', so a file named `a\..\b.mp4` would otherwise reach us as another path, or not at all.
    fsw.on('raw', (event, path) => {
      if (event === 'rename' || path === this.#watchedRoot) this.#listingDue = true;
    });
    fsw.on('error', (error) => this.#warnOnce(`chokidar:${String(error)}`, `Watching "${this.#inbox}" reported: ${errorText(error)}; the periodic rescan still finds new files`));
    this.#fsw = fsw;
    this.#inboxId = id;
    // Wait for chokidar's first scan so that files dropped after start() are seen by events; but
    // never stall every later check on it: our own listing finds the files anyway.
    await new Promise<void>((done) => {
      const cap = setTimeout(done, READY_CAP_MS);
      fsw.once('ready', () => {
        clearTimeout(cap);
        done();
      });
    });
  }

  /**
   * chokidar only ever sees regular files with video names. Anything else with a video name is
   * queued for our own lstat (which warns) and kept from chokidar, so nothing follows or opens it.
   */
  #chokidarIgnores(path: string, stats?: Stats): boolean {
    if (path === this.#watchedRoot) return false;
    if (dirname(path) !== this.#watchedRoot) {
      // chokidar turns backslashes into '/' before asking, so a name with one arrives here as a
      // deeper path it cannot watch. Our own readdir at the next check sees the real name.
      this.#listingDue = true;
      return true;
    }
    if (!isVideoName(basename(path))) return true;
    if (stats !== undefined && !stats.isFile()) {
      this.#notice(path);
      return true;
    }
    return false;
  }

  async #unwatch(): Promise<void> {
    const fsw = this.#fsw;
    this.#fsw = undefined;
    this.#inboxId = undefined;
    this.#candidates.clear();
    this.#handed.clear();
    this.#warned.clear();
    this.#ignored.clear();
    this.#pending.clear();
    if (fsw !== undefined) await fsw.close();
  }

  /** An event or listing mentioned `path` (under the watched root): look at it at the next check. */
  #notice(path: string): void {
    if (this.#closed || dirname(path) !== this.#watchedRoot) return;
    const name = basename(path);
    if (isVideoName(name)) this.#pending.add(resolve(this.#inbox, name));
  }

  /** Full readdir: catches what chokidar missed, and forgets what is gone. */
  async #queueListing(): Promise<void> {
    const entries = await readdir(this.#inbox, { encoding: 'buffer' });
    const present = new Set<string>();
    const others = new Set<string>();
    for (const bytes of entries) {
      const name = bytes.toString('utf8');
      // Not valid UTF-8: chokidar cannot report it usefully, so this listing is what finds it.
      const path = Buffer.from(name, 'utf8').equals(bytes) ? resolve(this.#inbox, name) : byteKey(this.#inbox, name, bytes);
      if (!isVideoName(name)) {
        // Hidden and temporary names are files on their way in; inbox/done/ holds finished ones.
        if (this.#opts.onIgnored && !isHiddenOrTemporaryName(name) && name !== DONE_FOLDER) others.add(path);
        continue;
      }
      present.add(path);
      this.#pending.add(path);
    }
    await this.#noteIgnored(others);
    // Entries no longer listed are looked at again (not dropped on the listing's word: a file
    // created after the readdir would be lost); the lstat forgets those really gone.
    for (const path of [...this.#handed.keys(), ...this.#warned]) {
      if (dirname(path) === this.#inbox && !present.has(path)) this.#pending.add(path);
    }
  }

  /** Say once why a regular file in the inbox is not taken (a name that leaves and comes back is said again). */
  async #noteIgnored(listed: ReadonlySet<string>): Promise<void> {
    for (const path of this.#ignored) if (!listed.has(path)) this.#ignored.delete(path);
    for (const path of listed) {
      if (this.#ignored.has(path)) continue;
      this.#ignored.add(path);
      const st = await lstatIfPresent(fsPathOf(path)).catch(() => undefined);
      if (!st?.isFile() || this.#closed) continue;
      const name = nameOf(path);
      const ext = extname(name);
      const why = ext === '' ? 'it has no extension' : `${ext} is not a video extension`;
      this.#say(this.#opts.onIgnored, `Ignoring "${name}" in the inbox: ${why} (videos: ${VIDEO_EXTENSIONS.join(' ')})`);
    }
  }

  async #examine(path: string): Promise<void> {
    let st: Stats | undefined;
    try {
      st = await lstatIfPresent(fsPathOf(path));
    } catch (error) {
      this.#candidates.delete(path);
      this.#warnOnce(path, `Cannot look at "${nameOf(path)}" in the inbox: ${errorText(error)}`);
      return;
    }
    if (st === undefined) return this.#forget(path);
    if (!st.isFile()) {
      this.#candidates.delete(path);
      this.#warnOnce(path, `Ignoring "${nameOf(path)}" in the inbox: it is ${describeKind(st)}; only regular files are processed`);
      return;
    }
    const key = versionKey(st);
    if (this.#handed.get(path) === key) {
      this.#candidates.delete(path);
      return;
    }
    const now = performance.now();
    const candidate = this.#candidates.get(path);
    // The clock starts when we first see a version, never from its mtime: copies that keep the
    // source's mtime (cp -p, rsync -t) would otherwise look finished while still growing.
    if (candidate === undefined) {
      this.#candidates.set(path, { key, since: now, hashing: false });
    } else if (!candidate.hashing && candidate.key !== key) {
      candidate.key = key;
      candidate.since = now;
    } else if (!candidate.hashing && now - candidate.since >= this.#opts.readyMs) {
      candidate.hashing = true;
      const run = this.#hashAndHandOver(path, candidate).finally(() => this.#hashing.delete(run));
      this.#hashing.add(run);
    }
  }

  async #hashAndHandOver(path: string, candidate: Candidate): Promise<void> {
    await this.#hashSlots.acquire();
    try {
      if (this.#closed || this.#candidates.get(path) !== candidate) return;
      let result;
      try {
        result = await hashFile(fsPathOf(path), this.#abort.signal);
      } catch (error) {
        this.#candidates.delete(path);
        this.#warnOnce(path, `Cannot read "${nameOf(path)}" in the inbox: ${errorText(error)}`);
        return;
      }
      const after = await lstatIfPresent(fsPathOf(path)).catch(() => undefined);
      if (this.#closed || this.#candidates.get(path) !== candidate) return;
      if (result === undefined || after === undefined) return this.#forget(path);
      const afterKey = versionKey(after);
      if (!after.isFile() || afterKey !== candidate.key || result.key !== candidate.key) {
        // Changed while we were reading it: wait for it to hold still again.
        Object.assign(candidate, { key: afterKey, since: performance.now(), hashing: false });
        return;
      }
      this.#candidates.delete(path);
      this.#handed.set(path, candidate.key);
      const fsPath = fsPathOf(path);
      const file: ReadyFile = { path: lossyPathOf(path), name: nameOf(path), size: after.size, mtimeMs: after.mtimeMs, sha256: result.sha256, version: candidate.key };
      if (typeof fsPath !== 'string') file.pathBytes = fsPath;
      this.#deliver(file, path, candidate.key);
    } finally {
      this.#hashSlots.release();
    }
  }

  /** onReady runs one call at a time, in the order files became ready; its errors never escape. */
  #deliver(file: ReadyFile, path: string, key: string): void {
    this.#delivery = this.#delivery.then(async () => {
      if (this.#closed) return;
      try {
        await this.#opts.onReady(file);
      } catch (error) {
        // Not handed over after all: the next rescan offers it again.
        if (this.#handed.get(path) === key) this.#handed.delete(path);
        this.#warn(`Handing "${file.name}" to the pipeline failed: ${errorText(error)}; it will be offered again at the next rescan`);
      }
    });
  }

  #forget(path: string): void {
    this.#candidates.delete(path);
    this.#handed.delete(path);
    this.#warned.delete(path);
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }

  #warn(message: string): void {
    this.#say(this.#opts.onWarning, message);
  }

  #say(to: ((message: string) => void) | undefined, message: string): void {
    try {
      to?.(message);
    } catch {
      // A broken logger must not stop the watcher.
    }
  }
}

/**
 * The key of an inbox entry whose name is not valid UTF-8: its lossy path (U+FFFD for the bad
 * bytes), NUL (which no real path contains), and the name's bytes in hex.
 */
function byteKey(inbox: string, lossyName: string, nameBytes: Buffer): string {
  return `${resolve(inbox, lossyName)}\0${nameBytes.toString('hex')}`;
}

/** The path to hand to fs for a key: the string itself, or the real bytes for a byteKey. */
function fsPathOf(key: string): string | Buffer {
  const nul = key.indexOf('\0');
  if (nul < 0) return key;
  const dir = dirname(key.slice(0, nul));
  return Buffer.concat([Buffer.from(dir.endsWith('/') ? dir : `${dir}/`, 'utf8'), Buffer.from(key.slice(nul + 1), 'hex')]);
}

/** The key's path as a string (lossy for a byteKey). */
function lossyPathOf(key: string): string {
  const nul = key.indexOf('\0');
  return nul < 0 ? key : key.slice(0, nul);
}

/** The key's file name as a string (lossy for a byteKey), for ReadyFile and warnings. */
function nameOf(key: string): string {
  return basename(lossyPathOf(key));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Make an inbox watcher; nothing happens until start(). */
export function createInboxWatcher(opts: InboxWatcherOptions): InboxWatcher {
  return new Watcher(opts);
}
