/**
 * The long-lived Python tracker process: spawned by absolute path with an argument array in its
 * own process group, fed one request at a time, watched by a startup deadline and a heartbeat,
 * and killed with its whole group when it hangs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrackerError, type FailureKind, type TrackerFailure } from '../errors.ts';
import { formatRequest, parseEvent, type DoneEvent, type ProgressEvent, type ReadyEvent, type TrackRequest, type WorkerEvent } from './protocol.ts';

/** The worker script shipped with this package, found from this module's own location. */
export const DEFAULT_WORKER_SCRIPT = fileURLToPath(new URL('../../python/posepipe_worker.py', import.meta.url));

/** How TrackerWorker is started and watched. */
export interface TrackerWorkerOptions {
  /** Absolute path of the interpreter (the venv's own python, never found through PATH). */
  python: string;
  /** Absolute path of posepipe_worker.py; defaults to DEFAULT_WORKER_SCRIPT. */
  script?: string;
  backend: string;
  /** Added to the inherited environment (backend settings such as POSEPIPE_BUILTIN_*). */
  env?: Record<string, string>;
  /** Deadline for the `ready` event after spawning: model loading included. */
  startupMs: number;
  /** A request with no event (progress counts) for this long is a hang: the group is killed. */
  heartbeatMs: number;
  /** Every stderr line, and every protocol problem, as one line. */
  onLog?: (line: string) => void;
}

const STDERR_KEEP = 200; // lines kept in memory
const STDERR_TAIL = 40; // lines attached to an error
const LINE_LIMIT = 4000; // characters kept of one stderr line
const STDOUT_LIMIT = 16 * 1024 * 1024; // a stdout "line" longer than this is garbage, not an event
const STOP_GRACE_MS = 3000;
const KILL_WAIT_MS = 5000; // after SIGKILL the group, how long to wait for the pipes to close

interface Pending {
  id: string;
  resolve: (done: DoneEvent) => void;
  reject: (error: TrackerError) => void;
  onProgress?: (e: ProgressEvent) => void;
  timer?: NodeJS.Timeout;
  /** Set when we killed the group for a hang: the exit then reports a stall, not a crash. */
  stalled?: string;
}

interface Starting {
  resolve: (ready: ReadyEvent) => void;
  reject: (error: TrackerError) => void;
  timer: NodeJS.Timeout;
  failure?: TrackerError;
}

/**
 * One worker process at a time. `track()` starts the process when it is not running, so after a
 * crash, stall or kill the next request restarts it (and `loads` counts one more load).
 */
export class TrackerWorker {
  readonly #opts: Readonly<TrackerWorkerOptions> & { script: string };
  #child: ChildProcessWithoutNullStreams | undefined;
  #starting: Starting | undefined;
  #startPromise: Promise<ReadyEvent> | undefined;
  #pending: Pending | undefined;
  #ready: ReadyEvent | undefined;
  #loads = 0;
  #stderr: string[] = [];
  #closed: Promise<void> = Promise.resolve();

  constructor(opts: TrackerWorkerOptions) {
    const script = opts.script ?? DEFAULT_WORKER_SCRIPT;
    if (!isAbsolute(opts.python)) throw new TypeError(`tracker option "python" must be an absolute path, got ${JSON.stringify(opts.python)}`);
    if (!isAbsolute(script)) throw new TypeError(`tracker option "script" must be an absolute path, got ${JSON.stringify(script)}`);
    for (const key of ['startupMs', 'heartbeatMs'] as const) {
      if (!(opts[key] > 0)) throw new TypeError(`tracker option "${key}" must be a positive number of milliseconds`);
    }
    this.#opts = Object.freeze({ ...opts, script });
  }

  /** How many `ready` events this object has seen: the backend's load count. */
  get loads(): number {
    return this.#loads;
  }

  /** The worker's pid (also its process group id) while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True from spawn until the process has exited and its pipes are closed. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Spawn the worker and wait for `ready`; resolves at once if it is already up. */
  start(): Promise<ReadyEvent> {
    if (this.#ready && this.#child) return Promise.resolve(this.#ready);
    if (this.#startPromise) return this.#startPromise;
    this.#startPromise = this.#spawn().finally(() => {
      this.#startPromise = undefined;
    });
    return this.#startPromise;
  }

