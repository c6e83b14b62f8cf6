/**
 * Remote workers, the coordinator's side (`posepipe start` with POSEPIPE_REDIS_URL). Chunks ready
 * to track are offered on a BullMQ queue (as well as to the local slots); a `posepipe worker` that
 * takes an offer claims it over HTTP, and the claim starts an attempt in SQLite exactly as a local
 * slot's would (the track loop's flight, with a RemoteRunner in place of a local worker). SQLite
 * stays the only source of truth: an offer is only a hint, refused (409) when its chunk is no longer
 * pending; a result, progress or failure is taken only for the attempt that is current (fencing);
 * an attempt whose frames stop advancing for leaseSeconds is taken back and tracked again.
 * Each claim gets its own lease, a random secret: the worker token lets a machine claim, but only
 * the lease lets it act on the attempt it claimed (files, progress, failure, result).
 * Everything in Redis can be rebuilt from SQLite: the offers are re-added every second, and BullMQ
 * ignores an id it already holds, so a queue emptied by someone else is filled again. posepipe never
 * pauses the queue itself: a pause found there (someone else's, through Redis) is logged and shown on
 * the page until it is lifted, and lifted when posepipe starts.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { renameDurably } from '../atomic-file.ts';
import type { Config } from '../config.ts';
import type { ChunkRow, Db } from '../db/index.ts';
import { PipelineError, TrackerError, FAILURE_KINDS, type FailureKind } from '../errors.ts';
import { chunkResultFile, type ChunkResult } from '../stages/track.ts';
import type { ReadyEvent } from '../tracker/index.ts';
import { Leases, type LeaseCheck } from './leases.ts';
import { claimerProblem, parseHello, slotsCapProblem } from './slot-hello.ts';
import { ResultChecker } from './result-check.ts';
import { receiveUpload, RESULT_BYTES_PER_FRAME, resultCap, UploadIdle, UploadTooLarge } from './result-upload.ts';
import { QUEUE_NAME, redisConnection, type Offer } from './redis-queue.ts';
import { RemoteRunner } from './remote-runner.ts';
import type { ChunkAttempt } from './types.ts';
import { chunkNumber } from '../chunk-number.ts';

export { QUEUE_NAME, redisConnection, type Offer } from './redis-queue.ts';
export { RemoteRunner } from './remote-runner.ts';

const OFFER_EVERY_MS = 1000;
const OFFERS_PER_ROUND = 200;
const SWEEP_EVERY_MS = 5000;

/** What the track loop gives the remote side. */
export interface RemoteTracking {
  /** Start an attempt at the chunk for `runner` when it is pending and free; false otherwise. */
  claimRemote(jobId: number, firstFrame: number, runner: RemoteRunner): Promise<ChunkAttempt | undefined>;
  /** Chunks to offer, the first-ranked job's first. */
  offerable(limit: number): { jobId: number; firstFrame: number; attempts: number }[];
}

/** A claimed attempt the coordinator is waiting on. */
interface Held {
  id: number;
  runner: RemoteRunner;
  attempt: ChunkAttempt;
  worker: string;
  framesSeen: number;
  advancedMs: number;
  /** When its worker's row was last marked seen from here (at most once a second). */
  seenMs?: number;
  /** Its result is being received. */
  uploading?: boolean;
  /** Its result is being checked (bounded by the check's own time limit): the lease waits. */
  checking?: boolean;
}

/** An answer of the worker API: an HTTP status and a JSON body. */
export interface WorkerAnswer {
  status: 200 | 404 | 408 | 409 | 413 | 422 | 429;
  body: Record<string, unknown>;
}

/** What a worker says about itself when it claims. */
export interface WorkerHello {
  name: string;
  host: string;
  ready: ReadyEvent;
}

/** The coordinator's remote side: offers on the queue, claims, files, progress, results, leases. */
export class RemoteDispatch {
  readonly #db: Db;
  readonly #config: Config;
  readonly #log: (line: string) => void;
  readonly #tracking: RemoteTracking;
  readonly #queue: Queue;
  readonly #held = new Map<number, Held>();
  readonly #leases = new Leases();
  #sweptMs = 0;
  readonly #checker: ResultChecker;
  /** Result uploads being received or checked now. */
  #uploads = 0;
  #timer: NodeJS.Timeout | undefined;
  #offering = false;
  /** Since when Redis has refused the offers (undefined: it takes them). */
  #downSince: number | undefined;
  /** Since when the queue has been found paused in Redis (undefined: it is not). */
  #pausedSince: number | undefined;

