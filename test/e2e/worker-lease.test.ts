/**
 * One shared worker token is not every worker: a real coordinator (`posepipe start` with a real
 * Redis) gives each claim its own lease, and a caller with the right token but without that lease
 * can neither keep another worker's attempt alive, fail it, read its inputs nor replace its result
 * (403, nothing changes), while the lease's holder can. hello is bounded, and remote slots that
 * stop saying hello leave the workers table.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { appsPerTest, queryDb } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const TOKEN = 'test-token-0123456789abcdef';
const spawnApp = appsPerTest();

interface Claimed {
  attempt: number;
  lease: string;
}

/** A real posepipe.chunk/1 pickle of `frameCount` frames from `firstFrame`, no person (Debian's python3 + numpy). */
function chunkPickle(ws: Workspace, firstFrame: number, frameCount: number): Buffer {
  const out = join(ws.root, `result-${firstFrame}.pkl`);
  const chunk = { schema: 'posepipe.chunk/1', backend: 'test-fixture', backend_version: '1', device: 'cpu', first_frame: firstFrame, frame_count: frameCount, width: 320, height: 240, rows: [] };
  const r = spawnSync('/usr/bin/python3', [resolve('test/helpers/make-chunk-pickle.py')], { input: JSON.stringify([{ out, protocol: 5, chunk }]), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-chunk-pickle.py failed: ${r.stderr}`);
  return readFileSync(out);
}

describe('a lease per claim', () => {
  it('refuses progress, failure, files and a result for another worker\'s attempt without its lease (403, nothing changes); its holder is heard; hello is bounded and silent slots expire', async () => {
    const ws = workspace('worker-lease');
    const redis = await redisFor(ws.root);
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5', POSEPIPE_REDIS_URL: redis.url, POSEPIPE_WORKER_TOKEN: TOKEN, POSEPIPE_WORKERS: '0', POSEPIPE_WORKER_EXPIRY_SECONDS: '2' });
    const app = spawnApp(['start'], env);
    const url = await waitFor('the coordinator to listen', () => /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())?.[1], 30_000);
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
    await waitFor('the job to reach tracking', () => (queryDb<{ n: number }>(ws, "SELECT count(*) AS n FROM stages WHERE name = 'track' AND state = 'running'")[0]!.n === 1 ? true : undefined), 60_000, 200);

    const token = { authorization: `Bearer ${TOKEN}` };
    const json = { ...token, 'content-type': 'application/json' };
    const ready = { backend: 'test-fixture', version: '1', device: 'cpu', pid: 1, loadSeconds: 0 };
    const claim = async (name: string, firstFrame: number) => {
      const r = await fetch(`${url}/worker/v1/claim`, { method: 'POST', headers: json, body: JSON.stringify({ offer: { jobId: 1, firstFrame }, worker: { name, host: 'test', ready } }) });
      return r.status === 200 ? ((await r.json()) as Claimed & { leaseSeconds: number }) : undefined;
    };
    const owner = (await waitFor('the owner to claim the first chunk', () => claim('owner', 0), 10_000, 100))!;
    const intruder = (await waitFor('the intruder to claim the second chunk', () => claim('intruder', 25), 10_000, 100))!;
    expect(owner.lease).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(intruder.lease).not.toBe(owner.lease);

    const call = (method: string, path: string, lease: string | undefined, body?: string | Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}) =>
      fetch(`${url}/worker/v1/attempts/${owner.attempt}/${path}`, { method, headers: { ...(body === undefined ? token : json), ...(lease === undefined ? {} : { 'x-posepipe-lease': lease }), ...extra }, body });
    const chunk0 = () => queryDb<{ state: string; frames_done: number; attempts: number; result_file: string | null }>(ws, 'SELECT state, frames_done, attempts, result_file FROM chunks WHERE job_id = 1 AND first_frame = 0')[0]!;
    const pickle = chunkPickle(ws, 0, 25);
    const sha = createHash('sha256').update(pickle).digest('hex');
    const putHeaders = { 'content-type': 'application/octet-stream', 'x-posepipe-sha256': sha, 'x-posepipe-tracker-ms': '5' };

    // The worker token without this attempt's lease: no lease, a made-up one, the intruder's own.
    for (const lease of [undefined, '', 'A'.repeat(32), intruder.lease, `${owner.lease}x`]) {
      const label = JSON.stringify(lease);
      expect((await call('POST', 'progress', lease, '{"frames": 20}')).status, `progress ${label}`).toBe(403);
      expect((await call('POST', 'failed', lease, '{"kind": "input", "message": "forged"}')).status, `failed ${label}`).toBe(403);
      expect((await call('GET', 'files/0', lease)).status, `files ${label}`).toBe(403);
      expect((await call('PUT', 'result', lease, new Uint8Array(pickle), putHeaders)).status, `result ${label}`).toBe(403);
    }
    // Nothing changed: the attempt is still the owner's, its frames did not advance, no result was taken.
    expect(chunk0()).toMatchObject({ state: 'running', frames_done: 0, attempts: 1, result_file: null });
    // Not even a temporary file: the results folder is made only once an upload is let in.
    expect(existsSync(join(ws.home, 'jobs', '1', 'results'))).toBe(false);
    // Refused before the body is read: an upload that never ends is answered at once.
    const early = await new Promise<number>((done, fail) => {
      const req = request(`${url}/worker/v1/attempts/${owner.attempt}/result`, { method: 'PUT', headers: { ...token, ...putHeaders, 'content-length': String(1024 ** 3) } }, (res) => {
        done(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', fail);
      req.write(Buffer.alloc(64 * 1024));
    });
    expect(early).toBe(403);
    // An attempt id that was never claimed looks the same as one that is current: 403.
    expect((await fetch(`${url}/worker/v1/attempts/999999/progress`, { method: 'POST', headers: { ...json, 'x-posepipe-lease': owner.lease }, body: '{"frames": 1}' })).status).toBe(403);

    // With its lease, the owner is heard: its frames advance, its input downloads, its result is taken.
    expect((await call('POST', 'progress', owner.lease, '{"frames": 20}')).status).toBe(200);
    await waitFor('the owner\'s frames to be recorded', () => (chunk0().frames_done === 20 ? true : undefined), 10_000, 100);
    const input = await call('GET', 'files/0', owner.lease);
    expect(input.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await input.arrayBuffer())).digest('hex')).toBe(createHash('sha256').update(readFileSync(join(ws.home, 'jobs', '1', 'chunks', readdirSync(join(ws.home, 'jobs', '1', 'chunks')).sort()[0]!))).digest('hex'));
    const put = await call('PUT', 'result', owner.lease, new Uint8Array(pickle), putHeaders);
    expect(put.status, await put.clone().text()).toBe(200);
    await waitFor('the first chunk to be done', () => (chunk0().state === 'done' ? true : undefined), 10_000, 100);
    // Over, its lease is still known to the coordinator: 409 (not current) for the lease's holder, 403 for anyone else.
    expect((await call('POST', 'progress', owner.lease, '{"frames": 25}')).status).toBe(409);
    expect((await call('POST', 'progress', intruder.lease, '{"frames": 25}')).status).toBe(403);

    // hello: at most 64 slots a request; every name and host checked.
    const slot = (name: string) => ({ name, host: 'test', health: 'ready' });
    const hello = (slots: unknown[]) => fetch(`${url}/worker/v1/hello`, { method: 'POST', headers: json, body: JSON.stringify({ slots }) });
    const tooMany = await hello(Array.from({ length: 65 }, (_, i) => slot(`many-${i}`)));
    expect(tooMany.status).toBe(413);
    expect(await tooMany.text()).toContain('at most 64 slots');
    for (const bad of [slot('x'.repeat(101)), slot('bidi\u202Ename'), slot('new\nline'), { ...slot('ok'), host: '' }, { ...slot('ok'), health: 'busy' }, 'slot']) {
      expect((await hello([bad])).status, JSON.stringify(bad)).toBe(422);
    }
    const names = () => queryDb<{ name: string }>(ws, "SELECT name FROM workers WHERE name LIKE 'worker %' ORDER BY name").map((r) => r.name);
    expect(names().filter((n) => n.startsWith('worker many-'))).toEqual([]);
    expect((await hello(Array.from({ length: 64 }, (_, i) => slot(`ghost-${i}`)))).status).toBe(200);
    expect(names().filter((n) => n.startsWith('worker ghost-'))).toHaveLength(64);
    // Not heard from again for workerExpirySeconds (2 s here), they leave; the intruder's slot holds an attempt and stays.
    await waitFor('the silent slots to expire', () => (names().some((n) => n.startsWith('worker ghost-')) ? undefined : true), 20_000, 200);
    expect(names()).toContain('worker intruder');
    expect(names()).not.toContain('worker owner');
  }, 120_000);
});
