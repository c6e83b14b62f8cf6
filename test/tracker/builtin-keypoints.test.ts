/**
 * The builtin backend's keypoints setting, checked by a real TrackerWorker at load: a bad value or
 * keypoints without the centernet detector are environment errors naming the setting.
 * test/e2e/player-keypoints.test.ts runs the real models on the street video, from the CLI to the player.
 */
import { describe, expect, it } from 'vitest';
import { rejection, trackerWorkersPerTest } from '../helpers/tracker-workers.ts';

const makeWorker = trackerWorkersPerTest();

describe('the builtin backend’s keypoints setting', () => {
  it('refuses a value that is not 0 or 1, and keypoints without the centernet detector, naming the setting', async () => {
    const bad = await rejection(makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'centernet', POSEPIPE_BUILTIN_KEYPOINTS: 'yes' }).worker.start());
    expect(bad.kind).toBe('environment');
    expect(bad.message).toContain("POSEPIPE_BUILTIN_KEYPOINTS='yes' must be 0 or 1");
    const hog = await rejection(makeWorker('builtin', { POSEPIPE_BUILTIN_DETECTOR: 'hog', POSEPIPE_BUILTIN_KEYPOINTS: '1' }).worker.start());
    expect(hog.kind).toBe('environment');
    expect(hog.message).toContain('POSEPIPE_BUILTIN_KEYPOINTS=1 needs POSEPIPE_BUILTIN_DETECTOR=centernet');
  });
});
