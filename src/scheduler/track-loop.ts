/**
 * The `track` stage: every chunk of a job not done yet, through the tracker slots (ChunkRunners:
 * one long-lived local worker each), each chunk's transitions recorded as they happen. Each free
 * slot takes the first chunk not done and not in flight, so with several slots the chunks of one
 * job run side by side. Crashes and stalls are retried within the attempt budget with exponential
 * backoff; out of memory resets that slot (a fresh worker) and halves the chunk (down to
 * minChunkFrames); a slot whose backend cannot load gets no more chunks of the job, which fails only
 * when no slot is left; anything else fails the job at once. Where a chunk runs is the runners'
 * business, not this loop's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.ts';
import type { Crashpoints } from '../crashpoint.ts';
import type { ChunkRow, Db, JobRow } from '../db/index.ts';
import { classify, PipelineError, TrackerError, type FailureKind } from '../errors.ts';
import type { TrackerInfo } from '../stages/track.ts';
import type { ReadyEvent } from '../tracker/index.ts';
import { ChunkFlight, sameRange, type FlightEnd, type FlightHooks } from './chunk-flight.ts';
import type { RemoteRunner } from './remote.ts';
import type { ChunkAttempt, ChunkRunner, ChunkTracking, PipelineEvent, TrackControl } from './types.ts';
import { chunkNumber } from '../chunk-number.ts';

type ChunkEventState = Extract<PipelineEvent, { type: 'chunk' }>['state'];

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 15_000;

/** What the loop needs. */
export interface TrackLoopDeps {
  db: Db;
  config: Config;
  /** The tracker slots chunks run on; none only when remote workers claim chunks (`remote`). */
  runners: readonly ChunkRunner[];
  /** Remote workers may claim chunks (claimRemote): a job does not fail for want of a local slot. */
  remote?: boolean;
  emit: (event: PipelineEvent) => void;
  log: (line: string) => void;
  crash: Crashpoints;
}

/** Thrown between chunks once a cancel has been seen: the pipeline records the cancel. */
class Cancelled extends Error {
  constructor(jobId: number) {
    super(`job ${jobId} was cancelled`);
    this.name = 'Cancelled';
  }
}

/** One job's run through the slots: what is in flight, what waits for a retry, which slots are out. */
interface Round {
  job: JobRow;
  dir: string;
  flights: Map<number, ChunkFlight>;
  /** first frame -> earliest time of its next attempt (a retry's backoff). */
  notBefore: Map<number, number>;
  /** Slots whose backend could not load for this job, with the error. */
  unready: Map<number, unknown>;
  info?: Omit<TrackerInfo, 'trackerMs'>;
  /** Wakes the round's loop: a flight was given to it, or it was stopped. */
  wake: Signal;
  /** The job's run is ending (done, failed, cancelled, stopping): no new attempt of it starts. */
  ending?: boolean;
}

/** A promise to wait on, renewed each time it fires. */
class Signal {
  #resolve: () => void = () => {};
  #promise = this.#renew();
  #renew(): Promise<void> {
    return new Promise<void>((resolve) => (this.#resolve = resolve));
  }
  get next(): Promise<void> {
    return this.#promise;
  }
  fire(): void {
    this.#resolve();
    this.#promise = this.#renew();
  }
}

/**
 * Tracks the chunks of every job in its track stage, on every slot; one per pipeline, as its
 * runners are. Several jobs may be tracking at once (the pipeline starts the next job's track stage
 * while the last chunks of one are still in flight): a free slot goes to the job of highest
 * priority, then the oldest, that has a chunk ready to start, so the slots never wait for a job to
 * end and jobs still finish in queue order.
 */
export class TrackLoop implements ChunkTracking {
  readonly #deps: TrackLoopDeps;
  /** The flight on each slot (undefined: free). */
  readonly #onSlot: (ChunkFlight | undefined)[];
  readonly #rounds = new Set<Round>();
  /** posepipe is stopping: no attempt starts any more. */
  #stopping = false;
  /** The latest tracker facts any attempt reported (what a job tracked before a restart is described with, when no local slot exists). */
  #lastReady: ReadyEvent | undefined;

