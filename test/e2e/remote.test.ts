/**
 * GPU machines joining over BullMQ on a real Redis (issue 11, part 3): `posepipe start` with
 * POSEPIPE_REDIS_URL as the coordinator, `posepipe worker` processes taking its chunks. Real
 * processes, a real redis-server per test, the real worker endpoints; nothing mocked.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { QueueEvents } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { QUEUE_NAME, redisConnection } from '../../src/scheduler/index.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { freePort, redisPerTest } from '../helpers/redis.ts';
import { appsPerTest, BASE, TOKEN, type App } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const spawnApp = appsPerTest();


/** `posepipe start` as the coordinator; its status page address. */
async function coordinator(ws: Workspace, redisUrl: string, extra: Record<string, string> = {}): Promise<{ app: App; url: string; env: NodeJS.ProcessEnv }> {
  const env = cliEnv(ws, { ...BASE, POSEPIPE_REDIS_URL: redisUrl, POSEPIPE_WORKER_TOKEN: TOKEN, ...extra });
  const app = spawnApp(['start'], env);
  const url = await waitFor('the coordinator to listen', () => /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())?.[1], 30_000);
  return { app, url, env };
}

/** A `posepipe worker` with one slot, in its own data folder. */
function worker(label: string, url: string, redisUrl: string, extra: Record<string, string> = {}): App {
  const ws = workspace(label);
  const app = spawnApp(['worker', '--coordinator', url, '--redis', redisUrl], cliEnv(ws, { ...BASE, POSEPIPE_WORKERS: '1', POSEPIPE_WORKER_TOKEN: TOKEN, ...extra }));
  return app;
}

let referenceBytes: Buffer | undefined;

/** The output of small.mp4 tracked by one local slot, the reference bytes (made once per file). */
async function reference(): Promise<Buffer> {
  if (referenceBytes) return referenceBytes;
  const ws = workspace('remote-reference');
  const r = await runCli(['run', fixture('small.mp4'), '--workers', '1'], cliEnv(ws, BASE));
  expect(r.code, r.stderr).toBe(0);
  referenceBytes = readFileSync(join(ws.outbox, 'small.json'));
  return referenceBytes;
}

function attempts(ws: Workspace): { first_frame: number; ran_on: string; outcome: string | null }[] {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare('SELECT first_frame, ran_on, outcome FROM chunk_attempts ORDER BY id').all() as { first_frame: number; ran_on: string; outcome: string | null }[];
  } finally {
    db.close();
  }
}

async function outputOf(ws: Workspace): Promise<Buffer> {
  await waitFor('outbox/small.json', () => {
    try {
      return readFileSync(join(ws.outbox, 'small.json'));
    } catch {
      return undefined;
    }
  }, 120_000, 200);
  return readFileSync(join(ws.outbox, 'small.json'));
}

