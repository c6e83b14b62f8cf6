/**
 * One track request in flight: its two deadlines (a heartbeat, and frames that must keep
 * advancing) and how it settles. The worker decides what a missed deadline does (kill the group).
 */
import type { TrackerError } from '../errors.ts';
import type { DoneEvent, ProgressEvent } from './protocol.ts';

/** What a request waits on, and what it is told. */
export interface InFlightOptions {
  id: string;
  output: string;
  resolve: (done: DoneEvent) => void;
  reject: (error: TrackerError) => void;
  onProgress?: (e: ProgressEvent) => void;
  heartbeatMs: number;
  advanceMs?: number;
  /** A deadline passed: the message says which. */
  onHang: (request: InFlight, message: string) => void;
}

export class InFlight {
  readonly id: string;
  readonly output: string;
  /** The highest progress `frame` seen. */
  frame = 0;
  /** Set once the worker was killed for a hang: its exit then reports a stall, not a crash. */
  stalled: string | undefined;
  readonly #opts: InFlightOptions;
  /** The heartbeat deadline; after a kill, the fallback that settles if the pipes never close. */
  #timer: NodeJS.Timeout | undefined;
  #advanceTimer: NodeJS.Timeout | undefined;

  constructor(opts: InFlightOptions) {
    this.#opts = opts;
    this.id = opts.id;
    this.output = opts.output;
    this.#beat();
    this.#advance();
  }

  /** A progress event: re-arms the heartbeat, and the advance deadline when `frame` went up. */
  progress(event: ProgressEvent): void {
    if (this.stalled) return; // killed already: late progress must not re-arm the deadlines
    this.#beat();
    if (event.frame > this.frame) {
      this.frame = event.frame;
      this.#advance();
    }
    this.#opts.onProgress?.(event);
  }

  /**
   * Mark the request stalled (false if it already was): the deadlines stop, and `fallback` runs
   * after `fallbackMs` unless the request settles first.
   */
  stall(message: string, fallbackMs: number, fallback: () => void): boolean {
    if (this.stalled) return false;
    this.stalled = message;
    this.#clear();
    this.#timer = setTimeout(fallback, fallbackMs);
    return true;
  }

  resolve(done: DoneEvent): void {
    this.#clear();
    this.#opts.resolve(done);
  }

  reject(error: TrackerError): void {
    this.#clear();
    this.#opts.reject(error);
  }

  #clear(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#advanceTimer);
  }

  /** (Re)arm the heartbeat: no event for heartbeatMs is a hang. */
  #beat(): void {
    clearTimeout(this.#timer);
    const ms = this.#opts.heartbeatMs;
    this.#timer = setTimeout(() => this.#opts.onHang(this, `Tracker worker sent no progress for ${ms} ms on request ${JSON.stringify(this.id)}: killed`), ms);
  }

  /** (Re)arm the advance deadline: heartbeats without a higher `frame` for advanceMs are a hang too. */
  #advance(): void {
    const ms = this.#opts.advanceMs;
    if (ms === undefined) return;
    clearTimeout(this.#advanceTimer);
    this.#advanceTimer = setTimeout(
      () => this.#opts.onHang(this, `Tracker worker progress stopped advancing at frame ${this.frame} of request ${JSON.stringify(this.id)} for ${ms} ms: killed`),
      ms,
    );
  }
}
