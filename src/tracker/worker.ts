/**
 * The long-lived Python tracker process: spawned by absolute path with an argument array in its
 * own process group, fed one request at a time, watched by a startup deadline, a heartbeat and a
 * deadline for frames to advance, killed with its whole group when it hangs, and replaced when
 * its resident memory grows past a limit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { detectorCommand } from '../detector/command.ts';
import { TrackerError, type FailureKind, type TrackerFailure } from '../errors.ts';
import { InFlight } from './in-flight.ts';
import { workerSettings, type TrackerWorkerOptions, type WorkerSettings } from './options.ts';
import { readLines, readRssBytes } from './process-io.ts';
import { failureMark, formatRequest, parseEvent, type DoneEvent, type ProgressEvent, type ReadyEvent, type TrackRequest, type WorkerEvent } from './protocol.ts';

const STDERR_KEEP = 200; // lines kept in memory
const STDERR_TAIL = 40; // lines attached to an error
const LINE_LIMIT = 4000; // characters kept of one stderr line
const STDOUT_LIMIT = 16 * 1024 * 1024; // a stdout "line" longer than this is garbage, not an event
const STOP_GRACE_MS = 3000;
const KILL_WAIT_MS = 5000; // after SIGKILL the group, how long to wait for the pipes to close
const MARK_WAIT_MS = 2000; // after an error event, how long to wait for stderr to catch up

interface Starting {
  resolve: (ready: ReadyEvent) => void;
  reject: (error: TrackerError) => void;
  timer: NodeJS.Timeout;
  failure?: TrackerError;
  /** What its error event said: the rejection waits for the exit, so that stderr (the traceback) is in. */
  said?: { kind: FailureKind; message: string };
}

/**
 * One worker process at a time. `track()` starts the process when it is not running, so after a
 * crash, stall or kill the next request restarts it (and `loads` counts one more load).
 */
export class TrackerWorker {
  readonly #opts: WorkerSettings;
  #child: ChildProcessWithoutNullStreams | undefined;
  #starting: Starting | undefined;
  #startPromise: Promise<ReadyEvent> | undefined;
  #pending: InFlight | undefined;
  #ready: ReadyEvent | undefined;
  #loads = 0;
  #recycles = 0;
  #lastRssBytes: number | undefined;
  #stopping: Promise<void> | undefined;
  #stderr: string[] = [];
  /** A failed request waiting for its traceback on stderr (failureMark), and the marks seen. */
  #awaitingMark: { mark: string; settle: () => void; timer: NodeJS.Timeout } | undefined;
  #marksSeen = new Set<string>();
  #closed: Promise<void> = Promise.resolve();

  constructor(opts: TrackerWorkerOptions) {
    this.#opts = workerSettings(opts);
  }

  /** How many `ready` events this object has seen: the backend's load count. */
  get loads(): number {
    return this.#loads;
  }

  /** How many processes were stopped to be replaced: memory above maxRssBytes, or recycle(). */
  get recycles(): number {
    return this.#recycles;
  }

  /** The worker's resident memory read after the most recent `done`; undefined if unreadable. */
  get lastRssBytes(): number | undefined {
    return this.#lastRssBytes;
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
    // A process being stopped (recycled) goes first: never two workers at once.
    const spawned = this.#stopping ? this.#stopping.then(() => this.#spawn()) : this.#spawn();
    this.#startPromise = spawned.finally(() => {
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
    const line = formatRequest({ type: 'track', ...req }); // a bad request throws here, before we are busy
    return new Promise<DoneEvent>((resolve, reject) => {
      const { heartbeatMs, advanceMs } = this.#opts;
      this.#pending = new InFlight({ id: req.id, output: req.output, resolve, reject, onProgress, heartbeatMs, advanceMs, onHang: (p, why) => this.#hang(p, why) });
      child.stdin.write(line);
    });
  }