describe('remote workers over BullMQ (posepipe worker)', () => {
  it('a remote worker SIGKILLed mid-chunk, one SIGSTOPped past its lease, one whose tracker stops advancing: others do their chunks, the late upload is refused, the bytes are the same', async () => {
    const expected = await reference();
    const ws = workspace('remote-faults');
    const redis = await redisFor(ws.root);
    // BullMQ's own record of offers whose lock ran out (the stalled check), heard on the real Redis.
    const events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(redis.url) });
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    await events.waitUntilReady();
    try {
      // No local slot: every chunk goes to a remote worker. 50 ms a frame: a chunk takes over a second.
      const slow = { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.05' };
      const { app } = await coordinator(ws, redis.url, { POSEPIPE_WORKERS: '0', POSEPIPE_LEASE_SECONDS: '2', ...slow });
      const url = /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())![1]!;
      const offerOf = (w: App) => / \(attempt \d+, offer (\S+)\) on slot 1/.exec(w.output())?.[1];
      // Its tracker stays alive and keeps sending heartbeats, but its frames stop at 10 in every chunk.
      const stuck = worker('remote-stuck', url, redis.url, { ...slow, POSEPIPE_TEST_FIXTURE_STUCK_AT: '10', POSEPIPE_LEASE_SECONDS: '2' });
      copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
      const stuckOffer = await waitFor('the stuck worker to start a chunk', () => offerOf(stuck), 60_000);
      // One at a time, each started only after the one before holds its chunk, and slow (5 s a chunk):
      // each is killed or frozen in the middle of a chunk, never between two.
      const midChunk = { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.2' };
      const killed = worker('remote-killed', url, redis.url, midChunk);
      await waitFor('the first worker to start a chunk', () => offerOf(killed), 60_000);
      killed.child.kill('SIGKILL');
      const frozen = worker('remote-frozen', url, redis.url, midChunk);
      await waitFor('the second worker to start a chunk', () => offerOf(frozen), 60_000);
      frozen.child.kill('SIGSTOP');
      worker('remote-healthy', url, redis.url, slow);
      // Heartbeats without frames renew neither the coordinator's lease nor the offer's BullMQ lock.
      await waitFor('BullMQ to find the stuck offer stalled', () => (stalled.includes(stuckOffer) ? true : undefined), 30_000);
      stuck.child.kill('SIGKILL');
      await waitFor('the stuck, the killed and the frozen worker to lose their leases', () => ((app.output().match(/its lease is lost/g)?.length ?? 0) >= 3 ? true : undefined), 60_000);
      const out = await outputOf(ws);
      frozen.child.kill('SIGCONT');
      // Woken, it is told its attempt is no longer current: progress or its upload gets 409.
      await waitFor('the frozen worker to hear its attempt was taken back', () => (/took the attempt back|result not taken \(HTTP 409/.test(frozen.output()) ? true : undefined), 30_000);
      expect(out.equals(expected)).toBe(true);
      const tried = attempts(ws);
      expect(tried.filter((a) => a.outcome === 'failed').length).toBeGreaterThanOrEqual(3);
      // Every chunk done exactly once.
      const done = tried.filter((a) => a.outcome === 'done').map((a) => a.first_frame);
      expect(new Set(done).size).toBe(done.length);
      expect(done).toHaveLength(6);
    } finally {
      await events.close();
    }
  }, 180_000);

  it('refuses to listen beyond loopback with a Redis queue but without a worker token, and a worker without its coordinator', async () => {
    const ws = workspace('remote-open');
    const open = await runCli(['start', '--host', '0.0.0.0'], cliEnv(ws, { POSEPIPE_REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('set POSEPIPE_WORKER_TOKEN');
    const lost = await runCli(['worker', '--redis', 'redis://127.0.0.1:1'], cliEnv(ws));
    expect(lost.code).toBe(2);
    expect(lost.stderr).toContain('posepipe worker needs the coordinator: --coordinator http://HOST:PORT');
  });

  it('a worker stopped with SIGTERM while its slot loads a model exits 0 at once and leaves no tracker behind', async () => {
    // Loading comes before any Redis or coordinator call, so neither needs to exist here.
    const loading = worker('remote-stop-loading', 'http://127.0.0.1:1', 'redis://127.0.0.1:1', { POSEPIPE_TEST_FIXTURE_LOAD_SECONDS: '600' });
    await waitFor('the slot to be loading', () => (loading.output().includes('test-fixture: loading for 600 s') ? true : undefined), 30_000);
    const python = readFileSync(`/proc/${loading.child.pid}/task/${loading.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(python.length).toBe(1);
    loading.child.kill('SIGTERM');
    const end = await loading.done;
    expect({ code: end.code, signal: end.signal }, loading.output()).toEqual({ code: 0, signal: null });
    expect(loading.output()).toContain('stopped while its slots were loading');
    expect(existsSync(`/proc/${python[0]}`), 'the loading tracker was left running').toBe(false);
  });

  it('refuses a missing or wrong token (401), a path-like attempt (404), another attempt with this lease (403), a result with a wrong sha256 or a truncated pickle (the chunk is retried)', async () => {
    const ws = workspace('remote-guard');
    const redis = await redisFor(ws.root);
    const { url, env } = await coordinator(ws, redis.url, { POSEPIPE_WORKERS: '0' });
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
    const db = () => new Database(join(ws.home, 'posepipe.db'), { readonly: true });
    await waitFor('the job to reach tracking', () => {
      const d = db();
      try {
        return (d.prepare("SELECT count(*) AS n FROM stages WHERE name = 'track' AND state = 'running'").get() as { n: number }).n === 1 ? true : undefined;
      } finally {
        d.close();
      }
    }, 60_000, 200);
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const ready = { backend: 'test-fixture', version: '1', device: 'cpu', pid: 1, loadSeconds: 0 };
    const claimBody = JSON.stringify({ offer: { jobId: 1, firstFrame: 0 }, worker: { name: 'probe', host: 'test', ready } });
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const r = await fetch(`${url}/worker/v1/claim`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: claimBody });
      expect(r.status, authorization).toBe(401);
    }
    // Nothing was started by the refused claims.
    const d0 = db();
    expect((d0.prepare('SELECT count(*) AS n FROM chunk_attempts').get() as { n: number }).n).toBe(0);
    d0.close();

    const claim = async () => {
      const r = await fetch(`${url}/worker/v1/claim`, { method: 'POST', headers: auth, body: claimBody });
      return r.status === 200 ? ((await r.json()) as { attempt: number; files: string[]; lease: string }) : undefined;
    };
    const first = (await waitFor('a claim of the first chunk', claim, 10_000, 100))!;
    const input = Buffer.from(await (await fetch(`${url}/worker/v1/attempts/${first.attempt}/files/0`, { headers: { ...auth, 'x-posepipe-lease': first.lease } })).arrayBuffer());
    expect(createHash('sha256').update(input).digest('hex')).toBe(createHash('sha256').update(readFileSync(join(ws.home, 'jobs', '1', first.files[0]!))).digest('hex'));
    for (const path of [`${first.attempt}/files/1`, `${first.attempt}/files/..%2F..%2Fposepipe.db`, `..%2F..%2Fetc/files/0`, `1e3/files/0`, `-1/files/0`]) {
      expect((await fetch(`${url}/worker/v1/attempts/${path}`, { headers: { ...auth, 'x-posepipe-lease': first.lease } })).status, path).toBe(404);
    }
    // Another attempt's id with this lease: refused like any call without its own lease.
    expect((await fetch(`${url}/worker/v1/attempts/99999999/files/0`, { headers: { ...auth, 'x-posepipe-lease': first.lease } })).status).toBe(403);
    // A claim of a chunk already running is refused.
    expect((await fetch(`${url}/worker/v1/claim`, { method: 'POST', headers: auth, body: claimBody })).status).toBe(409);

    const put = (attempt: { attempt: number; lease: string }, body: Buffer, sha: string) => fetch(`${url}/worker/v1/attempts/${attempt.attempt}/result`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'x-posepipe-lease': attempt.lease, 'x-posepipe-sha256': sha, 'x-posepipe-tracker-ms': '5' }, body: new Uint8Array(body) });
    const junk = Buffer.from('\x80\x04\x95 not a pickle');
    const wrong = await put(first, junk, 'a'.repeat(64));
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { error: string }).error).toContain('sha256');
    // The attempt is over: the same upload again is not current.
    expect((await put(first, junk, createHash('sha256').update(junk).digest('hex'))).status).toBe(409);
    // The chunk is pending again (after its backoff) and a new attempt takes it; a truncated pickle is refused too.
    const second = (await waitFor('a second claim', claim, 10_000, 100))!;
    expect(second.attempt).toBeGreaterThan(first.attempt);
    const truncated = await put(second, junk, createHash('sha256').update(junk).digest('hex'));
    expect(truncated.status).toBe(422);
    expect(((await truncated.json()) as { error: string }).error).toMatch(/truncated or corrupt pickle/);
    expect((await fetch(`${url}/worker/v1/attempts/${second.attempt}/progress`, { method: 'POST', headers: { ...auth, 'x-posepipe-lease': second.lease }, body: '{"frames": 3}' })).status).toBe(409);

    // No result file was written for the refused uploads, and no temp file is left.
    const d1 = db();
    const row = d1.prepare('SELECT state, attempts, error_text, result_file FROM chunks WHERE first_frame = 0').get() as { state: string; attempts: number; error_text: string; result_file: string | null };
    d1.close();
    expect(row).toMatchObject({ state: 'pending', attempts: 2, result_file: null });
    expect(row.error_text).toMatch(/refused: .*truncated or corrupt pickle/);
    // A real worker then tracks the job to the end (the third attempt is within maxAttempts).
    worker('remote-guard-w', url, redis.url);
    const out = await outputOf(ws);
    expect(JSON.parse(out.toString()).frames).toHaveLength(150);
    const st = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { jobs: { state: string }[] };
    expect(st.jobs.map((j) => j.state)).toEqual(['done']);
  }, 120_000);

  it('Redis killed mid-run and started again empty: the chunks are offered again from SQLite and the job completes once, with the same bytes', async () => {
    const expected = await reference();
    const ws = workspace('remote-redis');
    const redis = await redisFor(ws.root);
    const { app, env } = await coordinator(ws, redis.url, { POSEPIPE_WORKERS: '0' });
    const url = /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())![1]!;
    const w = worker('remote-redis-w', url, redis.url);
    const downSince = async () => (JSON.parse((await runCli(['status', '--json'], env)).stdout) as { redisDownSince: number | null }).redisDownSince;
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
    await waitFor('a first chunk on the worker', () => (w.output().includes(' on slot 1') ? true : undefined), 60_000);
    await redis.kill();
    await waitFor('the coordinator to notice', () => (app.output().includes('Redis does not answer') ? true : undefined), 30_000);
    // status (and the page) say since when remote dispatch waits.
    expect(await downSince()).toBeGreaterThan(Date.now() - 60_000);
    await redis.restart();
    await waitFor('the coordinator to offer again', () => (app.output().includes('Redis answers again') ? true : undefined), 30_000);
    expect(await downSince()).toBeNull();
    expect((await outputOf(ws)).equals(expected)).toBe(true);
    const done = attempts(ws).filter((a) => a.outcome === 'done').map((a) => a.first_frame);
    expect(done).toHaveLength(6);
    expect(new Set(done).size).toBe(6);
  }, 180_000);

  it('the coordinator SIGKILLed while a worker holds a chunk: started again, the job completes once, with the same bytes', async () => {
    const expected = await reference();
    const ws = workspace('remote-coord');
    const redis = await redisFor(ws.root);
    const port = String(await freePort());
    const first = await coordinator(ws, redis.url, { POSEPIPE_WORKERS: '0', POSEPIPE_PORT: port, POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.03' });
    const w = worker('remote-coord-w', first.url, redis.url, { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.03' });
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
    await waitFor('a chunk on the worker', () => (w.output().match(/ on slot 1/g)?.length ?? 0) >= 2 ? true : undefined, 60_000);
    first.app.child.kill('SIGKILL');
    await first.app.done;
    await coordinator(ws, redis.url, { POSEPIPE_WORKERS: '0', POSEPIPE_PORT: port, POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.03' });
    expect((await outputOf(ws)).equals(expected)).toBe(true);
    // The JSON is out before the job is done: its preview stage comes after.
    const jobs = () => {
      const d = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
      try {
        return d.prepare('SELECT state FROM jobs').all() as { state: string }[];
      } finally {
        d.close();
      }
    };
    await waitFor('the job to be done', () => (jobs().every((j) => j.state === 'done') ? true : undefined), 30_000, 100);
    expect(jobs()).toEqual([{ state: 'done' }]);
  }, 180_000);
});
