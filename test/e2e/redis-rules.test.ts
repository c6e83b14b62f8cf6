/**
 * The coordinator's Redis: a password whenever the coordinator listens beyond loopback, the ACL
 * user the docs recommend (checked here against the real redis-server with BullMQ's own traffic),
 * and a queue paused, drained or obliterated by someone else: noticed, shown, and recovered from.
 */
import { copyFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { QUEUE_NAME, redisConnection } from '../../src/scheduler/index.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { appsPerTest, attemptsOf, BASE, outputOf, pageUrl, TOKEN } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const spawnApp = appsPerTest();

const ADMIN_PASSWORD = 'admin-pass-0123456789';
const PASSWORD = 'posepipe-pass-0123456789';
/** The ACL user of the docs: posepipe's keys only, no channels, no @admin or @dangerous command but INFO (ioredis's ready check, BullMQ's version check). */
const ACL_USER = ['posepipe', 'on', `>${PASSWORD}`, '~bull:posepipe-chunks:*', 'resetchannels', '-@all', '+@read', '+@write', '+@connection', '-@admin', '-@dangerous', '-function', '+eval', '+evalsha', '+info'];
/** A Redis that asks for a password, with the ACL user beside its default (admin) user. */
const REDIS_ARGS = ['--requirepass', ADMIN_PASSWORD, '--user', ...ACL_USER];

const counts = async (queue: Queue) => queue.getJobCounts('wait', 'active', 'prioritized');

describe("the coordinator's Redis", () => {
  it('beyond loopback, a Redis URL without a password is refused at start; with one it starts, printing the addresses others use and each warning once', async () => {
    const ws = workspace('redis-password');
    const open = await runCli(['start', '--host', '0.0.0.0'], cliEnv(ws, { POSEPIPE_REDIS_URL: 'redis://127.0.0.1:1', POSEPIPE_WORKER_TOKEN: TOKEN }));
    expect(open.code, open.stderr).toBe(2);
    expect(open.stderr).toContain('Invalid redisUrl (from POSEPIPE_REDIS_URL): posepipe start listens on 0.0.0.0, beyond loopback, so its Redis must ask for a password: use rediss://USER:PASSWORD@HOST:PORT (TLS), or redis://:PASSWORD@HOST:6379');
    expect(open.stdout).not.toContain('status page at');

    const redis = await redisFor(ws.root, REDIS_ARGS);
    const app = spawnApp(['start', '--host', '0.0.0.0'], cliEnv(ws, { ...BASE, POSEPIPE_REDIS_URL: `redis://posepipe:${PASSWORD}@127.0.0.1:${redis.port}`, POSEPIPE_WORKER_TOKEN: TOKEN }));
    const offering = await waitFor('the coordinator to offer chunks', () => /^posepipe: offering chunks .*$/m.exec(app.output())?.[0], 30_000);
    const page = /^posepipe: status page at .*$/m.exec(app.output())![0];
    const port = /127\.0\.0\.1:(\d+)\//.exec(page)![1]!;
    // What other machines use: the machine's name (and its addresses), never 0.0.0.0.
    for (const line of [page, offering]) {
      expect(line).not.toContain('0.0.0.0');
      expect(line).toContain(`http://${hostname()}:${port}/`);
    }
    expect(offering).not.toContain(PASSWORD);
    await waitFor('the clear-text warning', () => (app.output().includes('tokens and results travel in clear') ? true : undefined), 10_000);
    const warnings = app.output().split('\n').filter((l) => l.startsWith('posepipe: warning:'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(new Set(warnings).size, warnings.join('\n')).toBe(warnings.length);
  }, 60_000);

  it('through the ACL user: a queue paused in Redis is shown on the page and in /metrics until resumed, a drained or obliterated one is offered again from SQLite, and the job completes once', async () => {
    const ws = workspace('redis-queue');
    const redis = await redisFor(ws.root, REDIS_ARGS);
    const userUrl = `redis://posepipe:${PASSWORD}@127.0.0.1:${redis.port}`;
    const slow = { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.05' };
    const env = cliEnv(ws, { ...BASE, ...slow, POSEPIPE_WORKERS: '0', POSEPIPE_REDIS_URL: userUrl, POSEPIPE_WORKER_TOKEN: TOKEN });
    const coordinator = spawnApp(['start'], env);
    const url = await pageUrl(coordinator);
    const worker = spawnApp(['worker', '--coordinator', url, '--redis', userUrl], cliEnv(workspace('redis-queue-w'), { ...BASE, ...slow, POSEPIPE_WORKERS: '1', POSEPIPE_WORKER_TOKEN: TOKEN }));
    // Someone else with Redis access (here its admin).
    const other = new Queue(QUEUE_NAME, { connection: redisConnection(`redis://:${ADMIN_PASSWORD}@127.0.0.1:${redis.port}`) });
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    const chunksStarted = () => worker.output().match(/ on slot 1/g)?.length ?? 0;
    try {
      copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
      await waitFor('a first chunk on the worker', () => (chunksStarted() >= 1 ? true : undefined), 60_000);

      await other.pause();
      await waitFor('the coordinator to notice the pause', () => (coordinator.output().includes(`the queue ${QUEUE_NAME} is paused in Redis (not by posepipe)`) ? true : undefined), 10_000);
      expect(await metric('posepipe_remote_queue_paused')).toBe(1);
      const banner = /<div[^>]*id="queue-paused"[^]*?<\/div>/.exec(await (await fetch(url)).text())?.[0];
      expect(banner).toContain('paused in Redis since');
      const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { queuePausedSince: number | null };
      expect(status.queuePausedSince).toBeGreaterThan(Date.now() - 60_000);

      // Emptied while paused: the offers come back from SQLite (new jobs, added after the drain).
      const drainedAt = Date.now();
      await other.drain(true);
      await waitFor('the offers to be made again', async () => ((await other.getJobs(['wait', 'prioritized'])).some((j) => j.timestamp >= drainedAt) ? true : undefined), 10_000, 100);
      // The chunk in flight ends; while the pause lasts no worker takes another.
      await waitFor('no offer active', async () => ((await counts(other)).active === 0 ? true : undefined), 30_000, 100);
      const startedWhilePaused = chunksStarted();
      const attemptsWhilePaused = attemptsOf(ws).length;
      expect((await counts(other)).wait).toBeGreaterThan(0);

      await other.resume();
      await waitFor('the coordinator to notice the resume', () => (coordinator.output().includes(`the queue ${QUEUE_NAME} is resumed`) ? true : undefined), 10_000);
      expect(await metric('posepipe_remote_queue_paused')).toBe(0);
      expect(await (await fetch(url)).text()).not.toContain('id="queue-paused"');
      await waitFor('the worker to take chunks again', () => (chunksStarted() > startedWhilePaused ? true : undefined), 30_000);
      expect(attemptsOf(ws).length).toBeGreaterThan(attemptsWhilePaused);

      // Every key of the queue deleted, the offer in flight included: the job still completes, each chunk once.
      await other.obliterate({ force: true });
      const out = await outputOf(ws);
      expect(JSON.parse(out.toString()).frames).toHaveLength(150);
      const done = attemptsOf(ws).filter((a) => a.outcome === 'done').map((a) => a.first_frame);
      expect(done).toHaveLength(6);
      expect(new Set(done).size).toBe(6);
      // The ACL user carried BullMQ's whole traffic (offers, locks, stalled checks, completion): Redis refused it nothing.
      const admin = new Redis({ host: '127.0.0.1', port: redis.port, password: ADMIN_PASSWORD });
      try {
        expect(await admin.call('ACL', 'LOG')).toEqual([]);
      } finally {
        admin.disconnect();
      }
      expect(coordinator.output() + worker.output()).not.toContain('NOPERM');
    } finally {
      await other.close();
    }
  }, 180_000);
});
