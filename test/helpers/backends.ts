/** Settings that make the GPU backends runnable in tests on a CPU without weights or 4D-Humans. */
import { resolve } from 'node:path';

/**
 * keypoints: seconds per frame on one core. A 64-pixel short side, 20 proposals, 2 persons per
 * frame, every detection kept (random weights score about 0.3) and every detection its own
 * confirmed track.
 */
export const KEYPOINTS_TINY: Readonly<Record<string, string>> = {
  POSEPIPE_KEYPOINTS_WEIGHTS: 'random',
  POSEPIPE_KEYPOINTS_DEVICE: 'cpu',
  POSEPIPE_KEYPOINTS_SIZE: '64',
  POSEPIPE_KEYPOINTS_PROPOSALS: '20',
  POSEPIPE_KEYPOINTS_MAX_PERSONS: '2',
  POSEPIPE_KEYPOINTS_MIN_SCORE: '0',
  POSEPIPE_KEYPOINTS_MIN_HITS: '1',
  POSEPIPE_KEYPOINTS_BATCH: '2',
};

/** phalp: the stand-in hmr2/phalp/detectron2 packages the backend's tests run against. */
export const PHALP_STAND_INS = resolve('python/tests/stand_ins');
