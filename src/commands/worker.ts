/**
 * `posepipe worker --coordinator http://HOST:PORT --redis redis://HOST:6379`: a GPU machine joining a
 * coordinator (`posepipe start` with POSEPIPE_REDIS_URL). Its own pool of slots (the `workers`
 * setting, one long-lived tracker each) takes chunk offers from the BullMQ queue; for each it claims
 * the attempt from the coordinator, downloads the chunk's input files, tracks them, reports progress
 * (which keeps its lease) and uploads the result. Nothing is decided here: the coordinator's SQLite
 * says which attempt is current, and refuses (409) anything else.
 *
 * The BullMQ lock of an offer is renewed only while the tracker's frames advance (and while the
 * inputs download), never by a timer: a worker whose tracker hangs or freezes loses the offer to
 * BullMQ's stalled check as it loses the attempt to the coordinator's lease.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import { ConfigError, type Config } from '../config.ts';
import { classify, TrackerError } from '../errors.ts';
import { terminalSafe } from '../progress.ts';
import { isLoopback } from '../server/index.ts';
import { readWorkerCa } from '../tls-files.ts';
import { planSlots, QUEUE_NAME, redisConnection, type Offer } from '../scheduler/index.ts';
import { hashFile } from '../stages/stage.ts';
import { trackChunk } from '../stages/track.ts';
import type { ReadyEvent, TrackerWorker } from '../tracker/index.ts';
import { CoordinatorClient, CoordinatorTrustError, HttpError, type CoordinatorAnswer } from './coordinator-client.ts';
import { redactUrl } from './start.ts';
import { slotTracker } from './shared.ts';
import { localInputName, localRows, parseClaim, type Claim } from './claim-reply.ts';
import { chunkNumber } from '../chunk-number.ts';

/** How long a finished result's upload is retried while the coordinator cannot be reached. */
const UPLOAD_RETRY_MS = 10 * 60_000;
const PROGRESS_EVERY_MS = 500;
/** How often a worker tells the coordinator about its free and unhealthy slots (its "last seen"). */
const HELLO_EVERY_MS = 5000;

/** What a worker says of one of its slots that tracks nothing. */
interface SlotHello {
  name: string;
  host: string;
  device?: string;
  health: 'ready' | 'unhealthy' | 'stopped';
  error?: string;
}

/** Remove `path`, which must lie inside `root` (the worker's own folder): a path built from anything a coordinator said is checked again here, where it would be deleted. */
function removeInside(root: string, path: string): void {
  const full = resolve(path);
  if (!full.startsWith(resolve(root) + sep)) throw new Error(`refusing to delete ${full}: it is not inside the worker's folder ${resolve(root)}`);
  rmSync(full, { recursive: true, force: true });
}

