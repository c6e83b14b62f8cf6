/**
 * The builtin backend in a real TrackerWorker with its HOG detector (test/helpers/tracker-workers.ts
 * pins it; CenterNet, the default, is builtin-centernet.test.ts's): CPU-bound OpenCV tracking of the
 * fixtures, its pickles and their bytes. Nothing here hangs on timing (the deadlines are far off: 30 s to start,
 * 20 s between heartbeats), so it runs in the paired project; the deadline and failure cases of
 * TrackerWorker are in worker.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/tracker/index.ts';
import { fixture, STREET_PEOPLE } from '../helpers/fixtures.ts';
import { PYTHON, rejection, trackerWorkersPerTest } from '../helpers/tracker-workers.ts';
import { makeWorkspace } from '../helpers/workspace.ts';

const makeWorker = trackerWorkersPerTest();

// Prints the pickle's structure as JSON, read by CPython itself: the contract merge relies on.
const SUMMARY = `
import json, pickle, sys
d = pickle.load(open(sys.argv[1], 'rb'))
out = {}
for k, v in d.items():
    if hasattr(v, 'dtype'):
        out[k] = {'dtype': v.dtype.str, 'shape': list(v.shape)}
    elif isinstance(v, dict):
        out[k] = {n: list(a.shape) for n, a in v.items()}
    else:
        out[k] = v
f, t = d['frame'].tolist(), d['track'].tolist()
out['sorted'] = list(zip(f, t)) == sorted(zip(f, t))
out['framesWithPeople'] = len(set(f))
spans = {}
for fr, tr in zip(f, t):
    spans.setdefault(tr, []).append(fr)
out['longestTrack'] = max((len(v) for v in spans.values()), default=0)
out['tracks'] = len(spans)
out['peoplePerFrame'] = [f.count(i) for i in range(d['frame_count'])]
print(json.dumps(out))
`;

interface Summary {
  peoplePerFrame: number[];
  schema: string;
  backend: string;
  device: string;
  first_frame: number;
  frame_count: number;
  width: number;
  height: number;
  frame: { dtype: string; shape: number[] };
  track: { dtype: string; shape: number[] };
  bbox: { dtype: string; shape: number[] };
  score: { dtype: string; shape: number[] };
  extras: Record<string, number[]>;
  sorted: boolean;
  framesWithPeople: number;
  longestTrack: number;
  tracks: number;
}

function summarise(path: string): Summary {
  const r = spawnSync(PYTHON, ['-c', SUMMARY, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Summary;
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

function pgidOf(pid: number): number {
  const r = spawnSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

/** The first frames of the street clip, tracked again at 320x180. */
const SMALL_FRAMES = 80;
/** People in each frame of the full-size street clip (the test above), for the small one to compare with. */
let fullSize: number[] | undefined;

