/**
 * The status page's actions from the CLI, against a real `posepipe start`: pause and unpause
 * intake, cancel a running job (the worker is stopped, the job resumes later), retry one failed
 * chunk, and the webhook a job's end posts (to a real HTTP server here).
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
let stopStart: (() => Promise<unknown>) | undefined;
let hook: Server | undefined;
afterEach(async () => {
  await stopStart?.();
  stopStart = undefined;
  await new Promise((r) => (hook ? hook.close(r) : r(undefined)));
  hook = undefined;
  ws?.cleanup();
});

/** Pids of the processes whose parent is `parent` (read from /proc). */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may itself hold spaces.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function start(env: NodeJS.ProcessEnv) {
  const run = spawnCli(['start'], env);
  stopStart = async () => {
    run.child.kill('SIGTERM');
    await run.done;
  };
  return run;
}

async function jobState(env: NodeJS.ProcessEnv, id = 1): Promise<{ state: string; chunkList: { state: string; index: number }[] } | undefined> {
  const r = await runCli(['status', String(id), '--json'], env);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

async function waitForState(env: NodeJS.ProcessEnv, state: string, timeoutMs = 60_000) {
  return waitFor(`job 1 to be ${state}`, async () => ((await jobState(env))?.state === state ? true : undefined), timeoutMs, 200);
}

describe('actions from the CLI on a running posepipe', () => {
  it('pauses intake, cancels a running job (stopping the worker), and resumes it to done', async () => {
    ws = makeWorkspace('actions');
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.04' });
    expect((await runCli(['pause'], env)).stdout).toContain('intake paused');
    expect((await runCli(['pause'], env)).stdout).toContain('already paused');
    const run = start(env);
    await waitFor('start', () => (run.output().includes('status page at') ? true : undefined));
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'clip.mp4'));
    await waitForState(env, 'queued');
    // Paused: the job is recorded but not started, however long we wait for the loop to look again.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await jobState(env))!.state).toBe('queued');
    expect((await runCli(['unpause'], env)).stdout).toContain('intake unpaused');

    await waitFor('tracking to start', async () => ((await jobState(env))?.chunkList.some((c) => c.state === 'running') ? true : undefined), 60_000, 100);
    const workers = childPids(run.child.pid!);
    expect(workers.length).toBeGreaterThan(0);
    const cancel = await runCli(['cancel', '1'], env);
    expect([cancel.code, cancel.stdout.trim()]).toEqual([0, 'job 1: cancel requested; the running posepipe stops it within a second (or at its next start)']);
    await waitForState(env, 'cancelled', 10_000);
    const cancelled = (await jobState(env))!;
    expect(cancelled.chunkList.every((c) => c.state === 'done' || c.state === 'pending')).toBe(true);
    // Tracking stopped at once: the worker that was tracking is gone (the next job starts a fresh one).
    for (const pid of workers) expect(() => process.kill(pid, 0), `worker ${pid}`).toThrow();
    const again = await runCli(['cancel', '1'], env);
    expect([again.code, again.stderr.trim()]).toEqual([2, 'posepipe: job 1 is not queued or running (it is cancelled)']);
    // The interrupted chunk's log holds the attempt's header.
    const logs = join(ws.home, 'jobs', '1', 'logs');
    expect(existsSync(logs)).toBe(true);

    expect((await runCli(['resume', '1'], env)).code).toBe(0);
    await waitForState(env, 'done');
    expect(existsSync(join(ws.outbox, 'clip.json'))).toBe(true);
  });

  it('retries one failed chunk, and posts job.failed then job.done to the webhook', async () => {
    ws = makeWorkspace('actions');
    const received: { headers: Record<string, unknown>; body: unknown }[] = [];
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(body) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
    const marker = join(ws.root, 'fail-marker');
    writeFileSync(marker, '');
    const env = cliEnv(ws, {
      POSEPIPE_TRACKER: 'test-fixture',
      POSEPIPE_CHUNK_SECONDS: '1',
      POSEPIPE_MAX_ATTEMPTS: '1',
      POSEPIPE_TEST_FIXTURE_FAIL_WHILE: marker,
      POSEPIPE_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/posepipe`,
    });
    const run = start(env);
    await waitFor('start', () => (run.output().includes('status page at') ? true : undefined));
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'clip.mp4'));
    await waitForState(env, 'failed');
    const failed = (await jobState(env))!;
    expect(failed.chunkList[0]!.state).toBe('failed');
    expect(failed.chunkList.slice(1).every((c) => c.state === 'pending')).toBe(true);
    await waitFor('the failure webhook', () => (received.length >= 1 ? true : undefined), 10_000);
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.body).toMatchObject({ event: 'job.failed', job: { id: 1, name: 'clip.mp4', state: 'failed', output: null, error: { kind: 'tracker' } } });
    expect((received[0]!.body as { job: { error: { text: string } } }).job.error.text).toContain('failing while');

    // Chunks are named by the number status shows, from 1: the second is pending, and there is no chunk 0.
    const notFailed = await runCli(['retry', '1', '2'], env);
    expect([notFailed.code, notFailed.stderr.trim()]).toEqual([2, 'posepipe: chunk 2 of job 1 is not failed (it is pending)']);
    const noChunk = await runCli(['retry', '1', '0'], env);
    expect([noChunk.code, noChunk.stderr.trim()]).toEqual([2, `posepipe: job 1 has no chunk "0" (it has chunks 1 to ${failed.chunkList.length}; chunks are numbered from 1, as \`posepipe status 1\` shows them)`]);
    rmSync(marker);
    const retry = await runCli(['retry', '1', '1'], env);
    expect([retry.code, retry.stdout.trim()]).toEqual([0, 'job 1 queued again: chunk 1 will be tracked again']);
    await waitForState(env, 'done');
    await waitFor('the done webhook', () => (received.length >= 2 ? true : undefined), 10_000);
    expect(received[1]!.body).toMatchObject({ event: 'job.done', job: { id: 1, state: 'done', error: null, output: join(ws.outbox, 'clip.json') } });
    expect(received).toHaveLength(2);
    // The chunk's log has both attempts: the failing one and the retried one.
    const log = readFileSync(join(ws.home, 'jobs', '1', 'logs', '0000000+25.log'), 'utf8');
    expect(log.match(/^--- chunk 1 .*attempt \d/gm)).toHaveLength(2);
  });
});
