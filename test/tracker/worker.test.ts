/**
 * TrackerWorker's failures and deadlines with the test-fixture backend: crashes, hangs, out of
 * memory, bad imports, stdin closing. The builtin backend's tracking is in builtin.test.ts.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_SCRIPT } from '../../src/tracker/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { PYTHON, rejection, trackerWorkersPerTest } from '../helpers/tracker-workers.ts';
import { makeWorkspace, waitFor } from '../helpers/workspace.ts';

const makeWorker = trackerWorkersPerTest();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('TrackerWorker failures (test-fixture backend)', () => {
  const small = () => ({ inputs: [{ path: fixture('small.mp4'), start: 0 }], firstFrame: 0, frameCount: 150 });

  it('keeps library prints on stdout out of the protocol', async () => {
    const ws = makeWorkspace('tracker-print');
    const { worker, logs } = makeWorker('test-fixture', { POSEPIPE_TEST_FIXTURE_PRINT: '1' });
    const done = await worker.track({ id: 'p', ...small(), output: join(ws.root, 'p.pkl') });
    expect(done.frames).toBe(150);
    await waitFor('the printed lines in the log', () => (logs.some((l) => l.includes('frame 149 (raw fd 1)')) ? true : undefined));
    expect(logs.some((l) => l.includes('must not reach the protocol'))).toBe(true);
    expect(logs.filter((l) => l.includes('protocol error'))).toEqual([]);
    ws.cleanup();
  });

  it('reports a SIGKILL mid-request as a crash with the signal, and restarts on the next request', async () => {
    const ws = makeWorkspace('tracker-kill');
    const { worker } = makeWorker('test-fixture', { POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.05' });
    await worker.start();
    const pid = worker.pid!;
    let frames = 0;
    const pending = worker.track({ id: 'k', ...small(), output: join(ws.root, 'k.pkl') }, (e) => (frames = e.frame));
    await waitFor('the first progress', () => (frames > 0 ? true : undefined));
    process.kill(pid, 'SIGKILL');
    const error = await rejection(pending);
    expect(error.kind).toBe('crash');
    expect(error.details.signal).toBe('SIGKILL');
    expect(worker.running).toBe(false);
    const done = await worker.track({ id: 'k2', inputs: [{ path: fixture('small.mp4'), start: 140 }], firstFrame: 140, frameCount: 10, output: join(ws.root, 'k2.pkl') });
    expect(done.frames).toBe(10);
    expect(worker.loads).toBe(2);
    expect(worker.pid).not.toBe(pid);
    ws.cleanup();
  });

  it('kills the whole group of a worker that stops sending progress', async () => {
    const ws = makeWorkspace('tracker-stall');
    const { worker } = makeWorker('test-fixture', { POSEPIPE_TEST_FIXTURE_HANG_AT: '5' }, 1500);
    await worker.start();
    const pid = worker.pid!;
    const started = Date.now();
    const error = await rejection(worker.track({ id: 'h', ...small(), output: join(ws.root, 'h.pkl') }));
    expect(error.kind).toBe('stall');
    expect(error.details.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(alive(pid)).toBe(false);
    ws.cleanup();
  });

  it('reports MemoryError as oom and keeps serving', async () => {
    const ws = makeWorkspace('tracker-oom');
    const { worker } = makeWorker('test-fixture', { POSEPIPE_TEST_FIXTURE_OOM_ABOVE: '100' });
    const error = await rejection(worker.track({ id: 'o', ...small(), output: join(ws.root, 'o.pkl') }));
    expect(error.kind).toBe('oom');
    const done = await worker.track({ id: 'o2', inputs: [{ path: fixture('small.mp4'), start: 100 }], firstFrame: 100, frameCount: 50, output: join(ws.root, 'o2.pkl') });
    expect(done.frames).toBe(50);
    expect(worker.loads).toBe(1);
    ws.cleanup();
  });

  it('fails start with kind environment on an import error, with the stderr tail', async () => {
    const { worker } = makeWorker('test-fixture', { POSEPIPE_TEST_FIXTURE_IMPORT_ERROR: 'torch' });
    const error = await rejection(worker.start());
    expect(error.kind).toBe('environment');
    expect(error.message).toContain('cannot import torch');
    expect(error.message).toContain('posepipe doctor');
    await waitFor('the worker to exit', () => (worker.running ? undefined : true));
  });

  it('fails start with kind environment naming the known backends', async () => {
    const { worker } = makeWorker('no-such-backend');
    const error = await rejection(worker.start());
    expect(error.kind).toBe('environment');
    expect(error.message).toContain('builtin');
  });

  it('exits 0 when its stdin closes', async () => {
    const child = spawn(PYTHON, [DEFAULT_WORKER_SCRIPT, '--backend', 'test-fixture'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let status: number | null | undefined;
    child.on('exit', (code) => (status = code));
    await waitFor('ready', () => (out.includes('"ready"') ? true : undefined));
    child.stdin.end();
    expect(await waitFor('the worker to exit', () => status, 10_000)).toBe(0);
  });
});