describe('TrackerWorker with the builtin backend', () => {
  it('starts in its own process group, tracks a chunk and writes the chunk pickle', async () => {
    const ws = makeWorkspace('tracker');
    const { worker } = makeWorker();
    const ready = await worker.start();
    expect(ready).toMatchObject({ type: 'ready', backend: 'builtin', device: 'cpu', pid: worker.pid });
    expect(worker.loads).toBe(1);
    expect(pgidOf(ready.pid)).toBe(ready.pid);
    expect(pgidOf(ready.pid)).not.toBe(pgidOf(process.pid));
    const output = join(ws.root, '0000.pkl');
    const progress: ProgressEvent[] = [];
    const done = await worker.track({ id: 'c0', inputs: [{ path: fixture('small.mp4'), start: 0 }], firstFrame: 0, frameCount: 150, output }, (e) => progress.push(e));
    expect(done).toMatchObject({ type: 'done', id: 'c0', output, frames: 150 });
    expect(progress.at(-1)).toEqual({ type: 'progress', id: 'c0', frame: 150, frames: 150 });
    // The temp name was renamed into place: nothing but the result is left.
    expect(readdirSync(ws.root).filter((n) => n.startsWith('0000.pkl'))).toEqual(['0000.pkl']);
    const s = summarise(output);
    const m = done.detections;
    expect(s).toMatchObject({
      schema: 'posepipe.chunk/1', backend: 'builtin', device: 'cpu', first_frame: 0, frame_count: 150, width: 320, height: 240,
      frame: { dtype: '<i4', shape: [m] }, track: { dtype: '<i4', shape: [m] }, bbox: { dtype: '<f4', shape: [m, 4] },
      score: { dtype: '<f4', shape: [m] }, extras: {}, sorted: true,
    });
    ws.cleanup();
  });

  it('skips each input\'s first `start` frames and checks the frame count', async () => {
    const ws = makeWorkspace('tracker-overlap');
    const a = join(ws.root, '0000.mp4');
    const b = join(ws.root, '0001.mp4');
    ffmpeg(['-i', fixture('small.mp4'), '-vf', 'select=lt(n\\,75)', '-fps_mode', 'passthrough', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', a]);
    ffmpeg(['-i', fixture('small.mp4'), '-vf', 'select=gte(n\\,75),setpts=N/FRAME_RATE/TB', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', b]);
    const { worker } = makeWorker();
    const output = join(ws.root, '0001.pkl');
    const done = await worker.track({ id: 'c1', inputs: [{ path: a, start: 60 }, { path: b, start: 0 }], firstFrame: 60, frameCount: 90, output });
    expect(done.frames).toBe(90);
    expect(summarise(output)).toMatchObject({ first_frame: 60, frame_count: 90 });
    // One frame too many expected: bad input naming the file and both counts; the worker goes on.
    const wrong = await rejection(worker.track({ id: 'c2', inputs: [{ path: a, start: 60 }, { path: b, start: 0 }], firstFrame: 60, frameCount: 91, output: join(ws.root, 'x.pkl') }));
    expect(wrong.kind).toBe('input');
    expect(wrong.message).toContain(JSON.stringify(b));
    expect(wrong.message).toMatch(/\b90\b.*\b91\b/);
    expect(existsSync(join(ws.root, 'x.pkl'))).toBe(false);
    expect(worker.loads).toBe(1);
    ws.cleanup();
  });

  it('fails a missing input as kind input naming the path, then serves the next request', async () => {
    const ws = makeWorkspace('tracker-missing');
    const { worker } = makeWorker();
    await worker.start();
    const pid = worker.pid;
    const missing = join(ws.root, 'gone $(touch x) "q".mp4');
    const error = await rejection(worker.track({ id: 'm', inputs: [{ path: missing, start: 0 }], firstFrame: 0, frameCount: 10, output: join(ws.root, 'm.pkl') }));
    expect(error.kind).toBe('input');
    expect(error.message).toContain(JSON.stringify(missing));
    const done = await worker.track({ id: 'n', inputs: [{ path: fixture('small.mp4'), start: 100 }], firstFrame: 100, frameCount: 50, output: join(ws.root, 'n.pkl') });
    expect(done.frames).toBe(50);
    expect(worker.pid).toBe(pid);
    expect(worker.loads).toBe(1);
    ws.cleanup();
  });

  it('writes byte-identical pickles for the same input', async () => {
    const ws = makeWorkspace('tracker-determinism');
    const { worker } = makeWorker();
    const req = (id: string) => ({ id, inputs: [{ path: STREET_PEOPLE, start: 180 }], firstFrame: 180, frameCount: 25, output: join(ws.root, `${id}.pkl`) });
    const first = await worker.track(req('one'));
    await worker.track(req('two'));
    expect(first.detections).toBeGreaterThan(0);
    expect(readFileSync(join(ws.root, 'two.pkl')).equals(readFileSync(join(ws.root, 'one.pkl')))).toBe(true);
    ws.cleanup();
  });

  it('writes the same bytes whatever the number of detection threads', async () => {
    const ws = makeWorkspace('tracker-threads');
    const req = (id: string) => ({ id, inputs: [{ path: STREET_PEOPLE, start: 0, count: 30 }], firstFrame: 0, frameCount: 30, output: join(ws.root, `${id}.pkl`) });
    for (const threads of ['1', '3']) await makeWorker('builtin', { POSEPIPE_BUILTIN_THREADS: threads }).worker.track(req(`t${threads}`));
    expect(readFileSync(join(ws.root, 't3.pkl')).equals(readFileSync(join(ws.root, 't1.pkl')))).toBe(true);
    ws.cleanup();
  });

  // HOG's ids over the whole clip, through the pipeline's chunks, are test/e2e/street-people.test.ts's.
  it('finds people in more than 80% of the first frames of street-people.avi', async () => {
    const ws = makeWorkspace('tracker-street');
    const { worker } = makeWorker();
    await worker.start();
    const output = join(ws.root, 'street.pkl');
    const started = Date.now();
    const done = await worker.track({ id: 's', inputs: [{ path: STREET_PEOPLE, start: 0, count: SMALL_FRAMES }], firstFrame: 0, frameCount: SMALL_FRAMES, output });
    const s = summarise(output);
    console.log(`street-people.avi (first ${SMALL_FRAMES} frames): ${(SMALL_FRAMES / ((Date.now() - started) / 1000)).toFixed(1)} frames/s, ` +
      `${s.framesWithPeople}/${SMALL_FRAMES} frames with people, ${done.detections} detections, ${s.tracks} tracks, longest ${s.longestTrack} frames`);
    expect(s).toMatchObject({ width: 1280, height: 720, frame_count: SMALL_FRAMES, sorted: true });
    expect(s.framesWithPeople / SMALL_FRAMES).toBeGreaterThan(0.8);
    // A person walking through these frames keeps one id for most of them.
    expect(s.longestTrack).toBeGreaterThan(0.75 * SMALL_FRAMES);
    fullSize = s.peoplePerFrame;
    ws.cleanup();
  });

  it('finds the small people of street-people.avi downscaled to 320x180 (about 30-80 px tall): searched at a larger scale', async () => {
    expect(fullSize, 'the full-size test runs first').toBeDefined();
    const ws = makeWorkspace('tracker-street-small');
    const small = join(ws.root, 'street-320.mp4');
    ffmpeg(['-i', STREET_PEOPLE, '-frames:v', String(SMALL_FRAMES), '-vf', 'scale=320:180', '-c:v', 'libx264', '-crf', '18', '-pix_fmt', 'yuv420p', small]);
    // Empty: the backend's default (48 px).
    const { worker } = makeWorker('builtin', { POSEPIPE_BUILTIN_MIN_PERSON: '' });
    await worker.start();
    const output = join(ws.root, 'small.pkl');
    const started = Date.now();
    await worker.track({ id: 'm', inputs: [{ path: small, start: 0 }], firstFrame: 0, frameCount: SMALL_FRAMES, output });
    const s = summarise(output);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const perFrame = mean(s.peoplePerFrame);
    const full = mean(fullSize!.slice(0, SMALL_FRAMES));
    console.log(`street-people.avi at 320x180 (first ${SMALL_FRAMES} frames): ${(SMALL_FRAMES / ((Date.now() - started) / 1000)).toFixed(1)} frames/s, ` +
      `${s.framesWithPeople}/${SMALL_FRAMES} frames with people, ${perFrame.toFixed(2)} people a frame (full size: ${full.toFixed(2)})`);
    expect(s).toMatchObject({ width: 320, height: 180, frame_count: SMALL_FRAMES });
    expect(s.framesWithPeople / SMALL_FRAMES).toBeGreaterThanOrEqual(0.9);
    expect(perFrame).toBeGreaterThanOrEqual(0.7 * full);
    ws.cleanup();
  });
});