  /** Track one chunk; starts the worker first when needed. One request at a time. */
  async track(req: Omit<TrackRequest, 'type'>, onProgress?: (e: ProgressEvent) => void): Promise<DoneEvent> {
    this.#assertIdle();
    const child = this.#child && this.#ready ? this.#child : (await this.start(), this.#child);
    if (!child) throw new TrackerError('crash', 'Tracker worker exited right after starting', this.#failure(null, null));
    this.#assertIdle(); // another call may have taken the worker while this one waited for start()
    return new Promise<DoneEvent>((resolve, reject) => {
      const pending: Pending = { id: req.id, resolve, reject, onProgress };
      this.#pending = pending;
      this.#beat(pending);
      child.stdin.write(formatRequest({ type: 'track', ...req }));
    });
  }

  /** Close stdin (the worker exits when idle), wait a little, then kill the group. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.stdin.end();
    const exited = await Promise.race([this.#closed.then(() => true), delay(STOP_GRACE_MS).then(() => false)]);
    if (!exited) {
      this.#killGroup();
      await Promise.race([this.#closed, delay(KILL_WAIT_MS)]);
    }
  }

  #assertIdle(): void {
    // A caller bug, not a tracker failure: a plain Error is classified `internal` and fails at once.
    if (this.#pending) throw new Error(`TrackerWorker is busy with request ${JSON.stringify(this.#pending.id)}`);
  }

  #spawn(): Promise<ReadyEvent> {
    const { python, script, backend } = this.#opts;
    // An old process still on its way out (error before ready, a kill whose pipes never closed)
    // must not outlive its replacement.
    this.#killGroup();
    const child = spawn(python, [script, '--backend', backend], {
      detached: true, // its own process group, so a kill reaches whatever it started
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...this.#opts.env },
    });
    this.#child = child;
    this.#ready = undefined;
    this.#stderr = [];
    const closed = new Promise<void>((resolveClosed) => {
      let exitCode: number | null = null;
      let signal: NodeJS.Signals | null = null;
      child.on('exit', (code, sig) => {
        exitCode = code;
        signal = sig;
      });
      child.on('error', (error) => {
        // spawn failed (no such interpreter): no exit event follows for ENOENT, 'close' does.
        this.#log(`[tracker] cannot start ${python}: ${error.message}`);
        if (this.#starting) {
          this.#starting.failure ??= new TrackerError('environment', `Cannot start the tracker with ${JSON.stringify(python)}: ${error.message} (run posepipe doctor)`, this.#failure(null, null));
        }
      });
      // 'close' comes after the pipes are drained, so a `done` written just before exiting is seen.
      child.on('close', () => {
        // A process replaced by a newer one (see below) must not settle the newer one's work.
        if (this.#child === child) {
          this.#child = undefined;
          this.#ready = undefined;
          this.#onExit(exitCode, signal);
        }
        resolveClosed();
      });
    });
    this.#closed = closed;
    child.stdin.on('error', (error) => this.#log(`[tracker] stdin: ${error.message}`));
    readLines(child.stdout, STDOUT_LIMIT, (line) => this.#onStdout(line), (why) => this.#log(`[tracker] protocol error: ${why}`));
    readLines(child.stderr, LINE_LIMIT, (line) => this.#onStderr(line), () => undefined);
    return new Promise<ReadyEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#starting = undefined;
        this.#killGroup();
        reject(new TrackerError('stall', `Tracker worker (${backend}) did not say ready within ${this.#opts.startupMs} ms`, this.#failure(null, 'SIGKILL')));
      }, this.#opts.startupMs);
      this.#starting = { resolve, reject, timer };
    });
  }

  #onStdout(line: string): void {
    if (line.trim() === '') return;
    let event: WorkerEvent;
    try {
      event = parseEvent(line);
    } catch (error) {
      // stdout is reserved for the protocol; a stray line is logged, it never fails a chunk.
      this.#log(`[tracker] ${(error as Error).message}`);
      return;
    }
    const starting = this.#starting;
    if (starting) {
      if (event.type === 'ready') {
        clearTimeout(starting.timer);
        this.#starting = undefined;
        this.#ready = event;
        this.#loads += 1;
        starting.resolve(event);
      } else if (event.type === 'error') {
        // The worker exits by itself after this; reject now, the exit only reaps it.
        clearTimeout(starting.timer);
        this.#starting = undefined;
        starting.reject(new TrackerError(event.kind, `Tracker worker could not start: ${event.message}`, this.#failure(null, null)));
      } else {
        this.#log(`[tracker] unexpected ${event.type} event before ready`);
      }
      return;
    }
    const pending = this.#pending;
    const mine = pending !== undefined && (!('id' in event) || event.id === undefined || event.id === pending.id);
    if (!pending || !mine || event.type === 'ready') {
      this.#log(`[tracker] unexpected event ${JSON.stringify(event)}`);
      return;
    }
    if (event.type === 'progress') {
      this.#beat(pending);
      pending.onProgress?.(event);
    } else if (event.type === 'done') {
      this.#settle(pending);
      pending.resolve(event);
    } else if (event.type === 'error') {
      this.#settle(pending);
      pending.reject(new TrackerError(event.kind, event.message, this.#failure(null, null)));
    }
  }

  #onStderr(line: string): void {
    this.#stderr.push(line);
    if (this.#stderr.length > STDERR_KEEP) this.#stderr.splice(0, this.#stderr.length - STDERR_KEEP);
    this.#log(line);
  }

  #onExit(exitCode: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    const starting = this.#starting;
    if (starting) {
      clearTimeout(starting.timer);
      this.#starting = undefined;
      // Exiting before ready without saying why is a broken setup, unless a signal killed it.
      const kind: FailureKind = signal ? 'crash' : 'environment';
      starting.reject(starting.failure ?? new TrackerError(kind, `Tracker worker ${how} before it was ready (run posepipe doctor)`, this.#failure(exitCode, signal)));
    }
    const pending = this.#pending;
    if (pending) {
      this.#settle(pending);
      if (pending.stalled) pending.reject(new TrackerError('stall', pending.stalled, this.#failure(exitCode, signal)));
      else pending.reject(new TrackerError('crash', `Tracker worker ${how} while tracking request ${JSON.stringify(pending.id)}`, this.#failure(exitCode, signal)));
    }
  }

  /** (Re)arm the heartbeat: no event for heartbeatMs means a hang, and the group is killed. */
  #beat(pending: Pending): void {
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => {
      pending.stalled = `Tracker worker sent no progress for ${this.#opts.heartbeatMs} ms on request ${JSON.stringify(pending.id)}: killed`;
      this.#killGroup();
      // The exit settles the request; this is the fallback if the pipes never close.
      pending.timer = setTimeout(() => {
        if (this.#pending !== pending) return;
        this.#ready = undefined; // the next request spawns afresh (killing this group again)
        this.#settle(pending);
        pending.reject(new TrackerError('stall', pending.stalled ?? 'stalled', this.#failure(null, 'SIGKILL')));
      }, KILL_WAIT_MS);
    }, this.#opts.heartbeatMs);
  }

  #settle(pending: Pending): void {
    clearTimeout(pending.timer);
    if (this.#pending === pending) this.#pending = undefined;
  }

  #killGroup(): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  #failure(exitCode: number | null, signal: string | null): TrackerFailure {
    return { exitCode, signal, stderrTail: this.#stderr.slice(-STDERR_TAIL).join('\n') };
  }

  #log(line: string): void {
    this.#opts.onLog?.(line);
  }
}

/** Split a stream into lines; a line longer than `limit` is cut (reported once through onOverflow). */
function readLines(stream: NodeJS.ReadableStream, limit: number, onLine: (line: string) => void, onOverflow: (why: string) => void): void {
  let buffer = '';
  let skipping = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (skipping) skipping = false;
      else onLine(line.length > limit ? line.slice(0, limit) : line);
    }
    if (buffer.length > limit) {
      if (!skipping) onOverflow(`line longer than ${limit} characters dropped`);
      onLine(buffer.slice(0, limit));
      buffer = '';
      skipping = true;
    }
  });
  stream.on('end', () => {
    if (buffer !== '' && !skipping) onLine(buffer);
    buffer = '';
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
