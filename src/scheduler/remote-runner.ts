/** The runner the track loop's flight drives for a chunk attempt claimed by a remote worker. */
import { PipelineError } from '../errors.ts';
import type { ChunkResult } from '../stages/track.ts';
import type { ReadyEvent } from '../tracker/index.ts';
import type { ChunkAttempt, ChunkRunner } from './types.ts';

/** One claimed attempt's runner: ready at once (the worker loaded its backend), run() settled over HTTP. */
export class RemoteRunner implements ChunkRunner {
  readonly where: string;
  readonly #ready: ReadyEvent;
  /** Resolves with the attempt once the flight has started it in SQLite. */
  readonly started: Promise<ChunkAttempt>;
  #start!: (attempt: ChunkAttempt) => void;
  #settle: { resolve: (r: ChunkResult) => void; reject: (e: unknown) => void } | undefined;
  #ended: unknown;

  constructor(where: string, ready: ReadyEvent) {
    this.where = where;
    this.#ready = ready;
    this.started = new Promise((resolve) => (this.#start = resolve));
  }

  ready(): Promise<ReadyEvent> {
    return Promise.resolve(this.#ready);
  }

  run(attempt: ChunkAttempt): Promise<ChunkResult> {
    this.#start(attempt);
    return new Promise<ChunkResult>((resolve, reject) => {
      this.#settle = { resolve, reject };
      if (this.#ended !== undefined) reject(this.#ended);
    });
  }

  /** The worker's verified result. */
  finish(result: ChunkResult): void {
    this.#settle?.resolve(result);
  }

  /** The attempt failed (the worker said so, or its lease ran out, or posepipe stopped it). */
  fail(error: unknown): void {
    this.#ended ??= error;
    this.#settle?.reject(error);
  }

  reset(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.fail(new PipelineError('crash', `${this.where}: the attempt was stopped by posepipe`));
    return Promise.resolve();
  }
}