  constructor(deps: TrackLoopDeps) {
    if (deps.runners.length === 0 && !deps.remote) throw new Error('TrackLoop needs at least one runner, or remote workers');
    this.#deps = deps;
    this.#onSlot = deps.runners.map(() => undefined);
  }

  /** A line slot `slot`'s worker wrote on stderr: kept in the log of the chunk it tracks, whose name it returns. */
  workerLog(line: string, slot = 0): string | undefined {
    return this.#onSlot[slot]?.workerLog(line);
  }

  /** Stop the attempts of `jobId` in flight (a cancel); its round then ends at its next look. */
  stopJob(jobId: number): void {
    for (const round of this.#rounds) {
      if (round.job.id !== jobId) continue;
      for (const f of round.flights.values()) void f.runner.stop();
      round.wake.fire();
    }
  }

  /**
   * posepipe is stopping: stop every attempt in flight and start no other, so that a slot freed by
   * the stop is not handed another job's chunk. The chunks stay running; the next start resumes them.
   */
  stopAll(): void {
    this.#stopping = true;
    for (const round of this.#rounds) {
      for (const f of round.flights.values()) void f.runner.stop();
      round.wake.fire();
    }
  }

  /** Track every chunk of `job` not done yet; the stage's output once all are. */
  async trackAll(job: JobRow, dir: string, control: TrackControl): Promise<TrackerInfo> {
    const { db } = this.#deps;
    const round: Round = { job, dir, flights: new Map(), notBefore: new Map(), unready: new Map(), wake: new Signal() };
    this.#rounds.add(round);
    try {
      for (;;) {
        if (control.stopping()) throw new PipelineError('crash', 'posepipe is stopping');
        if (control.cancelled()) throw new Cancelled(job.id);
        const rows = db.listChunks(job.id);
        if (round.flights.size === 0 && rows.every((r) => r.state === 'done')) break;
        const woken = round.wake.next;
        this.#grant();
        if (round.flights.size === 0) {
          await this.#idle(round, rows, woken);
          continue;
        }
        const ended = await Promise.race<{ f: ChunkFlight; end: FlightEnd } | undefined>([
          ...[...round.flights.values()].map((f) => f.done.then((end) => ({ f, end }))),
          woken.then(() => undefined),
          this.#retryTimer(round),
        ]);
        if (!ended) continue;
        round.flights.delete(ended.f.firstFrame);
        try {
          await this.#settle(round, ended.f, ended.end, control);
        } catch (error) {
          // The job's run ends here: the slot freed below must not start another of its chunks.
          round.ending = true;
          throw error;
        } finally {
          this.#free(ended.f.slot);
        }
      }
    } finally {
      round.ending = true;
      try {
        await this.#ground(round, control);
      } finally {
        this.#rounds.delete(round);
        this.#grant();
      }
    }
    round.info ??= await this.#someFacts(round);
    const trackerMs = db.listChunks(job.id).reduce((n, r) => n + (r.tracker_ms ?? 0), 0);
    return { ...round.info, trackerMs };
  }

  /** The slot is free again: give it to whichever job should have it (a remote attempt, slot -1, held none). */
  #free(slot: number): void {
    if (slot >= 0) this.#onSlot[slot] = undefined;
    this.#grant();
  }

