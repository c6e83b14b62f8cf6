/**
 * The builtin backend with its neural detector (POSEPIPE_BUILTIN_DETECTOR=centernet) in a real
 * TrackerWorker: the real CenterNet model in the Node helper the worker starts, on frames of the
 * real street video, its helper inside the worker's process group and gone with it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { PYTHON, rejection, trackerWorkersPerTest } from '../helpers/tracker-workers.ts';
import { makeWorkspace, waitFor } from '../helpers/workspace.ts';

const makeWorker = trackerWorkersPerTest();
const FRAMES = 30;

/** The pids in a process group. */
function group(pgid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
}

/** People in each frame of a chunk pickle, read by CPython. */
function peoplePerFrame(path: string): number[] {
  const code = "import pickle, sys\nd = pickle.load(open(sys.argv[1], 'rb'))\nf = d['frame'].tolist()\nprint(' '.join(str(f.count(i)) for i in range(d['frame_count'])))";
  const r = spawnSync(PYTHON, ['-c', code, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return r.stdout.trim().split(' ').map(Number);
}

describe('the builtin backend with the centernet detector', () => {
  it('tracks the people of a real street clip, its detector a helper in the worker’s process group that ends with it', async () => {
    const ws = makeWorkspace('centernet');
    const { worker } = makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'centernet' });
    const ready = await worker.start();
    expect(ready.version).toMatch(/centernet @vladmandic\/human-models 3\.0\.4 on tfjs-wasm /);
    // The worker and its detector helper, one group.
    expect(group(ready.pid).length).toBeGreaterThanOrEqual(2);
    const output = join(ws.root, 'street.pkl');
    const started = Date.now();
    await worker.track({ id: 's', inputs: [{ path: STREET_PEOPLE, start: 0, count: FRAMES }], firstFrame: 0, frameCount: FRAMES, output });
    const people = peoplePerFrame(output);
    const mean = people.reduce((a, b) => a + b, 0) / people.length;
    console.log(`street-people.avi with centernet: ${(FRAMES / ((Date.now() - started) / 1000)).toFixed(1)} frames/s, ${mean.toFixed(2)} people a frame, ${people.filter((n) => n > 0).length}/${FRAMES} frames with people`);
    // Six people are in the foreground all along.
    expect(people.filter((n) => n > 0).length).toBeGreaterThanOrEqual(FRAMES - 5);
    expect(mean).toBeGreaterThanOrEqual(4);
    // Its stdin closes with the worker: the helper follows it out.
    await worker.stop();
    await waitFor('the worker’s process group to be empty', () => (group(ready.pid).length === 0 ? true : undefined), 10_000, 100);
    ws.cleanup();
  });

  it('refuses a detector it does not know, naming the setting', async () => {
    const { worker } = makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'yolo' });
    const error = await rejection(worker.start());
    expect(error.kind).toBe('environment');
    expect(error.message).toContain("POSEPIPE_BUILTIN_DETECTOR='yolo' must be hog or centernet");
  });
});
