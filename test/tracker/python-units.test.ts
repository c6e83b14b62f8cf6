/**
 * The worker's own Python unit tests that belong to no single backend: pinning the worker to its GPU
 * (python/tests/test_pinning.py), the model-file manifests (python/tests/test_models*.py), and the
 * tracker builtin and keypoints share (python/tests/test_sort.py) with builtin's settings and
 * appearance histograms (python/tests/test_builtin.py), its keypoints setting and crops
 * (python/tests/test_builtin_keypoints.py), and the SMPL model reader exports use
 * (python/tests/test_smpl_model.py, on the stand-in model).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';

function unittests(pattern: string): { status: number | null; stderr: string; ran: number } {
  const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', resolve('python/tests'), '-p', pattern, '-v'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return { status: r.status, stderr: r.stderr, ran: Number(/^Ran (\d+) tests?/m.exec(r.stderr)?.[1] ?? 0) };
}

// Each Python test file, what it shows, and the fewest tests it must run (a file that finds none fails).
const SUITES: [string, string, number][] = [
  ['pins the worker to the configured GPU before CUDA starts (CUDA_VISIBLE_DEVICES)', 'test_pinning.py', 6],
  ['lists the model files each backend needs (--models), where its library looks for them', 'test_models*.py', 4],
  ['keeps ids through weak detections, hidden frames and crossings (posepipe/sort.py)', 'test_sort.py', 8],
  ["checks builtin's settings and tells clothes apart by their colour histograms", 'test_builtin.py', 6],
  ["refuses a bad keypoints setting, naming it, and cuts each person's square crop where the keypoints map back", 'test_builtin_keypoints.py', 6],
  ["reads an SMPL model file pickled as the real one (chumpy, scipy) with numpy alone; rest joints for betas; SMPL's forward kinematics", 'test_smpl_model.py', 9],
  ['turns rotations into BVH angles and fills the frames between detections (half turns and gimbal lock included)', 'test_bvh.py', 4],
];

describe('worker Python units', () => {
  it.each(SUITES)('%s', (_what, pattern, fewest) => {
    const r = unittests(pattern);
    expect(r.status, r.stderr).toBe(0);
    expect(r.ran).toBeGreaterThanOrEqual(fewest);
    expect(r.stderr).toMatch(/^OK$/m);
  }, 130_000);
});