  /**
   * A remote worker took the offer of the chunk at `firstFrame` of `jobId`: start its attempt, as a
   * flight on no local slot, when the chunk is pending, not in flight and not waiting to retry.
   * Resolves with the attempt once it is recorded as running; undefined when it cannot be had.
   */
  async claimRemote(jobId: number, firstFrame: number, runner: RemoteRunner): Promise<ChunkAttempt | undefined> {
    const round = [...this.#rounds].find((r) => r.job.id === jobId);
    if (!round || round.ending || this.#stopping || round.flights.has(firstFrame) || (round.notBefore.get(firstFrame) ?? 0) > Date.now()) return undefined;
    const row = this.#deps.db.listChunks(jobId).find((r) => r.first_frame === firstFrame);
    if (!row || row.state !== 'pending') return undefined;
    const flight = new ChunkFlight({ slot: -1, where: runner.where, runner, db: this.#deps.db, jobId, dir: round.dir, firstFrame, hooks: this.#hooks(round) });
    round.flights.set(firstFrame, flight);
    round.wake.fire();
    return Promise.race([runner.started, flight.done.then(() => undefined)]);
  }

  /** Chunks a remote worker could claim now, the first-ranked job's first. */
  offerable(limit: number): { jobId: number; firstFrame: number; attempts: number }[] {
    const out: { jobId: number; firstFrame: number; attempts: number }[] = [];
    const now = Date.now();
    for (const round of this.#ranked()) {
      if (round.ending) continue;
      for (const r of this.#deps.db.listChunks(round.job.id)) {
        if (out.length >= limit) return out;
        if (r.state === 'pending' && !round.flights.has(r.first_frame) && (round.notBefore.get(r.first_frame) ?? 0) <= now) out.push({ jobId: round.job.id, firstFrame: r.first_frame, attempts: r.attempts });
      }
    }
    return out;
  }

  /** The jobs tracking, first the one whose chunks go first: highest priority, then the oldest. */
  #ranked(): Round[] {
    const { db } = this.#deps;
    const priority = new Map([...this.#rounds].map((r) => [r, db.getJob(r.job.id)?.priority ?? 0]));
    return [...this.#rounds].sort((a, b) => priority.get(b)! - priority.get(a)! || a.job.id - b.job.id);
  }

  /** Give each free slot the first chunk ready to start of the first-ranked job that can use that slot. */
  #grant(): void {
    if (this.#stopping || !this.#onSlot.includes(undefined) || this.#rounds.size === 0) return;
    const ranked = this.#ranked();
    const rows = new Map<Round, ChunkRow[]>();
    for (const [slot, runner] of this.#deps.runners.entries()) {
      if (this.#onSlot[slot]) continue;
      for (const round of ranked) {
        if (round.ending || round.unready.has(slot)) continue;
        if (!rows.has(round)) rows.set(round, this.#deps.db.listChunks(round.job.id));
        const now = Date.now();
        const row = rows.get(round)!.find((r) => r.state === 'pending' && !round.flights.has(r.first_frame) && (round.notBefore.get(r.first_frame) ?? 0) <= now);
        if (!row) continue;
        const flight = new ChunkFlight({ slot, where: runner.where, runner, db: this.#deps.db, jobId: round.job.id, dir: round.dir, firstFrame: row.first_frame, hooks: this.#hooks(round) });
        round.flights.set(row.first_frame, flight);
        this.#onSlot[slot] = flight;
        round.wake.fire();
        break;
      }
    }
  }

  /** Resolves when the earliest retry of the round is due (never when none waits). */
  #retryTimer(round: Round): Promise<undefined> {
    const now = Date.now();
    const due = [...round.notBefore.values()].filter((t) => t > now);
    if (due.length === 0) return new Promise(() => {});
    return sleep(Math.min(...due) - now, undefined, { ref: false });
  }

  /**
   * Nothing of the job in flight: wait for a slot (another job's chunk ending), for the earliest
   * retry, or fail when no slot can load the backend.
   */
  async #idle(round: Round, rows: ChunkRow[], woken: Promise<void>): Promise<void> {
    if (!this.#deps.remote && round.unready.size === this.#deps.runners.length) throw [...round.unready.values()].at(-1);
    if (!rows.some((r) => r.state === 'pending')) throw new PipelineError('internal', `job ${round.job.id}: chunks neither done nor pending (${rows.map((r) => r.state).join(', ')})`);
    // A slot freed by another job wakes this one through #grant; a retry coming due, through the timer.
    const due = rows.filter((r) => r.state === 'pending').map((r) => round.notBefore.get(r.first_frame) ?? 0);
    const wait = Math.max(0, Math.min(...due) - Date.now());
    await Promise.race([woken, sleep(wait > 0 ? wait : 1000, undefined, { ref: false })]);
  }

  /** Record how a flight ended, and what happens next to its chunk and its slot. */
  async #settle(round: Round, f: ChunkFlight, end: FlightEnd, control: TrackControl): Promise<void> {
    const { db } = this.#deps;
    if (end.type === 'gone') return;
    // A worker stopped while it loaded (posepipe is stopping) says nothing about the slot.
    if (end.type === 'unready' && control.stopping()) return;
    if (end.type === 'unready') {
      // One slot's backend failing to load (a wrong device, a broken venv there) leaves the others.
      round.unready.set(f.slot, end.error);
      this.#deps.log(`job ${round.job.id}: tracker ${f.where} cannot load its backend: ${classify(end.error).message}`);
      return;
    }
    round.info = facts(end.ready);
    this.#lastReady = end.ready;
    const current = db.listChunks(round.job.id).find((r) => r.first_frame === f.firstFrame);
    if (!current || !sameRange(current, end.row)) {
      // A split of the chunk before changed this one's overlap while it ran: its result does not fit.
      if (current?.state === 'running') db.releaseChunk(round.job.id, current.idx);
      this.#deps.log(`job ${round.job.id}: the chunk at frame ${f.firstFrame} changed while it ran (a split beside it); it is tracked again`);
      return;
    }
    const event = this.#chunkEvents(round.job, db.listChunks(round.job.id), current);
    if (end.type === 'done') {
      db.finishChunk(round.job.id, current.idx, end.result);
      this.#deps.crash.reach('chunk-done');
      event(current.frame_count, 'done');
      return;
    }
    if (control.stopping() || control.cancelled()) throw end.error;
    const failure = this.#recordFailure(round.job, current, end.attempt, end.error);
    event(0, failure.again ? 'retry' : 'failed');
    // Out of memory, or the backend's own exception (a CUDA fault poisons its context), can leave the
    // worker in any state: the next attempt gets a fresh process, its models loaded again.
    if (failure.kind === 'oom' || failure.kind === 'tracker') await f.runner.reset();
    if (failure.split) this.#split(round, current);
    else if (failure.again) round.notBefore.set(f.firstFrame, Date.now() + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (end.attempt - 1)));
    else throw new PipelineError(failure.kind, failure.text);
  }

  /**
   * The job's run ends (done, failed, cancelled or stopping): stop its attempts still in flight on
   * other slots and give their chunks back. A graceful stop leaves the rows running, as a crash
   * would; the next start requeues them.
   */
  async #ground(round: Round, control: TrackControl): Promise<void> {
    const flights = [...round.flights.values()];
    round.flights.clear();
    if (flights.length === 0) return;
    await Promise.all(flights.map((f) => f.runner.stop()));
    await Promise.all(flights.map((f) => f.done));
    for (const f of flights) if (f.slot >= 0) this.#onSlot[f.slot] = undefined;
    if (control.stopping()) return;
    // Whatever attempt of them is still recorded as running (however its flight ended) goes back uncounted.
    const rows = this.#deps.db.listChunks(round.job.id);
    for (const f of flights) {
      const row = rows.find((r) => r.first_frame === f.firstFrame);
      if (row?.state === 'running') this.#deps.db.releaseChunk(round.job.id, row.idx);
    }
  }

  /** Halve the chunk; a chunk after it already tracked with a now shorter overlap is tracked again (db.splitChunk). */
  #split(round: Round, row: ChunkRow): void {
    const { db, config } = this.#deps;
    const end = row.first_frame + row.frame_count;
    const next = () => db.listChunks(round.job.id).find((r) => r.first_frame === end);
    const before = next()?.state;
    db.splitChunk(round.job.id, row.idx, config.overlapFrames);
    if (before === 'done' && next()?.state === 'pending') {
      this.#deps.log(`job ${round.job.id}: the chunk at frame ${end} was tracked with a longer overlap than the split before it leaves; it is tracked again`);
    }
  }

  /** Tracker facts for a job none of whose chunks ran in this round (all tracked before a restart). */
  async #someFacts(round: Round): Promise<Omit<TrackerInfo, 'trackerMs'>> {
    if (this.#deps.runners.length === 0) {
      if (this.#lastReady) return facts(this.#lastReady);
      throw new PipelineError('environment', `job ${round.job.id}: no tracker has reported what it is yet (no local slot, and no remote worker has tracked a chunk since the start)`);
    }
    const slot = Math.max(0, this.#deps.runners.findIndex((_, i) => !round.unready.has(i)));
    return facts(await this.#deps.runners[slot]!.ready());
  }

  /** One flight's progress: its row's frames written at most once a second, every step told to the display. */
  #hooks(round: Round): FlightHooks {
    const { db } = this.#deps;
    let lastWrite = 0;
    let event: ((framesDone: number, state: ChunkEventState) => void) | undefined;
    return {
      started: (row) => {
        event = this.#chunkEvents(round.job, db.listChunks(round.job.id), row);
        event(0, 'running');
      },
      progress: (row, framesDone) => {
        if (Date.now() - lastWrite > 1000) {
          lastWrite = Date.now();
          db.chunkProgress(round.job.id, row.idx, framesDone);
        }
        event?.(framesDone, 'running');
      },
    };
  }

  /** What a progress display is told about chunk `c`: its frames and the whole video's. */
  #chunkEvents(job: JobRow, chunks: ChunkRow[], c: ChunkRow): (framesDone: number, state: ChunkEventState) => void {
    const frames = chunks.reduce((n, r) => n + r.frame_count, 0);
    const framesBefore = chunks.reduce((n, r) => n + (r.state === 'done' ? r.frame_count : 0), 0);
    return (framesDone, state) =>
      this.#deps.emit({
        type: 'chunk',
        jobId: job.id,
        idx: c.idx,
        chunks: chunks.length,
        framesDone: framesBefore + framesDone,
        frames,
        chunkFramesDone: framesDone,
        chunkFrames: c.frame_count,
        state,
      });
  }

  /** Record a failed attempt on the chunk's row and say what happens next. */
  #recordFailure(job: JobRow, c: ChunkRow, attempt: number, error: unknown): { kind: FailureKind; text: string; split: boolean; again: boolean } {
    const { db, config } = this.#deps;
    const { kind, message, retry } = classify(error);
    const details = error instanceof TrackerError ? error.details : {};
    const range = `chunk ${chunkNumber(c.idx)} (frames ${c.first_frame}–${c.first_frame + c.frame_count - 1})`;
    const split = kind === 'oom' && Math.floor(c.frame_count / 2) >= config.minChunkFrames;
    const retried = retry && attempt < config.maxAttempts;
    const text = `${range}, attempt ${attempt}: ${adviceFor(kind, message, c.frame_count, split)}`;
    db.failChunk(job.id, c.idx, { kind, text, exitCode: details.exitCode, signal: details.signal, stderrTail: details.stderrTail }, split || retried);
    // A last failure is told once, as the job's own failure (the same text), not here as well.
    if (split || retried) this.#deps.log(`job ${job.id} ${text}${split ? ' — splitting it in two' : ' — retrying'}`);
    return { kind, text, split, again: split || retried };
  }
}

/**
 * What the job's output says of the tracker. The GPU's index is left out (`cuda:1 (NVIDIA H200)` is
 * `cuda (NVIDIA H200)`): which slot tracked which chunk is not part of the result, so one slot and
 * four give the same bytes.
 */
function facts(ready: ReadyEvent): Omit<TrackerInfo, 'trackerMs'> {
  const { backend, version, precision } = ready;
  const device = ready.device.replace(/^cuda:\d+/, 'cuda');
  return precision === undefined ? { backend, version, device } : { backend, version, device, precision };
}

/** Messages stand alone on the status page: say what to do about each kind. */
function adviceFor(kind: FailureKind, message: string, frames: number, willSplit: boolean): string {
  switch (kind) {
    case 'environment':
      return `${message} — run \`posepipe doctor\``;
    case 'disk':
      return `${message} — free some disk space, then \`posepipe resume\``;
    case 'oom':
      return willSplit
        ? `${message} — out of memory with ${frames} frames`
        : `${message} — out of memory even with ${frames} frames (POSEPIPE_MIN_CHUNK_FRAMES): free GPU memory (other programs), choose a lighter model, or lower the resolution, then resume`;
    default:
      return message;
  }
}
