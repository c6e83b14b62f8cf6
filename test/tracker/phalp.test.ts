import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TrackerWorker } from '../../src/tracker/index.ts';
import { PHALP_STAND_INS as STAND_INS, phalpHome, peopleVideo } from '../helpers/backends.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { makeWorkspace } from '../helpers/workspace.ts';

// Debian's python3 has torch (CPU); the stand-ins for hmr2/phalp/detectron2 live in python/tests.
const PYTHON = '/usr/bin/python3';
const workers: TrackerWorker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

// Reads the chunk pickle with CPython: shapes of the extras and which frames each track has.
const SUMMARY = `
import json, pickle, sys
d = pickle.load(open(sys.argv[1], 'rb'))
frames = {}
for f, t in zip(d['frame'].tolist(), d['track'].tolist()):
    frames.setdefault(str(t), []).append(f)
print(json.dumps({'backend': d['backend'], 'rows': len(d['frame']), 'bbox': list(d['bbox'].shape),
                  'extras': {k: [v.dtype.str] + list(v.shape) for k, v in d['extras'].items()}, 'frames': frames}))
`;

describe('the phalp backend', () => {
  it('passes its Python tests against the stand-ins', () => {
    const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'python/tests', '-p', 'test_phalp*.py'], { encoding: 'utf8', timeout: 240_000 });
    expect(r.stderr).toMatch(/^OK$/m);
    expect(r.stderr).toMatch(/Ran (1[6-9]|[2-9]\d) tests/);
    expect(r.status).toBe(0);
  }, 250_000);

  it('tracks a chunk in the real worker: every extra with its shape, no ghost rows', async () => {
    const ws = makeWorkspace('phalp');
    const video = join(ws.root, 'people.mp4');
    peopleVideo(video);
    const worker = new TrackerWorker({
      python: PYTHON, backend: 'phalp', startupMs: 60_000, heartbeatMs: 60_000,
      // A host with OSMesa and no EGL (simulated for the stand-ins): PHALP's import forces egl, and
      // posepipe must still load under osmesa.
      env: { PYTHONPATH: STAND_INS, HOME: phalpHome(ws.root), POSEPIPE_PHALP_DEVICE: 'cpu', POSEPIPE_PHALP_BATCH: '3', POSEPIPE_STANDIN_GL_LIBS: 'OSMesa' },
    });
    workers.push(worker);
    const ready = await worker.start();
    expect(ready).toMatchObject({ backend: 'phalp', device: 'cpu', precision: 'fp32', batch: 3 });
    const output = join(ws.root, '0000.pkl');
    const done = await worker.track({ id: 'p0', inputs: [{ path: video, start: 0 }], firstFrame: 0, frameCount: 20, output });
    expect(done).toMatchObject({ type: 'done', id: 'p0', frames: 20, detections: 38 });
    const r = spawnSync(PYTHON, ['-c', SUMMARY, output], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { backend: string; rows: number; bbox: number[]; extras: Record<string, (string | number)[]>; frames: Record<string, number[]> };
    const m = 38;
    expect(s).toMatchObject({ backend: 'phalp', rows: m, bbox: [m, 4] });
    expect(s.extras).toEqual({
      keypoints2d: ['<f4', m, 45, 2], joints3d: ['<f4', m, 45, 3], smpl_global_orient: ['<f4', m, 1, 3, 3],
      smpl_body_pose: ['<f4', m, 23, 3, 3], smpl_betas: ['<f4', m, 10], camera_translation: ['<f4', m, 3], focal_length: ['<f4', m],
    });
    const all = Array.from({ length: 20 }, (_, i) => i);
    expect(s.frames).toEqual({ '1': all, '2': all.filter((f) => f !== 8 && f !== 9) });
    ws.cleanup();
  }, 120_000);

  it('doctor with a bare interpreter prints one line per failed check with its fix and exits 2', async () => {
    const ws = makeWorkspace('phalp-doctor');
    const env = cliEnv(ws, { POSEPIPE_PYTHON: PYTHON, HOME: join(ws.root, 'empty-home') });
    delete env.PYTHONPATH;
    const r = await runCli(['doctor', '--tracker', 'phalp'], env);
    const out = r.stdout + r.stderr;
    expect(r.code).toBe(2);
    expect(out).not.toMatch(/Traceback/);
    const lines = r.stdout.split('\n');
    const failed = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('FAIL'));
    for (const name of ['venv', 'import hmr2', 'import phalp', 'import detectron2', 'cuda', 'smpl 4DHumans', 'smpl phalp', 'file hmar_v2_weights.pth', 'file hmr2_data.tar.gz', 'file model_final_f05665.pkl', 'file model_final_2d9806.pkl']) {
      expect(failed.filter(([l]) => l.startsWith(`FAIL  phalp: ${name}:`))).toHaveLength(1);
    }
    for (const [line, i] of failed) expect(lines[i + 1] ?? '', line).toMatch(/^ {6}fix: \S/);
    expect(out).toMatch(/fix: in this venv: pip install -r python\/requirements-phalp.txt, then pip install --no-deps -r python\/requirements-phalp-nodeps.txt/);
    expect(out).toMatch(/fix: posepipe models pull --tracker phalp \(or download https:\/\/www.cs.utexas.edu\/~pavlakos\/phalp\/weights\/hmar_v2_weights.pth to /);
    ws.cleanup();
  }, 120_000);
});
