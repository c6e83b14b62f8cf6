/**
 * Issue 5, backend `keypoints` (torchvision Keypoint R-CNN) without a GPU or weights: its Python
 * unit tests, then the real worker end to end on the CPU with random weights and tiny settings on a
 * few frames of the street fixture, and its environment errors as the pipeline sees them.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TrackerError } from '../../src/errors.ts';
import { TrackerWorker } from '../../src/tracker/index.ts';
import { KEYPOINTS_TINY as TINY } from '../helpers/backends.ts';
import { TEST_PYTHON } from '../helpers/cli.ts';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const workers: TrackerWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

function makeWorker(env: Record<string, string>): TrackerWorker {
  const worker = new TrackerWorker({ python: TEST_PYTHON, backend: 'keypoints', env, startupMs: 120_000, heartbeatMs: 60_000 });
  workers.push(worker);
  return worker;
}

// The chunk pickle as CPython reads it, plus whether every row's keypoints lie inside its own box.
const SUMMARY = `
import json, pickle, sys
d = pickle.load(open(sys.argv[1], 'rb'))
kp, box = d['extras']['keypoints2d'], d['bbox']
inside = bool(((kp[:, :, 0] >= box[:, None, 0] - 1) & (kp[:, :, 0] <= box[:, None, 0] + box[:, None, 2] + 1) &
               (kp[:, :, 1] >= box[:, None, 1] - 1) & (kp[:, :, 1] <= box[:, None, 1] + box[:, None, 3] + 1)).all())
print(json.dumps({'backend': d['backend'], 'device': d['device'], 'version': d['backend_version'],
                  'width': d['width'], 'height': d['height'], 'frames': sorted(set(d['frame'].tolist())),
                  'rows': len(d['frame']), 'keypoints2d': [kp.dtype.str, list(kp.shape)], 'inside': inside}))
`;

interface Summary {
  backend: string;
  device: string;
  version: string;
  width: number;
  height: number;
  frames: number[];
  rows: number;
  keypoints2d: [string, number[]];
  inside: boolean;
}

function summarise(path: string): Summary {
  const r = spawnSync(TEST_PYTHON, ['-c', SUMMARY, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Summary;
}

async function startError(worker: TrackerWorker): Promise<TrackerError> {
  const error = await worker.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrackerError);
  return error as TrackerError;
}

describe('keypoints backend', () => {
  it('passes its Python unit tests (settings, out-of-memory batch cap, rows, weights, the CPU model)', () => {
    const r = spawnSync(TEST_PYTHON, ['-m', 'unittest', 'discover', '-s', resolve('python/tests'), '-p', 'test_keypoints*.py', '-v'], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const ran = /^Ran (\d+) tests?/m.exec(r.stderr);
    expect(r.status, r.stderr).toBe(0);
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(20);
    expect(r.stderr).toMatch(/^OK$/m);
  });

  it('tracks frames of street-people.avi on the CPU with random weights: persons carry keypoints2d (17, 3)', async () => {
    const ws = workspace('keypoints-worker');
    const worker = makeWorker(TINY);
    const ready = await worker.start();
    expect(ready).toMatchObject({ type: 'ready', backend: 'keypoints', device: 'cpu', precision: 'fp32', batch: 2 });
    expect(ready.memoryTotalMb).toBeUndefined();
    const output = join(ws.root, '0003.pkl');
    const done = await worker.track({ id: 'k', inputs: [{ path: STREET_PEOPLE, start: 100, count: 3 }], firstFrame: 100, frameCount: 3, output });
    expect(done).toMatchObject({ type: 'done', id: 'k', output, frames: 3, detections: 6 });
    const s = summarise(output);
    expect(s).toMatchObject({ backend: 'keypoints', device: 'cpu', width: 1280, height: 720, frames: [0, 1, 2], rows: 6, keypoints2d: ['<f4', [6, 17, 3]], inside: true });
    expect(s.version).toContain('random init');
    // The same worker serves a second request (release() between them) with the same result.
    const again = join(ws.root, 'again.pkl');
    await worker.track({ id: 'k2', inputs: [{ path: STREET_PEOPLE, start: 100, count: 3 }], firstFrame: 100, frameCount: 3, output: again });
    expect(summarise(again)).toEqual(s);
    expect(worker.loads).toBe(1);
  });

  it('reports missing weights and bad settings as environment errors naming the variable', async () => {
    const ws = workspace('keypoints-env');
    const missing = join(ws.root, 'no such weights.pth');
    const noWeights = await startError(makeWorker({ ...TINY, POSEPIPE_KEYPOINTS_WEIGHTS: missing }));
    expect(noWeights.kind).toBe('environment');
    expect(noWeights.message).toContain(`POSEPIPE_KEYPOINTS_WEIGHTS='${missing}': no such file`);
    const badBatch = await startError(makeWorker({ ...TINY, POSEPIPE_KEYPOINTS_BATCH: 'lots' }));
    expect(badBatch.kind).toBe('environment');
    expect(badBatch.message).toContain("POSEPIPE_KEYPOINTS_BATCH='lots' is not a whole number");
  });
});
