/**
 * A real `posepipe worker` taking offers from a real Redis, whose "coordinator" is a small HTTP
 * server in this test answering each claim with a hostile reply (a path-like attempt, a `..` file,
 * an absolute chunk file, a frame number that is a path, no lease). The worker refuses each, naming
 * the field, downloads nothing, and deletes nothing: a canary folder that the old
 * `join(work, 'attempt-' + attempt)` would have removed is still there with its files.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { QUEUE_NAME, redisConnection } from '../../src/scheduler/index.ts';
import { cliEnv } from '../helpers/cli.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { appsPerTest } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const TOKEN = 'test-token-0123456789abcdef';
const spawnApp = appsPerTest();

interface Heard {
  method: string;
  path: string;
  lease: string | undefined;
  body: string;
}

/** The fake coordinator: hello is answered ok, each claim with the next reply; every request is kept. */
function fakeCoordinator(replies: Record<string, unknown>[]): Promise<{ server: Server; url: string; heard: Heard[] }> {
  const heard: Heard[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      heard.push({ method: req.method ?? '', path: req.url ?? '', lease: req.headers['x-posepipe-lease'] as string | undefined, body });
      const reply = req.url === '/worker/v1/claim' ? replies.shift() : undefined;
      res.writeHead(reply || req.url === '/worker/v1/hello' ? 200 : 404, { 'content-type': 'application/json' });
      // Anything else (a file download) would get bytes: the worker must never ask.
      res.end(JSON.stringify(reply ?? { ok: true }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, heard })));
}

/** Every file and folder under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('a worker facing a hostile coordinator', () => {
  it('refuses path-like claim replies, naming the field, and deletes nothing outside its own folder', async () => {
    const ws = workspace('hostile-coordinator');
    const redis = await redisFor(ws.root);
    // Beside the worker's home: what `attempt: "/../../../../canary"` pointed at.
    const canary = join(ws.root, 'canary');
    mkdirSync(join(canary, 'inner'), { recursive: true });
    writeFileSync(join(canary, 'keep.txt'), 'still here');
    writeFileSync(join(canary, 'inner', 'deep.txt'), 'still here too');
    // The worker's folder is home/remote/<pid>/attempt-…; this climbs from there to the canary.
    const climb = `/${relative(join(ws.home, 'remote', '12345', 'attempt-'), canary)}`;
    expect(climb).toBe('/../../../../canary');
    const rootBefore = tree(ws.root).filter((p) => !p.startsWith('home') && !p.startsWith('redis'));

    const chunk = { job_id: 1, idx: 0, file: 'chunks/chunk-000.ts', file_start: 0, first_frame: 0, frame_count: 25, overlap_frames: 0 };
    const good = { attempt: 5, number: 1, jobId: 1, chunk, previous: null, files: ['chunks/chunk-000.ts'], leaseSeconds: 60, lease: 'L'.repeat(32) };
    const replies = [
      { ...good, attempt: climb, files: ['../../x'], chunk: { ...chunk, file: '/etc/passwd' } },
      { ...good, files: ['../../x'] },
      { ...good, chunk: { ...chunk, file: '/etc/passwd' }, files: ['/etc/passwd'] },
      { ...good, chunk: { ...chunk, first_frame: '../../../canary' } },
      { ...good, lease: undefined },
    ];
    const fields = [/refused, nothing of it used: attempt must be an integer/, /: files\[0\] must be made of plain names/, /: chunk\.file must be a relative name/, /: chunk\.first_frame must be an integer/, /: lease must be 32 characters/];
    const offers = replies.length;
    const { server, url, heard } = await fakeCoordinator([...replies]);
    const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
    try {
      await queue.addBulk(replies.map((_, i) => ({ name: 'chunk', data: { jobId: 1, firstFrame: i * 25 }, opts: { jobId: `c-1-${i * 25}-0`, removeOnComplete: true, removeOnFail: true, attempts: 1 } })));
      const w = spawnApp(['worker', '--coordinator', url, '--redis', redis.url], cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_WORKERS: '1', POSEPIPE_WORKER_TOKEN: TOKEN }));
      await waitFor('the worker to refuse all five claim replies', () => ((w.output().match(/claim reply is refused/g)?.length ?? 0) >= offers ? true : undefined), 60_000);
      const refusals = w.output().split('\n').filter((l) => l.includes('claim reply is refused'));
      for (const [i, field] of fields.entries()) expect(refusals[i], w.output()).toMatch(field);
      // Each refused offer is then given up in BullMQ: none waits or stays taken.
      await waitFor('the five offers to leave the queue', async () => {
        const counts = await queue.getJobCounts('wait', 'active');
        return counts['wait'] === 0 && counts['active'] === 0 ? true : undefined;
      }, 15_000);

      // Nothing was downloaded, and no call for an attempt carried a path: only hellos, claims, and a
      // failure report for the replies whose attempt and lease were well-formed.
      const calls = heard.filter((h) => h.path !== '/worker/v1/hello' && h.path !== '/worker/v1/claim');
      expect(calls.map((h) => `${h.method} ${h.path}`)).toEqual(Array(3).fill('POST /worker/v1/attempts/5/failed'));
      for (const [i, call] of calls.entries()) {
        expect(call.lease).toBe('L'.repeat(32));
        expect(JSON.parse(call.body)).toMatchObject({ kind: 'crash', message: expect.stringMatching(fields[i + 1]!) });
      }
      // The canary and everything else outside the worker's home are untouched; the worker's own folder holds no attempt.
      expect(readFileSync(join(canary, 'keep.txt'), 'utf8')).toBe('still here');
      expect(readFileSync(join(canary, 'inner', 'deep.txt'), 'utf8')).toBe('still here too');
      expect(tree(ws.root).filter((p) => !p.startsWith('home') && !p.startsWith('redis'))).toEqual(rootBefore);
      const remote = join(ws.home, 'remote');
      const own = readdirSync(remote);
      expect(own).toHaveLength(1);
      expect(readdirSync(join(remote, own[0]!))).toEqual([]);
      expect(w.child.exitCode, 'the worker is still running').toBeNull();
    } finally {
      await queue.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 120_000);
});
