import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TrackerError } from '../../src/errors.ts';
import { TrackerWorker, type ProgressEvent, type TrackerWorkerOptions } from '../../src/tracker/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { rejection } from '../helpers/tracker-workers.ts';
import { makeWorkspace, waitFor } from '../helpers/workspace.ts';

const PYTHON = '/usr/bin/python3';
const MB = 1024 * 1024;
const workers: TrackerWorker[] = [];

/** A test-fixture worker; every one is stopped after its test. */
function makeWorker(env: Record<string, string>, opts: Partial<TrackerWorkerOptions> = {}): { worker: TrackerWorker; logs: string[] } {
  const logs: string[] = [];
  const worker = new TrackerWorker({ python: PYTHON, backend: 'test-fixture', env, startupMs: 30_000, heartbeatMs: 20_000, onLog: (l) => logs.push(l), ...opts });
  workers.push(worker);
  return { worker, logs };
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

/** The last 10 frames of small.mp4 (150 frames): a short request. */
const tail = (output: string) => ({ inputs: [{ path: fixture('small.mp4'), start: 140 }], firstFrame: 140, frameCount: 10, output });

/** Live (not zombie) members of a process group, read from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the command name (which may hold spaces): state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
  }
  return members;
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** The helper process POSEPIPE_TEST_FIXTURE_SPAWN_CHILD started, found in the worker's log. */
async function helperPid(logs: string[]): Promise<number> {
  return waitFor('the fixture helper pid in the log', () => {
    const line = logs.find((l) => l.startsWith('test-fixture: child pid '));
    return line ? Number(line.slice('test-fixture: child pid '.length)) : undefined;
  });
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

/** A chunk pickle's header and rows, read by CPython. */
function rows(path: string): { first_frame: number; frame_count: number; frame: number[]; bbox: number[][] } {
  const script = `
import json, pickle, sys
d = pickle.load(open(sys.argv[1], 'rb'))
print(json.dumps({'first_frame': d['first_frame'], 'frame_count': d['frame_count'], 'frame': d['frame'].tolist(), 'bbox': d['bbox'].tolist()}))
`;
  const r = spawnSync(PYTHON, ['-c', script, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof rows>;
}

describe('TrackInput.count: a sub-range of a chunk file', () => {
  it('tracks frames 10..29 of a 50-frame chunk, the same rows as those frames of a whole-file run', async () => {
    const ws = makeWorkspace('tracker-count');
    const chunk = join(ws.root, '0000.mp4');
    ffmpeg(['-i', fixture('small.mp4'), '-vf', 'select=lt(n\\,50)', '-fps_mode', 'passthrough', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', chunk]);
    const { worker } = makeWorker({});
    const whole = await worker.track({ id: 'whole', inputs: [{ path: chunk, start: 0 }], firstFrame: 0, frameCount: 50, output: join(ws.root, 'whole.pkl') });
    expect(whole.frames).toBe(50);
    const part = await worker.track({ id: 'part', inputs: [{ path: chunk, start: 10, count: 20 }], firstFrame: 10, frameCount: 20, output: join(ws.root, 'part.pkl') });
    expect(part).toMatchObject({ frames: 20, detections: 20 });
    const w = rows(join(ws.root, 'whole.pkl'));
    const p = rows(join(ws.root, 'part.pkl'));
    expect(p).toMatchObject({ first_frame: 10, frame_count: 20, frame: Array.from({ length: 20 }, (_, i) => i) });
    expect(p.bbox).toEqual(w.bbox.slice(10, 30));
    // The fixture's rows really tell frames apart: the first 20 frames would not match.
    expect(p.bbox).not.toEqual(w.bbox.slice(0, 20));
    expect(worker.loads).toBe(1);
    ws.cleanup();
  });

  it('a count past the end of the file is bad input naming the file and the numbers', async () => {
    const ws = makeWorkspace('tracker-count-short');
    const { worker } = makeWorker({});
    const small = fixture('small.mp4');
    const error = await rejection(worker.track({ id: 'short', inputs: [{ path: small, start: 140, count: 20 }], firstFrame: 140, frameCount: 20, output: join(ws.root, 's.pkl') }));
    expect(error.kind).toBe('input');
    expect(error.message).toContain(JSON.stringify(small));
    expect(error.message).toMatch(/\b150\b.*\b140\b.*\b20\b.*\b160\b/);
    // A count on the earlier input of two: the second input follows straight after it.
    const done = await worker.track({ id: 'two', inputs: [{ path: small, start: 5, count: 3 }, { path: small, start: 0, count: 4 }], firstFrame: 0, frameCount: 7, output: join(ws.root, 't.pkl') });
    expect(done.frames).toBe(7);
    expect(worker.loads).toBe(1);
    ws.cleanup();
  });

  it('OOM_ABOVE is about one request\'s length: a chunk that runs out of memory fits in two halves', async () => {
    const ws = makeWorkspace('tracker-count-split');
    const small = fixture('small.mp4');
    const { worker } = makeWorker({ POSEPIPE_TEST_FIXTURE_OOM_ABOVE: '75' });
    const whole = await rejection(worker.track({ id: 'whole', inputs: [{ path: small, start: 0 }], firstFrame: 0, frameCount: 150, output: join(ws.root, 'whole.pkl') }));
    expect(whole.kind).toBe('oom');
    await worker.recycle(); // what the pipeline does after an out-of-memory error
    for (const [id, start] of [['h0', 0], ['h1', 75]] as const) {
      const done = await worker.track({ id, inputs: [{ path: small, start, count: 75 }], firstFrame: start, frameCount: 75, output: join(ws.root, `${id}.pkl`) });
      expect(done.frames).toBe(75);
    }
    const { worker: plain } = makeWorker({});
    await plain.track({ id: 'ref', inputs: [{ path: small, start: 0 }], firstFrame: 0, frameCount: 150, output: join(ws.root, 'ref.pkl') });
    const halves = [...rows(join(ws.root, 'h0.pkl')).bbox, ...rows(join(ws.root, 'h1.pkl')).bbox];
    expect(halves).toEqual(rows(join(ws.root, 'ref.pkl')).bbox);
    expect(worker.loads).toBe(2);
    ws.cleanup();
  });
});

describe('TrackerWorker deadlines', () => {
  it('kills the whole group of a worker whose heartbeats keep coming but whose frame does not advance', async () => {
    const ws = makeWorkspace('tracker-stuck');
    const advanceMs = 2500;
    const { worker, logs } = makeWorker({ POSEPIPE_TEST_FIXTURE_STUCK_AT: '5', POSEPIPE_TEST_FIXTURE_SPAWN_CHILD: '1' }, { heartbeatMs: 1000, advanceMs });
    const ready = await worker.start();
    const helper = await helperPid(logs);
    expect(groupMembers(ready.pid).sort()).toEqual([ready.pid, helper].sort());
    const progress: ProgressEvent[] = [];
    const started = Date.now();
    const error = await rejection(worker.track({ id: 'stuck', ...tail(join(ws.root, 'stuck.pkl')), inputs: [{ path: fixture('small.mp4'), start: 0 }], firstFrame: 0, frameCount: 150 }, (e) => progress.push(e)));
    const elapsed = Date.now() - started;
    expect(error.kind).toBe('stall');
    expect(error.message).toContain('stopped advancing at frame 5');
    expect(error.details.signal).toBe('SIGKILL');
    // Alive past the heartbeat deadline on heartbeats alone, killed within the advance deadline.
    expect(progress.filter((e) => e.frame === 5).length).toBeGreaterThanOrEqual(3);
    expect(elapsed).toBeGreaterThanOrEqual(advanceMs);
    expect(elapsed).toBeLessThan(advanceMs + 3000);
    await waitFor('the worker group to be gone', () => (groupMembers(ready.pid).length === 0 ? true : undefined), 5000);
    expect(alive(helper)).toBe(false);
    console.log(`stuck worker killed ${elapsed} ms after the request (advanceMs ${advanceMs})`);
    ws.cleanup();
  });

  it('never kills a slow worker whose frames keep advancing, though it runs far past both deadlines', async () => {
    const ws = makeWorkspace('tracker-slow');
    const { worker } = makeWorker({ POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.25' }, { heartbeatMs: 1500, advanceMs: 1500 });
    await worker.start();
    const pid = worker.pid;
    const started = Date.now();
    const done = await worker.track({ id: 'slow', inputs: [{ path: fixture('small.mp4'), start: 130 }], firstFrame: 130, frameCount: 20, output: join(ws.root, 'slow.pkl') });
    const elapsed = Date.now() - started;
    expect(done.frames).toBe(20);
    expect(elapsed).toBeGreaterThan(3 * 1500);
    expect(worker.pid).toBe(pid);
    console.log(`slow worker: 20 frames in ${elapsed} ms with 1500 ms heartbeat and advance deadlines`);
    ws.cleanup();
  });

  it('refuses a non-positive advanceMs or maxRssBytes, naming the option', () => {
    const base = { python: PYTHON, backend: 'test-fixture', startupMs: 1000, heartbeatMs: 1000 };
    expect(() => new TrackerWorker({ ...base, advanceMs: 0 })).toThrow(/"advanceMs"/);
    expect(() => new TrackerWorker({ ...base, maxRssBytes: -1 })).toThrow(/"maxRssBytes"/);
  });
});

describe('TrackerWorker exits and recycling', () => {
  it('reports a worker that exits 0 without a result as a crash with exit code 0', async () => {
    const ws = makeWorkspace('tracker-exit0');
    const { worker } = makeWorker({ POSEPIPE_TEST_FIXTURE_EXIT_AT: '3' });
    await worker.start();
    const pid = worker.pid!;
    const error = await rejection(worker.track({ id: 'quiet', ...tail(join(ws.root, 'q.pkl')) }));
    expect(error.kind).toBe('crash');
    expect(error.details).toMatchObject({ exitCode: 0, signal: null });
    expect(error.message).toContain('without reporting a result');
    expect(worker.running).toBe(false);
    expect(alive(pid)).toBe(false);
    ws.cleanup();
  });

  it('replaces a worker whose resident memory grows past maxRssBytes', async () => {
    const ws = makeWorkspace('tracker-rss');
    const leak = { POSEPIPE_TEST_FIXTURE_LEAK_MB: '96' };
    // What one chunk's worth of this worker weighs, measured by a worker without a limit.
    const { worker: probe } = makeWorker(leak);
    await probe.track({ id: 'probe', ...tail(join(ws.root, 'probe.pkl')) });
    const oneChunk = probe.lastRssBytes;
    expect(oneChunk).toBeGreaterThan(96 * MB);
    await probe.stop();

    const { worker, logs } = makeWorker(leak, { maxRssBytes: oneChunk! + 48 * MB });
    await worker.track({ id: 'a', ...tail(join(ws.root, 'a.pkl')) });
    const first = worker.pid!;
    expect(worker.recycles).toBe(0);
    expect(worker.running).toBe(true);
    await worker.track({ id: 'b', ...tail(join(ws.root, 'b.pkl')) });
    expect(worker.lastRssBytes).toBeGreaterThan(oneChunk! + 80 * MB);
    expect(worker.recycles).toBe(1);
    expect(logs.some((l) => l.includes('above the') && l.includes('MiB limit'))).toBe(true);
    // The next request, made at once, waits for the old process and starts a fresh one.
    await worker.track({ id: 'c', ...tail(join(ws.root, 'c.pkl')) });
    expect(worker.pid).not.toBe(first);
    expect(worker.loads).toBe(2);
    expect(alive(first)).toBe(false);
    expect(worker.lastRssBytes).toBeLessThan(oneChunk! + 48 * MB);
    ws.cleanup();
  });

  it('recycle() stops the worker and its whole group; the next request starts a fresh process', async () => {
    const ws = makeWorkspace('tracker-recycle');
    const { worker, logs } = makeWorker({ POSEPIPE_TEST_FIXTURE_SPAWN_CHILD: '1' });
    const ready = await worker.start();
    const helper = await helperPid(logs);
    await worker.recycle();
    expect(worker.running).toBe(false);
    expect(worker.recycles).toBe(1);
    await waitFor('the old group to be gone', () => (groupMembers(ready.pid).length === 0 ? true : undefined), 5000);
    expect(alive(helper)).toBe(false);
    const done = await worker.track({ id: 'fresh', ...tail(join(ws.root, 'f.pkl')) });
    expect(done.frames).toBe(10);
    expect(worker.pid).not.toBe(ready.pid);
    expect(worker.loads).toBe(2);
    ws.cleanup();
  });
});
