/**
 * The committed output schema's person fields: the extras of the keypoints and phalp backends are
 * checked for shape (the end-to-end tests validate real documents against the same file).
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';

const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync('schema/posepipe-output.schema.json', 'utf8')));

const grid = (rows: number, cols: number, value: number | null = 0.5) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => value));
const rotation = () => grid(3, 3);

/** A one-frame document holding one person with these extra fields. */
function doc(extras: Record<string, unknown>) {
  return {
    schema: 'posepipe/1',
    source: { name: 'a.mp4', sha256: 'a'.repeat(64), bytes: 1, width: 320, height: 240, fps: 10, frameCount: 1, durationSeconds: 0.1, codec: 'h264' },
    tracker: { backend: 'phalp', version: '1', device: 'cpu', precision: 'fp32' },
    chunks: [{ index: 0, firstFrame: 0, frameCount: 1, overlapFrames: 0 }],
    tracks: [{ id: 1, firstFrame: 0, lastFrame: 0, frames: 1 }],
    frames: [{ index: 0, time: 0, persons: [{ track: 1, bbox: [1, 2, 3, 4], score: 0.9, ...extras }] }],
  };
}

const phalp = {
  keypoints2d: grid(45, 2),
  joints3d: grid(45, 3),
  smpl_global_orient: [rotation()],
  smpl_body_pose: Array.from({ length: 23 }, rotation),
  smpl_betas: Array.from({ length: 10 }, () => 0),
  camera_translation: [0, 0.1, 20],
  focal_length: 6250,
};

describe('output schema: backend extras', () => {
  it('accepts the keypoints and phalp extras with their shapes, null for NaN included', () => {
    expect(validate(doc({ keypoints2d: grid(17, 3) }))).toBe(true);
    expect(validate(doc({ keypoints2d: grid(17, 3, null) }))).toBe(true);
    expect(validate(doc(phalp)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(doc({ some_other_extra: [[1, 2], [3, null]] }))).toBe(true);
  });

  it.each([
    ['keypoints2d with 4 values a point', { keypoints2d: grid(17, 4) }],
    ['joints3d with 2 values a point', { joints3d: grid(45, 2) }],
    ['smpl_body_pose as axis-angle', { smpl_body_pose: grid(23, 3) }],
    ['smpl_global_orient without its leading 1', { smpl_global_orient: rotation() }],
    ['smpl_betas of 16', { smpl_betas: Array.from({ length: 16 }, () => 0) }],
    ['camera_translation of 2', { camera_translation: [0, 1] }],
    ['a zero focal_length', { focal_length: 0 }],
    ['an extra holding a string', { some_other_extra: ['x'] }],
  ])('refuses %s', (_, extras) => {
    expect(validate(doc({ ...phalp, ...extras }))).toBe(false);
  });
});

describe('output schema: the tracker section', () => {
  const withTracker = (tracker: Record<string, unknown>) => ({ ...doc({}), tracker });

  it('names the precision of the GPU backends and nothing of builtin', () => {
    for (const precision of ['fp32', 'bf16', 'fp16']) {
      expect(validate(withTracker({ backend: 'phalp', version: '1', device: 'cuda:1', precision }))).toBe(true);
      expect(validate(withTracker({ backend: 'keypoints', version: '1', device: 'cuda:0', precision }))).toBe(true);
    }
    expect(validate(withTracker({ backend: 'builtin', version: '1', device: 'cpu' }))).toBe(true);
  });

  it.each([
    ['phalp without a precision', { backend: 'phalp', version: '1', device: 'cuda:0' }],
    ['keypoints without a precision', { backend: 'keypoints', version: '1', device: 'cuda:0' }],
    ['an unknown precision', { backend: 'phalp', version: '1', device: 'cuda:0', precision: 'fp8' }],
  ])('refuses %s', (_, tracker) => {
    expect(validate(withTracker(tracker))).toBe(false);
  });
});