  /**
   * Close stdin (the worker exits when idle), wait a little, then kill the group, which also
   * reaches helpers the worker left behind. Calls made while a stop is under way share it.
   */
  stop(): Promise<void> {
    if (!this.#stopping) {
      const stopping = this.#stopGroup().finally(() => {
        if (this.#stopping === stopping) this.#stopping = undefined;
      });
      this.#stopping = stopping;
    }
    return this.#stopping;
  }

  /**
   * Stop the worker so that the next request starts a fresh process: what the pipeline does after
   * an out-of-memory or CUDA fault, whose damage may outlive the failed request.
   */
  async recycle(): Promise<void> {
    if (this.#child && !this.#stopping) this.#recycles += 1;
    await this.stop();
  }

  async #stopGroup(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const closed = this.#closed;
    this.#ready = undefined; // from now on, track() waits for this stop and starts a fresh process
    child.stdin.end();
    // A worker loading its models or tracking a chunk reads stdin only when that is over: whatever it
    // was doing is given up anyway, so it is killed now rather than after the grace.
    if (this.#pending || this.#starting) this.#killGroupOf(child.pid);
    const exited = await Promise.race([closed.then(() => true), sleep(STOP_GRACE_MS, undefined, { ref: false }).then(() => false)]);
    this.#killGroupOf(child.pid);
    if (!exited) await Promise.race([closed, sleep(KILL_WAIT_MS, undefined, { ref: false })]);
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
      // The builtin backend's neural detector is a Node helper the worker starts (src/detector/serve.ts).
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', POSEPIPE_DETECTOR_COMMAND: JSON.stringify(detectorCommand()), ...this.#opts.env },
    });
    this.#child = child;
    this.#ready = undefined;
    this.#stderr = [];
    this.#marksSeen.clear();
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
        this.#markArrived(); // the pipes are drained: no more stderr will come
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
        // The worker exits by itself after this, its traceback written: the exit rejects, once the
        // pipes are drained. One that lingers (a child holding stderr) is killed after a grace period.
        starting.said = { kind: event.kind, message: event.message };
        clearTimeout(starting.timer);
        const pid = this.#child?.pid;
        starting.timer = setTimeout(() => this.#killGroupOf(pid), MARK_WAIT_MS);
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
      pending.progress(event);
    } else if (event.type === 'done') {
      this.#settle(pending);
      this.#afterDone();
      if (event.output !== pending.output) {
        pending.reject(new TrackerError('internal', `Tracker worker reported request ${JSON.stringify(pending.id)} done in ${JSON.stringify(event.output)}, not in ${JSON.stringify(pending.output)}`, this.#failure(null, null)));
      } else {
        pending.resolve(event);
      }
    } else if (event.type === 'error') {
      this.#settle(pending);
      const reject = () => pending.reject(new TrackerError(event.kind, event.message, this.#failure(null, null)));
      // The traceback comes on the other pipe: wait for its end (marked for a track request) before taking the tail.
      if (event.id === pending.id) this.#afterMark(failureMark(pending.id), reject);
      else reject();
    }
  }

  /** Run `settle` once stderr has shown `mark` (at once if it has), or after MARK_WAIT_MS, or at exit. */
  #afterMark(mark: string, settle: () => void): void {
    if (this.#marksSeen.delete(mark)) return settle();
    this.#markArrived(); // never two waiting: the older one settles now
    this.#awaitingMark = { mark, settle, timer: setTimeout(() => this.#markArrived(), MARK_WAIT_MS) };
  }

  #markArrived(): void {
    const waiting = this.#awaitingMark;
    if (!waiting) return;
    this.#awaitingMark = undefined;
    clearTimeout(waiting.timer);
    waiting.settle();
  }

  #onStderr(line: string): void {
    this.#stderr.push(line);
    if (this.#stderr.length > STDERR_KEEP) this.#stderr.splice(0, this.#stderr.length - STDERR_KEEP);
    this.#log(line);
    const mark = /^\[posepipe\] request "(?:[^"\\]|\\.)*" failed: /.exec(line)?.[0];
    if (mark === undefined) return;
    if (this.#awaitingMark?.mark === mark) this.#markArrived();
    else this.#marksSeen.add(mark);
  }

  #onExit(exitCode: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    const starting = this.#starting;
    if (starting) {
      clearTimeout(starting.timer);
      this.#starting = undefined;
      // Exiting before ready without saying why is a broken setup, unless a signal killed it.
      const kind: FailureKind = signal ? 'crash' : 'environment';
      const said = starting.said;
      if (said) starting.reject(new TrackerError(said.kind, `Tracker worker could not start: ${said.message}`, this.#failure(exitCode, signal)));
      else starting.reject(starting.failure ?? new TrackerError(kind, `Tracker worker ${how} before it was ready (run posepipe doctor)`, this.#failure(exitCode, signal)));
    }
    const pending = this.#pending;
    if (pending) {
      this.#settle(pending);
      if (pending.stalled) pending.reject(new TrackerError('stall', pending.stalled, this.#failure(exitCode, signal)));
      // Exit 0 is no better than a crash: the request has no result (say so, the log is misleading).
      else pending.reject(new TrackerError('crash', `Tracker worker ${how} while tracking request ${JSON.stringify(pending.id)}${exitCode === 0 && !signal ? ', without reporting a result' : ''}`, this.#failure(exitCode, signal)));
    }
  }

  /** A request missed a deadline: kill the group; its exit reports the stall. */
  #hang(pending: InFlight, message: string): void {
    if (this.#pending !== pending) return;
    // The exit settles the request; the fallback does if the pipes never close.
    const fallback = () => {
      if (this.#pending !== pending) return;
      this.#ready = undefined; // the next request spawns afresh (killing this group again)
      this.#settle(pending);
      pending.reject(new TrackerError('stall', message, this.#failure(null, 'SIGKILL')));
    };
    if (!pending.stall(message, KILL_WAIT_MS, fallback)) return;
    this.#log(`[tracker] ${message}`);
    this.#killGroup();
  }

  /** The request is no longer the one in flight (the caller then resolves or rejects it). */
  #settle(pending: InFlight): void {
    if (this.#pending === pending) this.#pending = undefined;
  }

  /** Read the idle worker's resident memory; above maxRssBytes, stop it so the next request starts afresh. */
  #afterDone(): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    const rss = readRssBytes(pid);
    this.#lastRssBytes = rss;
    const limit = this.#opts.maxRssBytes;
    if (rss === undefined || limit === undefined || rss <= limit || this.#stopping) return;
    this.#log(`[tracker] worker ${pid} uses ${mib(rss)} MiB resident, above the ${mib(limit)} MiB limit: starting a fresh one`);
    this.#recycles += 1;
    // Started now, so that #ready is cleared before the caller sees `done` and asks again.
    this.stop().catch((error: unknown) => this.#log(`[tracker] stopping worker ${pid}: ${(error as Error).message}`));
  }

  #killGroup(): void {
    this.#killGroupOf(this.#child?.pid);
  }

  #killGroupOf(pid: number | undefined): void {
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

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
