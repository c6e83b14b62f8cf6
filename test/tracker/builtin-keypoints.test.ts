/**
 * The builtin backend's CPU keypoints (POSEPIPE_BUILTIN_KEYPOINTS=1): the real CenterNet and MoveNet
 * models in the Node helper a real TrackerWorker starts, on frames of the real street video, against
 * the people marked by eye in frame 100.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { STREET_FRAME_100 } from '../helpers/street-marks.ts';
import { PYTHON, rejection, trackerWorkersPerTest } from '../helpers/tracker-workers.ts';
import { makeWorkspace } from '../helpers/workspace.ts';

const makeWorker = trackerWorkersPerTest();
/** Frames 95..100: tracks are kept from their fifth match, so frame 100 has rows. */
const FIRST = 95;
const FRAMES = 6;

interface Row {
  bbox: number[];
  keypoints: number[][];
}

/** The keypoints column's dtype and shape and the rows of one frame of a chunk pickle, read by CPython. */
function readChunk(path: string, frame: number): { dtype: string; shape: number[]; rows: number; frame: Row[] } {
  const code = [
    'import json, pickle, sys',
    "d = pickle.load(open(sys.argv[1], 'rb'))",
    "k = d['extras']['keypoints2d']",
    "rows = [{'bbox': d['bbox'][i].tolist(), 'keypoints': k[i].tolist()} for i in range(len(d['frame'])) if d['frame'][i] == int(sys.argv[2])]",
    "print(json.dumps({'dtype': str(k.dtype), 'shape': list(k.shape), 'rows': len(d['frame']), 'frame': rows}))",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code, path, String(frame)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof readChunk>;
}

function iou([x, y, w, h]: number[], [x1, y1, x2, y2]: readonly number[]): number {
  const iw = Math.max(0, Math.min(x! + w!, x2!) - Math.max(x!, x1!));
  const ih = Math.max(0, Math.min(y! + h!, y2!) - Math.max(y!, y1!));
  return (iw * ih) / (w! * h! + (x2! - x1!) * (y2! - y1!) - iw * ih);
}

describe('the builtin backend with CPU keypoints', () => {
  it('gives each person row 17 COCO keypoints that lie on the person', async () => {
    const ws = makeWorkspace('builtin-keypoints');
    const { worker } = makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'centernet', POSEPIPE_BUILTIN_KEYPOINTS: '1' });
    const ready = await worker.start();
    expect(ready.version).toMatch(/centernet .* keypoints by movenet-lightning\)$/);
    const output = join(ws.root, 'street.pkl');
    await worker.track({ id: 'k', inputs: [{ path: STREET_PEOPLE, start: FIRST, count: FRAMES }], firstFrame: FIRST, frameCount: FRAMES, output });
    const chunk = readChunk(output, 100 - FIRST);
    expect(chunk.dtype).toBe('float32');
    expect(chunk.shape).toEqual([chunk.rows, 17, 3]);
    // Six frames confirm most tracks (each is kept from its fifth match): check the rows there are.
    const onPeople = chunk.frame.flatMap((row) => {
      const found = Object.entries(STREET_FRAME_100).find(([, marked]) => iou(row.bbox, marked) > 0.5);
      return found ? [{ row, who: found[0], marked: found[1] }] : [];
    });
    expect(onPeople.length, 'rows on the people marked in frame 100').toBeGreaterThanOrEqual(4);
    for (const { row, who, marked } of onPeople) {
      const [x1, y1, x2, y2] = marked;
      const slack = 0.1 * (y2 - y1);
      const sure = row.keypoints.filter((k) => k[2]! > 0.3);
      const inside = sure.filter(([x, y]) => x! >= x1 - slack && x! <= x2 + slack && y! >= y1 - slack && y! <= y2 + slack);
      expect(sure.length, `keypoints scoring over 0.3 on the person ${who}`).toBeGreaterThanOrEqual(5);
      expect(inside.length / sure.length, `the share of them inside the person ${who}'s box`).toBeGreaterThanOrEqual(0.9);
      // COCO order: shoulders 5 and 6, hips 11 and 12; image y grows downwards.
      const y = (i: number) => row.keypoints[i]![1]!;
      expect((y(5) + y(6)) / 2, `the shoulders of the person ${who} above the hips`).toBeLessThan((y(11) + y(12)) / 2);
    }
    ws.cleanup();
  });

  it('refuses a setting that is not 0 or 1, and keypoints without the centernet detector, naming the setting', async () => {
    const bad = await rejection(makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'centernet', POSEPIPE_BUILTIN_KEYPOINTS: 'yes' }).worker.start());
    expect(bad.kind).toBe('environment');
    expect(bad.message).toContain("POSEPIPE_BUILTIN_KEYPOINTS='yes' must be 0 or 1");
    const hog = await rejection(makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'hog', POSEPIPE_BUILTIN_KEYPOINTS: '1' }).worker.start());
    expect(hog.kind).toBe('environment');
    expect(hog.message).toContain('POSEPIPE_BUILTIN_KEYPOINTS=1 needs POSEPIPE_BUILTIN_DETECTOR=centernet');
  });
});