  constructor(deps: { db: Db; config: Config; log: (line: string) => void; tracking: RemoteTracking }) {
    this.#db = deps.db;
    this.#checker = new ResultChecker();
    this.#config = deps.config;
    this.#log = deps.log;
    this.#tracking = deps.tracking;
    this.#queue = new Queue(QUEUE_NAME, { connection: { ...redisConnection(deps.config.redisUrl), enableOfflineQueue: false } });
    // ioredis reports a lost connection as an error event; it reconnects by itself.
    this.#queue.on('error', () => {});
  }

  /** Offer pending chunks and check leases every second until close(). */
  start(): void {
    // A pause left in Redis is not posepipe's (it has its own intake pause): a new coordinator lifts it.
    void this.#queue.isPaused().then(
      async (paused) => {
        if (!paused) return;
        await this.#queue.resume();
        this.#log(`remote dispatch: the queue ${QUEUE_NAME} was paused in Redis; posepipe resumed it`);
      },
      () => {},
    );
    this.#sweepWorkers();
    this.#timer = setInterval(() => {
      this.#expireLeases();
      if (Date.now() - this.#sweptMs >= SWEEP_EVERY_MS) this.#sweepWorkers();
      void this.#offer();
    }, OFFER_EVERY_MS);
  }

  /** Since when remote dispatch has been waiting for Redis, or undefined. */
  redisDownSince(): number | undefined {
    return this.#downSince;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#db.setRedisDownSince(undefined);
    this.#db.setQueuePausedSince(undefined);
    for (const held of this.#held.values()) held.runner.stop();
    await this.#queue.close().catch(() => {});
    await this.#checker.close();
  }

  /** Put every offerable chunk on the queue; an id already there is ignored by BullMQ, so this repeats safely. */
  async #offer(): Promise<void> {
    if (this.#offering) return;
    this.#offering = true;
    try {
      const offers = this.#tracking.offerable(OFFERS_PER_ROUND);
      if (offers.length > 0) {
        await this.#queue.addBulk(
          offers.map((o) => ({
            name: 'chunk',
            data: { jobId: o.jobId, firstFrame: o.firstFrame } satisfies Offer,
            // One offer per chunk and attempt count: re-adding it (every second, or to an emptied Redis) adds nothing.
            opts: { jobId: `c-${o.jobId}-${o.firstFrame}-${o.attempts}`, removeOnComplete: true, removeOnFail: true, attempts: 1 },
          })),
        );
      }
      // Asked every round, offers or not: it is also how Redis's return is noticed.
      this.#notePaused(await this.#queue.isPaused());
      if (this.#downSince !== undefined) {
        this.#log(`remote dispatch: Redis answers again (it was down for ${Math.round((Date.now() - this.#downSince) / 1000)} s); pending chunks offered again`);
        this.#db.setRedisDownSince(undefined);
      }
      this.#downSince = undefined;
    } catch (error) {
      if (this.#downSince === undefined) {
        this.#downSince = Date.now();
        this.#db.setRedisDownSince(this.#downSince);
        this.#log(`remote dispatch: Redis does not answer (${(error as Error).message}); local slots go on, remote workers wait`);
      }
    } finally {
      this.#offering = false;
    }
  }

  /** A pause of the queue made in Redis (no worker takes an offer while it lasts): logged and recorded for the page when it starts and ends. */
  #notePaused(paused: boolean): void {
    if (paused === (this.#pausedSince !== undefined)) return;
    this.#pausedSince = paused ? Date.now() : undefined;
    this.#db.setQueuePausedSince(this.#pausedSince);
    this.#log(paused
      ? `remote dispatch: the queue ${QUEUE_NAME} is paused in Redis (not by posepipe): remote workers take no chunk until it is resumed; local slots go on`
      : `remote dispatch: the queue ${QUEUE_NAME} is resumed; remote workers take chunks again`);
  }

  /** A worker took an offer: start the attempt, or refuse when the chunk is no longer pending here. */
  async claim(offer: unknown, hello: unknown): Promise<WorkerAnswer> {
    const o = offer as Partial<Offer>;
    const h = hello as Partial<WorkerHello>;
    if (!Number.isSafeInteger(o?.jobId) || !Number.isSafeInteger(o?.firstFrame) || typeof h?.name !== 'string' || typeof h.host !== 'string' || !validReady(h.ready)) {
      return { status: 422, body: { error: 'a claim needs jobId, firstFrame and the worker (name, host, ready)' } };
    }
    const problem = claimerProblem(h.name, h.host, h.ready.device);
    if (problem) return { status: 422, body: { error: problem } };
    const name = h.name;
    const runner = new RemoteRunner(`worker ${name}`, h.ready);
    const attempt = await this.#tracking.claimRemote(o.jobId!, o.firstFrame!, runner);
    if (!attempt) return { status: 409, body: { error: `chunk at frame ${o.firstFrame} of job ${o.jobId} is not waiting for a worker` } };
    const row = this.#db.currentAttempt(o.jobId!, o.firstFrame!);
    if (!row) {
      runner.fail(new PipelineError('internal', 'claimed attempt has no row'));
      return { status: 409, body: { error: 'the attempt ended before it started' } };
    }
    this.#held.set(row.id, { id: row.id, runner, attempt, worker: name, framesSeen: 0, advancedMs: Date.now() });
    const lease = this.#leases.issue(row.id, (id) => this.#held.has(id));
    this.#db.seenWorker(`worker ${name}`, h.host, h.ready.device, { jobId: attempt.jobId, idx: attempt.chunk.idx });
    return {
      status: 200,
      body: { attempt: row.id, number: row.attempt, jobId: attempt.jobId, chunk: attempt.chunk, previous: attempt.previous ?? null, files: this.#files(attempt).map((f) => f.name), leaseSeconds: this.#config.leaseSeconds, lease },
    };
  }

  /**
   * Whether `lease` (the x-posepipe-lease header) is the lease of attempt `attemptId`: checked
   * before any call for an attempt reads its body. A caller without the lease learns nothing of
   * which attempts exist or are current ('refused' for all); the lease's holder hears 'ended' once
   * its attempt is over (or 'refused' after the coordinator restarted: leases live in its memory).
   */
  leaseCheck(attemptId: number, lease: string | undefined): LeaseCheck {
    return this.#leases.check(attemptId, lease, this.#held.has(attemptId));
  }

  /** A worker's heartbeat: its slots that track nothing (ready, unhealthy with the load error, or stopped), so the page shows them and when they were last seen. */
  hello(slots: unknown): WorkerAnswer {
    const hello = parseHello(slots);
    if ('problem' in hello) return { status: hello.status, body: { error: hello.problem } };
    const said = hello.slots;
    const full = slotsCapProblem(this.#db.remoteWorkerNames(), said);
    if (full) return { status: 429, body: { error: full } };
    const held = new Set([...this.#held.values()].map((h) => h.worker));
    for (const s of said) {
      // A slot the coordinator holds an attempt for keeps its chunk (the hello may have crossed the claim); it was heard from all the same.
      if (held.has(s.name) && s.health === 'ready') {
        this.#db.workerSeen(`worker ${s.name}`);
        continue;
      }
      const error = typeof s.error === 'string' ? s.error.slice(0, 2000) : undefined;
      this.#db.seenWorker(`worker ${s.name}`, s.host, s.device, undefined, { state: s.health, error });
    }
    return { status: 200, body: { ok: true } };
  }

  /** Remote slots not heard from for workerExpirySeconds leave the workers table (those holding an attempt stay: a long upload says nothing). */
  #sweepWorkers(): void {
    this.#sweptMs = Date.now();
    const holding = [...this.#held.values()].map((h) => `worker ${h.worker}`);
    this.#db.expireRemoteWorkers(Date.now() - this.#config.workerExpirySeconds * 1000, holding);
  }

  /** The input files of an attempt: its chunk's file, and the previous row's when the overlap lies there. */
  #files(attempt: ChunkAttempt): { name: string; path: string }[] {
    const files = [attempt.chunk.file];
    if (attempt.previous && attempt.chunk.overlap_frames > 0 && attempt.previous.file !== attempt.chunk.file) files.unshift(attempt.previous.file);
    return files.map((name) => ({ name, path: join(attempt.jobDir, name) }));
  }

  /** The path of input file `n` of a current attempt; undefined for anything else. */
  file(attemptId: number, n: number): string | undefined {
    const held = this.#held.get(attemptId);
    return held ? this.#files(held.attempt)[n]?.path : undefined;
  }

  /** Frames tracked so far (the overlap included): the lease is renewed only while they advance. */
  progress(attemptId: number, frames: unknown): WorkerAnswer {
    const held = this.#held.get(attemptId);
    if (!held) return { status: 409, body: { error: `attempt ${attemptId} is not current` } };
    if (typeof frames === 'number' && Number.isFinite(frames) && frames > held.framesSeen) {
      held.framesSeen = frames;
      held.advancedMs = Date.now();
      // The flight writes the worker's row (chunk, frames/s, last seen) from here, at most once a second.
      held.attempt.onProgress(frames);
    } else {
      // Progress that did not advance (seeking, a slow batch) renews no lease, but its worker was heard from.
      this.#seen(held);
    }
    return { status: 200, body: { ok: true } };
  }

  /** The held attempt's worker was heard from: its row's last seen moves (at most once a second). */
  #seen(held: Held): void {
    const now = Date.now();
    if (now - (held.seenMs ?? 0) < 1000) return;
    held.seenMs = now;
    this.#db.workerSeen(`worker ${held.worker}`);
  }

  /** The worker's tracker failed the attempt: recorded as a local failure would be (retry, split, fail). */
  failed(attemptId: number, report: unknown): WorkerAnswer {
    const held = this.#held.get(attemptId);
    if (!held) return { status: 409, body: { error: `attempt ${attemptId} is not current` } };
    const r = (report ?? {}) as { kind?: string; message?: string; exitCode?: number; signal?: string; stderrTail?: string };
    const kind: FailureKind = FAILURE_KINDS.includes(r.kind as FailureKind) ? (r.kind as FailureKind) : 'crash';
    const text = `${held.runner.where}: ${typeof r.message === 'string' ? r.message.slice(0, 2000) : 'the tracker failed'}`;
    this.#release(held, new TrackerError(kind, text, { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stderrTail: typeof r.stderrTail === 'string' ? r.stderrTail.slice(-4000) : undefined }));
    return { status: 200, body: { ok: true } };
  }

  /**
   * A result upload: written under a temporary name while its sha256 is computed, within a size cap
   * from the attempt's frames (413 as soon as it is passed, or at once when Content-Length says so)
   * and an idle limit; each piece renews the attempt's lease. Then checked off the main thread (the
   * sha256 the worker sent, a pickle within its limits holding exactly the attempt's frames) and put
   * in place. A result refused fails the attempt, with the reason, and the chunk is retried; the
   * temporary file never outlives the request. At most maxUploads at once (429: send it later).
   */
  async result(attemptId: number, body: Readable | null, sha256: string | undefined, trackerMs: unknown, announcedBytes?: number): Promise<WorkerAnswer> {
    const held = this.#held.get(attemptId);
    if (!held) return { status: 409, body: { error: `attempt ${attemptId} is not current; its result is discarded` } };
    if (!body || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return { status: 422, body: { error: 'a result needs a body and its sha256 (X-Posepipe-Sha256)' } };
    // Its worker is alive with the result in hand: waiting for a turn does not cost it the attempt.
    const later = (why: string): WorkerAnswer => ((held.advancedMs = Date.now()), { status: 429, body: { error: `${why}; send it again later` } });
    // Two uploads of one attempt would write the same temporary file (a retry may come before the first one's idle cut-off).
    if (held.uploading) return later(`attempt ${attemptId} has an upload in progress`);
    if (this.#uploads >= this.#config.maxUploads) return later(`${this.#uploads} results are being uploaded, the most at once (maxUploads)`);
    const { chunk, previous, jobDir } = held.attempt;
    const overlap = previous ? chunk.overlap_frames : 0;
    const frames = chunk.frame_count + overlap;
    const cap = resultCap(frames, this.#config.maxResultMb);
    const tooLarge = (): WorkerAnswer => {
      const limit = `${cap} bytes, the limit for ${frames} frames (${RESULT_BYTES_PER_FRAME} a frame, at most maxResultMb ${this.#config.maxResultMb} MiB)`;
      if (this.#held.get(attemptId) === held) this.#release(held, new TrackerError('crash', `${held.runner.where}: the result of chunk ${chunkNumber(chunk.idx)} was refused: it is over ${limit}`));
      return { status: 413, body: { error: `result refused: it is over ${limit}; the chunk is tracked again` } };
    };
    if (announcedBytes !== undefined && announcedBytes > cap) return tooLarge();
    const file = chunkResultFile(chunk);
    // The name reconcile.ts clears after a kill: `results/*.pkl.tmp-<pid>` (one upload per chunk at a time: one attempt is current).
    const part = join(jobDir, `${file}.tmp-${process.pid}`);
    this.#uploads++;
    held.uploading = true;
    try {
      mkdirSync(join(jobDir, 'results'), { recursive: true });
      let got: { bytes: number; sha256: string };
      try {
        got = await receiveUpload(body, part, {
          capBytes: cap,
          idleSeconds: this.#config.idleSeconds,
          // Bytes arriving are work advancing: a slow upload keeps its lease.
          onBytes: () => {
            held.advancedMs = Date.now();
            this.#seen(held);
          },
        });
      } catch (error) {
        if (error instanceof UploadTooLarge) return tooLarge();
        if (error instanceof UploadIdle) return { status: 408, body: { error: `the upload stopped: ${error.message} (idleSeconds); send it again` } };
        // The upload broke off: the worker retries it while the attempt is current.
        return { status: 422, body: { error: `the upload broke off (${(error as Error).message}); send it again` } };
      }
      if (this.#held.get(attemptId) !== held) return { status: 409, body: { error: `attempt ${attemptId} is not current; its result is discarded` } };
      // The check has its own time limit: the lease waits for it.
      held.checking = true;
      const problem = got.sha256 !== sha256 ? `its sha256 is ${got.sha256}, not the ${sha256} the worker sent (damaged on the way)` : await this.#checker.problem(part, chunk.first_frame - overlap, frames);
      held.checking = false;
      if (this.#held.get(attemptId) !== held) return { status: 409, body: { error: `attempt ${attemptId} is not current; its result is discarded` } };
      if (problem) {
        this.#release(held, new TrackerError('crash', `${held.runner.where}: the result of chunk ${chunkNumber(chunk.idx)} was refused: ${problem}`));
        return { status: 422, body: { error: `result refused: ${problem}; the chunk is tracked again` } };
      }
      await renameDurably(part, join(jobDir, file));
      this.#held.delete(attemptId);
      held.runner.finish({ file, bytes: got.bytes, sha256: got.sha256, trackerMs: typeof trackerMs === 'number' && Number.isFinite(trackerMs) && trackerMs >= 0 ? Math.round(trackerMs) : 0 });
      return { status: 200, body: { ok: true } };
    } finally {
      this.#uploads--;
      held.uploading = false;
      rmSync(part, { force: true });
    }
  }

  /** End a held attempt with an error; the track loop records it and decides what comes next. */
  #release(held: Held, error: unknown): void {
    this.#held.delete(held.id);
    held.runner.fail(error);
  }

  /** Attempts whose frames stopped advancing for leaseSeconds: taken back (tracked again elsewhere). */
  #expireLeases(): void {
    const leaseMs = this.#config.leaseSeconds * 1000;
    for (const held of [...this.#held.values()]) {
      if (held.checking || Date.now() - held.advancedMs <= leaseMs) continue;
      this.#log(`job ${held.attempt.jobId}: ${held.runner.where} tracked no frame of chunk ${chunkNumber(held.attempt.chunk.idx)} for ${this.#config.leaseSeconds} s: its lease is lost and the chunk is tracked again`);
      this.#release(held, new TrackerError('stall', `${held.runner.where} lost its lease: no frame advanced for ${this.#config.leaseSeconds} s (a frozen, killed or unreachable worker)`));
    }
  }

  /** Attempts held now, for the page: the worker and the chunk. */
  heldAttempts(): { id: number; worker: string; jobId: number; chunk: ChunkRow }[] {
    return [...this.#held.values()].map((h) => ({ id: h.id, worker: h.worker, jobId: h.attempt.jobId, chunk: h.attempt.chunk }));
  }
}

function validReady(r: unknown): r is ReadyEvent {
  const x = r as Partial<ReadyEvent> | undefined;
  return typeof x?.backend === 'string' && typeof x.version === 'string' && typeof x.device === 'string';
}
