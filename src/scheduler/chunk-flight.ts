/**
 * One chunk attempt on one slot, from the slot's readiness to its result: the row is looked up by
 * its first frame (stable, where a split elsewhere renumbers rows) right before it starts, and its
 * range is compared again when it ends. Never rejects: how it ended is the value.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChunkRow, Db } from '../db/index.ts';
import { classify, TrackerError } from '../errors.ts';
import { chunkLogFile, type ChunkResult } from '../stages/track.ts';
import type { ReadyEvent } from '../tracker/index.ts';
import { ChunkPace } from './chunk-pace.ts';
import type { ChunkRunner } from './types.ts';
import { chunkNumber } from '../chunk-number.ts';

/** How a flight ended. */
export type FlightEnd =
  | { type: 'unready'; error: unknown }
  | { type: 'gone' }
  | { type: 'done'; row: ChunkRow; attempt: number; result: ChunkResult; ready: ReadyEvent }
  | { type: 'failed'; row: ChunkRow; attempt: number; error: unknown; ready: ReadyEvent };

/** What a flight reports while it runs. */
export interface FlightHooks {
  /** The attempt started on `row` (its row is now running). */
  started(row: ChunkRow, attempt: number): void;
  /** Frames of the row's own range tracked so far. */
  progress(row: ChunkRow, framesDone: number): void;
}

/** A chunk's range as tracked: if any of these changed meanwhile (a split next to it), the result is stale. */
export function sameRange(a: ChunkRow, b: ChunkRow): boolean {
  return a.file === b.file && a.file_start === b.file_start && a.frame_count === b.frame_count && a.overlap_frames === b.overlap_frames;
}

/** One attempt at the chunk starting at `firstFrame`, on `runner` (slot `slot`, named `where`). */
export class ChunkFlight {
  readonly slot: number;
  /** Where it runs, as recorded on its attempt (`slot 2 (cuda:1)`). */
  readonly where: string;
  readonly firstFrame: number;
  readonly runner: ChunkRunner;
  readonly done: Promise<FlightEnd>;
  #log: WriteStream | undefined;
  #logged = 0;
  #label: string | undefined;

  constructor(opts: { slot: number; where: string; runner: ChunkRunner; db: Db; jobId: number; dir: string; firstFrame: number; hooks: FlightHooks }) {
    this.slot = opts.slot;
    this.where = opts.where;
    this.runner = opts.runner;
    this.firstFrame = opts.firstFrame;
    this.done = this.#fly(opts).finally(() => this.#closeLog());
  }

  /**
   * A line this slot's worker wrote on stderr: kept in the log of the chunk it tracks. Returns
   * what the line is about (`job 3 chunk 2 attempt 1`) once the attempt has started.
   */
  workerLog(line: string): string | undefined {
    if (this.#log) {
      this.#log.write(`${line}\n`);
      this.#logged += 1;
    }
    return this.#label;
  }

  async #fly(o: { runner: ChunkRunner; db: Db; jobId: number; dir: string; firstFrame: number; hooks: FlightHooks }): Promise<FlightEnd> {
    let ready: ReadyEvent;
    try {
      ready = await o.runner.ready();
    } catch (error) {
      return { type: 'unready', error };
    }
    // Re-read after the (possibly long) load: a split meanwhile may have changed the rows.
    const rows = o.db.listChunks(o.jobId);
    const at = rows.findIndex((r) => r.first_frame === o.firstFrame);
    const row = rows[at];
    if (!row || row.state !== 'pending') return { type: 'gone' };
    o.db.startChunk(o.jobId, row.idx, this.where);
    const attempt = row.attempts + 1;
    this.#label = `job ${o.jobId} chunk ${chunkNumber(row.idx)} attempt ${attempt}`;
    this.#openLog(o.dir, row, attempt);
    o.hooks.started(row, attempt);
    // The slot's row says what it tracks, how fast, and when it was last heard from: every progress
    // report (a heartbeat that does not advance included) counts, written at most once a second.
    const pace = new ChunkPace();
    let seenMs = Date.now();
    let rate: number | null = null;
    o.db.workerChunk(this.where, { jobId: o.jobId, idx: row.idx, framesPerSecond: null });
    try {
      const result = await o.runner.run({
        jobDir: o.dir,
        jobId: o.jobId,
        chunk: row,
        previous: at > 0 ? rows[at - 1] : undefined,
        onProgress: (tracked) => {
          o.hooks.progress(row, Math.max(0, tracked - row.overlap_frames));
          const now = Date.now();
          rate = pace.report(tracked, now) ?? rate;
          if (now - seenMs < 1000) return;
          seenMs = now;
          o.db.workerChunk(this.where, { jobId: o.jobId, idx: row.idx, framesPerSecond: rate });
        },
      });
      return { type: 'done', row, attempt, result, ready };
    } catch (error) {
      this.#logFailure(error);
      return { type: 'failed', row, attempt, error, ready };
    } finally {
      o.db.workerChunk(this.where, undefined);
    }
  }

  /** Open the chunk's worker log for this attempt (appended; a log that cannot be written is only lost, never fatal). */
  #openLog(dir: string, c: ChunkRow, attempt: number): void {
    const file = join(dir, chunkLogFile(c));
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch {
      return;
    }
    const stream = createWriteStream(file, { flags: 'a' });
    stream.on('error', () => {});
    stream.write(`--- chunk ${chunkNumber(c.idx)} (frames ${c.first_frame}-${c.first_frame + c.frame_count - 1}), attempt ${attempt}, ${this.where}, ${new Date().toISOString()} ---\n`);
    this.#log = stream;
  }

  /**
   * How the attempt failed, at the end of its log. A remote worker's stderr never passes through
   * workerLog: its tail, sent with the failure, is written here instead.
   */
  #logFailure(error: unknown): void {
    if (!this.#log) return;
    const tail = error instanceof TrackerError ? error.details.stderrTail : undefined;
    if (this.#logged === 0 && tail) this.#log.write(`${tail}\n`);
    const { kind, message } = classify(error);
    this.#log.write(`--- attempt failed (${kind}): ${message} ---\n`);
  }

  #closeLog(): void {
    this.#log?.end();
    this.#log = undefined;
  }
}