/** `posepipe worker`: runs until SIGINT/SIGTERM; exit 2 without a coordinator or Redis. */
export async function workerCommand(config: Config): Promise<number> {
  if (!config.coordinator) throw new ConfigError('posepipe worker needs the coordinator: --coordinator http://HOST:PORT (or POSEPIPE_COORDINATOR)');
  if (!config.redisUrl) throw new ConfigError('posepipe worker needs the coordinator\'s Redis: --redis redis://HOST:6379 (or POSEPIPE_REDIS_URL)');
  const log = (line: string) => console.log(terminalSafe(line));
  const name = `${hostname()}:${process.pid}`;
  const slots = planSlots(config.workers === '0' ? '1' : config.workers, config.tracker, process.env);
  const trackers: TrackerWorker[] = slots.map((slot, i) => slotTracker(config, slot, (line) => console.error(terminalSafe(`[slot ${i + 1}] ${line}`))));
  const slotName = (i: number) => `${name}#${i + 1}`;
  const work = join(config.home, 'remote', String(process.pid));
  const coordinator = new CoordinatorClient(config.coordinator, { token: config.workerToken, idleMs: config.idleSeconds * 1000, ...readWorkerCa(config) });
  const coordinatorUrl = new URL(config.coordinator);
  if (config.ca && coordinatorUrl.protocol !== 'https:') log(`posepipe worker: warning: --ca ${config.ca} is not used: the coordinator ${config.coordinator} is not https`);
  if (coordinatorUrl.protocol === 'http:' && !isLoopback(coordinatorUrl.hostname.replace(/^\[|\]$/g, ''))) log(`posepipe worker: warning: the worker token, the chunks and the results travel in clear to ${config.coordinator}; serve the coordinator over https (tlsCert and tlsKey) and pass --ca FILE here if its certificate is self-signed`);
  let stopping = false;
  /** Uploads being retried: while any is, no new offer is taken. */
  let retrying = 0;

  // A stop asked for at any moment, even while the slots load, ends the worker gracefully (exit 0).
  let stopAsked = false;
  let loading = true;
  let resolveStop!: () => void;
  const stopped = new Promise<void>((r) => (resolveStop = r));
  const onSignal = () => {
    stopAsked = true;
    // A model may take minutes to load: a stop does not wait for it.
    if (loading) for (const t of trackers) void t.stop().catch(() => {});
    resolveStop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // A certificate the worker cannot trust is a setting to fix: said at once (exit 2), before minutes of
  // model loading and before any offer is taken. A coordinator not up yet is waited for, as before.
  const trust = await coordinator.post('/worker/v1/hello', { slots: [] }, HELLO_EVERY_MS).catch((error: unknown) => error);
  if (trust instanceof CoordinatorTrustError) {
    coordinator.close();
    throw new ConfigError(trust.message);
  }

  // Every slot loads its backend before any offer is taken (an offer's lock is not renewed while a model loads).
  const loads = await Promise.allSettled(trackers.map((t) => t.start()));
  loading = false;
  if (stopAsked) {
    log('posepipe worker: stopped while its slots were loading');
    await Promise.all(trackers.map((t) => t.stop()));
    return 0;
  }
  const unhealthy = new Map<number, string>();
  for (const [i, load] of loads.entries()) {
    if (load.status === 'rejected') {
      unhealthy.set(i, (load.reason as Error).message);
      log(`posepipe worker: slot ${i + 1}${slots[i]!.device ? ` (${slots[i]!.device})` : ''} cannot load its backend and takes no chunks: ${(load.reason as Error).message}`);
    }
  }
  const healthy = trackers.map((_, i) => i).filter((i) => !unhealthy.has(i));
  const free = [...healthy].reverse();
  let helloTrouble = '';
  const hello = (health?: 'stopped'): Promise<unknown> =>
    coordinator
      .post('/worker/v1/hello', {
        slots: slots.map((slot, i): SlotHello | undefined => {
          if (unhealthy.has(i)) return { name: slotName(i), host: hostname(), device: slot.device ?? undefined, health: 'unhealthy', error: unhealthy.get(i) };
          if (health) return { name: slotName(i), host: hostname(), health };
          const ready = loads[i]!.status === 'fulfilled' ? (loads[i] as PromiseFulfilledResult<ReadyEvent>).value : undefined;
          return free.includes(i) ? { name: slotName(i), host: hostname(), device: ready?.device, health: 'ready' } : undefined;
        }).filter((x) => x !== undefined),
      }, HELLO_EVERY_MS)
      .then(
        () => (helloTrouble = ''),
        (error: unknown) => {
          // A certificate changed on the coordinator while this worker runs: said once, not every 5 s.
          if (error instanceof CoordinatorTrustError && helloTrouble !== error.message) log(`posepipe worker: ${error.message}`);
          helloTrouble = error instanceof CoordinatorTrustError ? error.message : '';
        },
      );
  if (healthy.length === 0) {
    await hello();
    await Promise.all(trackers.map((t) => t.stop()));
    throw new ConfigError(`posepipe worker: no slot could load the ${config.tracker} backend (${[...unhealthy.values()][0]}); run posepipe doctor`);
  }
  const leaseMs = { now: config.leaseSeconds * 1000 };

  const worker = new Worker<Offer>(
    QUEUE_NAME,
    async (job: Job<Offer>, token?: string) => {
      const slot = free.pop();
      if (slot === undefined) throw new Error('no free slot (BullMQ gave more offers than the concurrency)');
      // Keep the offer's BullMQ lock for another lease; called only when work advances.
      const renew = () => {
        if (token) job.extendLock(token, leaseMs.now).catch(() => {});
      };
      try {
        return await runOffer(job.data, job.id ?? '?', slot, renew);
      } finally {
        free.push(slot);
      }
    },
    {
      connection: redisConnection(config.redisUrl),
      concurrency: healthy.length,
      autorun: false,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
      // No timer renews the lock: runOffer does, each time the tracker's frames advance.
      skipLockRenewal: true,
      lockDuration: leaseMs.now,
      stalledInterval: Math.min(30_000, leaseMs.now),
    },
  );
  worker.on('error', (error) => log(`posepipe worker: Redis: ${error.message}`));

  async function runOffer(offer: Offer, offerId: string, slot: number, renew: () => void): Promise<string> {
    const tracker = trackers[slot]!;
    const ready = await tracker.start();
    const claimed = await coordinator.post('/worker/v1/claim', { offer, worker: { name: slotName(slot), host: hostname(), ready } });
    if (claimed.status === 409) return 'taken';
    if (claimed.status !== 200) throw new HttpError(claimed.status, `claim: HTTP ${claimed.status} ${terminalSafe(JSON.stringify(claimed.body).slice(0, 500))}`);
    let claim: Claim;
    try {
      claim = parseClaim(claimed.body);
    } catch (error) {
      const message = `the coordinator's claim reply is refused, nothing of it used: ${(error as Error).message}`;
      log(`offer ${offerId}: ${message}`);
      await refuseClaim(claimed.body, message);
      throw error;
    }
    leaseMs.now = claim.leaseSeconds * 1000;
    renew();
    // Every later call for the attempt carries its lease: the worker token alone acts on no attempt.
    const lease = { 'x-posepipe-lease': claim.lease };
    const dir = join(work, `attempt-${claim.attempt}`);
    const base = `/worker/v1/attempts/${claim.attempt}`;
    const { chunk, previous } = localRows(claim);
    let lost = false;
    try {
      for (const i of claim.files.keys()) {
        await coordinator.download(`${base}/files/${i}`, join(dir, localInputName(claim, i)), lease);
        renew();
      }
      log(`job ${claim.jobId} chunk ${chunkNumber(claim.chunk.idx)} (attempt ${claim.number}, offer ${offerId}) on slot ${slot + 1}`);
      let sentMs = 0;
      let renewedMs = 0;
      let framesSeen = 0;
      const result = await trackChunk({
        tracker,
        jobDir: dir,
        jobId: claim.jobId,
        chunk,
        previous,
        onProgress: (frames) => {
          if (lost) return;
          // Heartbeats that repeat a frame keep the local tracker alive, but not the offer's lock.
          if (frames > framesSeen && Date.now() - renewedMs >= PROGRESS_EVERY_MS) {
            framesSeen = frames;
            renewedMs = Date.now();
            renew();
          }
          if (Date.now() - sentMs < PROGRESS_EVERY_MS) return;
          sentMs = Date.now();
          // The lease lives on the coordinator (renewed there only when frames advance): an attempt it no longer holds is abandoned at once.
          coordinator.post(`${base}/progress`, { frames }, undefined, lease).then(
            (r) => {
              // 403: the coordinator no longer knows the lease (it restarted): the attempt is gone as surely as with 409.
              if ((r.status === 409 || r.status === 403) && !lost) {
                lost = true;
                log(`job ${claim.jobId} chunk ${chunkNumber(claim.chunk.idx)}: the coordinator took the attempt back; abandoning it`);
                void tracker.stop();
              }
            },
            () => {},
          );
        },
      }).catch(async (error: unknown) => {
        if (lost) throw error;
        const c = classify(error);
        const details = error instanceof TrackerError ? error.details : {};
        await coordinator.post(`${base}/failed`, { kind: stopping ? 'crash' : c.kind, message: stopping ? `${slotName(slot)} is stopping` : c.message, exitCode: details.exitCode, signal: details.signal, stderrTail: details.stderrTail }, undefined, lease).catch(() => {});
        if (c.kind === 'oom') await tracker.recycle();
        throw error;
      });
      await uploadResult(`${base}/result`, join(dir, result.file), result.trackerMs, claim, lease);
      return 'done';
    } catch (error) {
      if (lost) return 'lost';
      throw error;
    } finally {
      removeInside(work, dir);
    }
  }

  /**
   * Tell the coordinator a claim reply was refused, when its attempt id and lease at least are
   * well-formed (else its lease runs out). As a crash: the chunk is tried again, elsewhere perhaps,
   * within the attempts budget.
   */
  async function refuseClaim(body: Record<string, unknown>, message: string): Promise<void> {
    const attempt = body.attempt;
    const lease = body.lease;
    if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1 || typeof lease !== 'string' || !/^[A-Za-z0-9_-]{32}$/.test(lease)) return;
    await coordinator.post(`/worker/v1/attempts/${attempt}/failed`, { kind: 'crash', message }, undefined, { 'x-posepipe-lease': lease }).catch(() => {});
  }

  /** PUT the result; while the coordinator cannot be reached or is busy (429), retry with backoff for a bounded time and take nothing new. */
  async function uploadResult(path: string, file: string, trackerMs: number, claim: Claim, lease: Record<string, string>): Promise<void> {
    const headers = { ...lease, 'x-posepipe-sha256': await hashFile(file), 'x-posepipe-tracker-ms': String(trackerMs) };
    const until = Date.now() + UPLOAD_RETRY_MS;
    let wait = 500;
    for (;;) {
      let answer: CoordinatorAnswer | undefined;
      try {
        answer = await coordinator.upload(path, file, headers);
      } catch (error) {
        answer = undefined;
        if (Date.now() > until) throw new Error(`the coordinator could not be reached for ${UPLOAD_RETRY_MS / 60_000} minutes; the result of job ${claim.jobId} chunk ${chunkNumber(claim.chunk.idx)} is dropped (${(error as Error).message})`);
      }
      // 429: the coordinator takes a few results at a time; this one is sent again after the backoff.
      if (answer && answer.status < 500 && answer.status !== 429) {
        if (answer.status !== 200) log(`job ${claim.jobId} chunk ${chunkNumber(claim.chunk.idx)}: result not taken (HTTP ${answer.status}: ${String(answer.body.error ?? '')})`);
        break;
      }
      if (retrying++ === 0) await worker.pause(true);
      try {
        await sleep(wait);
      } finally {
        if (--retrying === 0) worker.resume();
      }
      wait = Math.min(10_000, wait * 2);
    }
  }

  clearStale(join(config.home, 'remote'));
  mkdirSync(work, { recursive: true });
  void worker.run();
  void hello();
  const heartbeat = setInterval(() => void hello(), HELLO_EVERY_MS);
  log(`posepipe worker ${name}: ${healthy.length} slot(s) taking chunks from ${redactUrl(config.redisUrl)} for ${config.coordinator}`);
  await stopped;
  stopping = true;
  log('posepipe worker: stopping (chunks in flight are given back to the coordinator)');
  clearInterval(heartbeat);
  await Promise.all(trackers.map((t) => t.stop()));
  await worker.close().catch(() => {});
  await hello('stopped');
  coordinator.close();
  rmSync(work, { recursive: true, force: true });
  return 0;
}

/** The folders of earlier workers on this machine that were killed (their pid is gone): their half-done inputs and results. */
function clearStale(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^\d+$/.test(name) ? Number(name) : NaN;
    if (Number.isNaN(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // alive (or someone else's): leave it
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    rmSync(join(root, name), { recursive: true, force: true });
  }
}
