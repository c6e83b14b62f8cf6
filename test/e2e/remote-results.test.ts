/**
 * Results uploaded to a real `posepipe start` coordinator by a token holder posing as a worker
 * (claims and uploads over HTTP, as a worker makes them), on a real Redis: hostile pickles are
 * refused without harm to the coordinator (alive, /metrics answering within 1 s throughout, no
 * temporary file left, the attempt failed with the limit named), an upload slower than the lease
 * counts, a second upload at once is answered 429, a stalled one is cut off; then a real
 * `posepipe worker` finishes the job with the bytes of a local run.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { ndarray, OP, pickle } from '../helpers/pickle-bytes.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { appsPerTest, queryDb } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const spawnApp = appsPerTest();

const TOKEN = 'test-token-0123456789abcdef';
/** 6 chunks of 25 frames (small.mp4) with 5 overlap frames: 30 frames an attempt after the first. */
const BASE = { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.02' };
/** An attempt of 30 frames may upload 31 MiB (a MiB a frame, a MiB more). */
const CAP_30_FRAMES = 31 * 1024 ** 2;

/** A claim as the coordinator answers it (`lease` once claims carry one). */
interface Claim {
  attempt: number;
  lease?: string;
}

/** The answer to a result upload, and how many bytes were written before it came. */
interface Put {
  status: number;
  body: string;
  sent: number;
}

/** PUT a result as a worker does, piece by piece, stopping as soon as the coordinator answers. */
function put(url: string, claim: Claim, sha256: string, pieces: Iterable<Buffer> | AsyncIterable<Buffer>, length?: number): Promise<Put> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'x-posepipe-sha256': sha256, 'x-posepipe-tracker-ms': '5', 'content-type': 'application/octet-stream' };
  if (length !== undefined) headers['content-length'] = String(length);
  if (claim.lease !== undefined) headers['x-posepipe-lease'] = claim.lease;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/worker/v1/attempts/${claim.attempt}/result`, { method: 'PUT', headers });
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, body: text, sent });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      for await (const piece of pieces) {
        if (answered || req.destroyed) return;
        sent += piece.length;
        if (!req.write(piece)) await writable(req);
      }
      if (!answered) req.end();
    })().catch(() => {});
  });
}

/** Resolves when `req` takes more (drain), or will never (answered, closed). */
function writable(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'response', 'close']) req.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'response', 'close']) req.once(event, done);
  });
}

/** /metrics asked every 100 ms until stopped; the answer times in ms (a failed request fails the test). */
function watchMetrics(url: string): () => Promise<number[]> {
  const times: number[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const started = performance.now();
      const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      await r.text();
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
      const ms = performance.now() - started;
      times.push(ms);
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - ms)));
    }
  })();
  return async () => {
    on = false;
    await loop;
    return times;
  };
}

function sha(...parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

describe('results uploaded by a worker are checked off the main thread, within limits', () => {
  it('hostile pickles are refused without harm, a slow upload keeps its lease, uploads are limited and idle ones cut off; a real worker then finishes the job byte-identical to a local run', async () => {
    // The reference: one local slot; its chunk results are also what an honest worker would upload.
    const refWs = workspace('results-reference');
    const referenceRun = runCli(['run', fixture('small.mp4'), '--workers', '1'], cliEnv(refWs, BASE));

    const ws = workspace('results-coordinator');
    const redis = await redisFor(ws.root);
    const env = cliEnv(ws, { ...BASE, POSEPIPE_REDIS_URL: redis.url, POSEPIPE_WORKER_TOKEN: TOKEN, POSEPIPE_WORKERS: '0', POSEPIPE_LEASE_SECONDS: '2', POSEPIPE_IDLE_SECONDS: '1.5', POSEPIPE_MAX_UPLOADS: '1', POSEPIPE_MAX_ATTEMPTS: '5' });
    const app = spawnApp(['start'], env);
    const url = await waitFor('the coordinator to listen', () => /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())?.[1], 30_000);
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
    await waitFor('the job to reach tracking', () => (queryDb<{ n: number }>(ws, "SELECT count(*) AS n FROM stages WHERE name = 'track' AND state = 'running'")[0]!.n === 1 ? true : undefined), 60_000, 200);

    const ready = { backend: 'test-fixture', version: '0.0.1-test', device: 'cpu', pid: 1, loadSeconds: 0 };
    const claim = (firstFrame: number) =>
      waitFor(`a claim of the chunk at frame ${firstFrame}`, async () => {
        const r = await fetch(`${url}/worker/v1/claim`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ offer: { jobId: 1, firstFrame }, worker: { name: 'probe', host: 'test', ready } }) });
        return r.status === 200 ? ((await r.json()) as Claim) : undefined;
      }, 30_000, 100);
    const leftovers = () => readdirSync(join(ws.home, 'jobs', '1'), { recursive: true, encoding: 'utf8' }).filter((f) => f.startsWith('results') && f.includes('.tmp-'));
    const chunkError = (firstFrame: number) => queryDb<{ error_text: string }>(ws, 'SELECT error_text FROM chunks WHERE first_frame = ?', firstFrame)[0]!.error_text;
    const outcome = (attempt: number) => queryDb<{ outcome: string | null }>(ws, 'SELECT outcome FROM chunk_attempts WHERE id = ?', attempt)[0]!.outcome;
    const alive = () => expect(app.child.exitCode === null && app.child.signalCode === null, 'the coordinator is running').toBe(true);
    const maxMs = (times: number[]) => Math.max(...times);

    /** Upload a hostile result while /metrics is watched; the answer and /metrics' times. */
    async function hostile(firstFrame: number, sha256: string, pieces: Iterable<Buffer> | AsyncIterable<Buffer>, length?: number): Promise<Put & { claim: Claim; times: number[] }> {
      const c = await claim(firstFrame);
      const stop = watchMetrics(url);
      const answer = await put(url, c, sha256, pieces, length);
      // The attempt's end is recorded by the track loop just after the answer.
      await waitFor(`attempt ${c.attempt} to be recorded failed`, () => (outcome(c.attempt) === 'failed' ? true : undefined), 10_000, 50);
      const times = await stop();
      alive();
      expect(leftovers()).toEqual([]);
      return { ...answer, claim: c, times };
    }

    // (a) The probe of 150 MB: `(` then 150 million `N`, with its right sha256.
    const floodHead = Buffer.from([0x80, 5, OP.MARK]);
    const floodMiB = Buffer.alloc(1024 ** 2, OP.NONE);
    const floodTail = Buffer.alloc(150_000_000 % 1024 ** 2, OP.NONE);
    const floodPieces = function* (): Generator<Buffer> {
      yield floodHead;
      for (let i = 0; i < Math.floor(150_000_000 / 1024 ** 2); i++) yield floodMiB;
      yield floodTail;
    };
    const floodSha = sha(...floodPieces());
    const floodBytes = 3 + 150_000_000;
    // Announced: refused before a byte is read.
    const announced = await hostile(0, floodSha, floodPieces(), floodBytes);
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.body).error).toContain(`over ${26 * 1024 ** 2} bytes, the limit for 25 frames`);
    expect(chunkError(0)).toMatch(/worker probe: the result of chunk 1 was refused: it is over 27262976 bytes, the limit for 25 frames \(1048576 a frame, at most maxResultMb 512 MiB\)/);
    // Not announced (chunked): cut off once the stream passes the cap.
    const streamed = await hostile(25, floodSha, floodPieces());
    expect(streamed.status).toBe(413);
    expect(streamed.sent).toBeLessThan(floodBytes);
    expect(chunkError(25)).toContain(`was refused: it is over ${CAP_30_FRAMES} bytes, the limit for 30 frames`);
    // The same flood within the cap reaches the check: the stack limit refuses it in the check's thread.
    const small = Buffer.concat([floodHead, Buffer.alloc(20_000_000, OP.NONE), Buffer.from([OP.STOP])]);
    const stacked = await hostile(50, sha(small), [small], small.length);
    expect(stacked.status).toBe(422);
    expect(chunkError(50)).toContain('was refused: more than 10000 values on the unpickling stack at byte 10003 (the stack limit)');

    // (b) The probe of 2 MB: a Fortran array of 2,000 dimensions of size 1 (5.3 s of event loop before).
    const fortran = pickle(ndarray(new Uint8Array(2_000_000), 'u1', [2_000_000, ...new Array<number>(1999).fill(1)], 'F'));
    const dims = await hostile(75, sha(fortran), [fortran], fortran.length);
    expect(dims.status).toBe(422);
    expect(chunkError(75)).toContain('was refused: a numpy array of 2000 dimensions, more than 64 (the ndim limit)');
    for (const probe of [announced, streamed, stacked, dims]) {
      expect(probe.times.length).toBeGreaterThan(0);
      expect(maxMs(probe.times), `/metrics answer times (ms): ${probe.times.map(Math.round).join(' ')}`).toBeLessThan(1000);
    }

    // An honest result uploaded over ~4 s, twice the lease: bytes arriving keep the attempt.
    expect((await referenceRun).code).toBe(0);
    const refResults = join(refWs.home, 'jobs', '1', 'results');
    const honest = readFileSync(join(refResults, readdirSync(refResults).find((f) => f.startsWith('0000100+'))!));
    const slowClaim = await claim(100);
    const pieces = Array.from({ length: 16 }, (_, i) => honest.subarray(Math.floor((i * honest.length) / 16), Math.floor(((i + 1) * honest.length) / 16)));
    let second: Promise<Put> | undefined;
    let again: Promise<Put> | undefined;
    const started = Date.now();
    const slow = put(url, slowClaim, sha(honest), (async function* () {
      for (const [i, piece] of pieces.entries()) {
        await new Promise((r) => setTimeout(r, 250));
        yield piece;
        // Meanwhile the same attempt's result again (a worker's retry), and a second upload beyond
        // maxUploads (1): both 429, the worker sends them later.
        if (i === 2) again = put(url, slowClaim, sha(honest), [honest], honest.length);
        if (i === 4) second = claim(125).then((c) => put(url, c, sha(honest), [honest], honest.length));
      }
    })(), honest.length);
    expect((await slow).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThan(3000);
    expect(outcome(slowClaim.attempt)).toBe('done');
    const twice = await again!;
    expect(twice.status).toBe(429);
    expect(JSON.parse(twice.body).error).toBe(`attempt ${slowClaim.attempt} has an upload in progress; send it again later`);
    const busy = await second!;
    expect(busy.status).toBe(429);
    expect(JSON.parse(busy.body).error).toMatch(/the most at once \(maxUploads\); send it again later/);

    // An upload that stops sending is cut off after idleSeconds (1.5 s), its temporary file removed.
    const idleClaim = await claim(0);
    let resume!: () => void;
    const stalled = new Promise<void>((r) => (resume = r));
    const idle = await put(url, idleClaim, sha(honest), (async function* () {
      yield honest.subarray(0, 100);
      await stalled;
    })(), honest.length);
    resume();
    expect(idle.status).toBe(408);
    expect(JSON.parse(idle.body).error).toBe('the upload stopped: no byte came for 1.5 s (idleSeconds); send it again');
    expect(leftovers()).toEqual([]);
    alive();

    // A real worker finishes the job: the bytes of the local run.
    const worker = spawnApp(['worker', '--coordinator', url, '--redis', redis.url], cliEnv(workspace('results-worker'), { ...BASE, POSEPIPE_WORKERS: '1', POSEPIPE_WORKER_TOKEN: TOKEN }));
    const out = await waitFor('outbox/small.json', () => {
      try {
        return readFileSync(join(ws.outbox, 'small.json'));
      } catch {
        return undefined;
      }
    }, 120_000, 200);
    expect(out.equals(readFileSync(join(refWs.outbox, 'small.json')))).toBe(true);
    expect(leftovers()).toEqual([]);
    alive();
  }, 240_000);
});
