/**
 * The per-track exports through the CLI and the API: a real test-fixture job with valid SMPL data
 * (two people with gaps), `posepipe export --format smpl` and `--format bvh` (python/posepipe/bvh.py
 * with a stand-in SMPL model, python/tests/stand_ins/smpl_stand_in.py), every BVH imported by Blender's
 * own importer (Debian's blender, headless) and its joints, by Blender's forward kinematics, compared
 * with the joints the SMPL model gives for the same parameters at every detected frame; the API's zip
 * of the smpl files read by Python's zipfile.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, TEST_PYTHON } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { startHarness } from '../server/harness.ts';

let ws: Workspace;
let env: NodeJS.ProcessEnv;
let model: string;

beforeAll(async () => {
  ws = makeWorkspace('bvh-export');
  model = join(ws.root, 'SMPL_NEUTRAL.pkl');
  const made = spawnSync(TEST_PYTHON, [resolve('python/tests/stand_ins/smpl_stand_in.py'), model], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_PEOPLE: '2', POSEPIPE_TEST_FIXTURE_SMPL: '1', HOME: ws.root });
  const r = await runCli(['run', fixture('with-audio.mp4')], env);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => ws?.cleanup());

/** The joints the SMPL model gives for each track's parameters (Y up, as the BVH holds them), by frame. */
const EXPECTED = String.raw`
import json, sys
import numpy as np
sys.path.insert(0, "python")
from posepipe.smpl_model import JOINT_NAMES, load
model = load(sys.argv[1])
files = []
for npz, bvh in json.loads(sys.argv[2]):
    d = np.load(npz)
    joints = model.joints(d["poses"], d["betas"], d["trans"]) @ np.diag([1.0, -1.0, -1.0])
    frames = (d["frame_index"] - d["frame_index"][0]).tolist()
    files.append({"bvh": bvh, "frames": frames, "joints": joints.tolist(), "gaps": d["gaps"].tolist(), "rate": float(d["mocap_framerate"])})
print(json.dumps({"names": list(JOINT_NAMES), "files": files}))
`;

describe('per-track exports: smpl and bvh', () => {
  it('bvh: Blender imports every file, 24 SMPL bones, the frame count and rate, joints within 1 mm of the SMPL model at every detected frame', async () => {
    const smpl = await runCli(['export', '1', '--format', 'smpl'], env);
    expect(smpl.code, smpl.stderr).toBe(0);
    const npz = smpl.stdout.trim().split('\n');
    expect(npz).toEqual([1, 2].map((t) => join(ws.outbox, `with-audio.track-${t}.smpl.npz`)));

    // Without the SMPL model: the error names where to put it.
    const missing = await runCli(['export', '1', '--format', 'bvh'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no SMPL model for the bvh export: put SMPL_NEUTRAL.pkl at ${join(ws.root, '.cache', '4DHumans', 'data', 'smpl', 'SMPL_NEUTRAL.pkl')}`);

    const r = await runCli(['export', '1', '--format', 'bvh'], { ...env, POSEPIPE_SMPL_MODEL: model });
    expect(r.code, r.stderr).toBe(0);
    const bvh = r.stdout.trim().split('\n');
    expect(bvh).toEqual([1, 2].map((t) => join(ws.outbox, `with-audio.track-${t}.bvh.bvh`)));

    const expected = spawnSync(TEST_PYTHON, ['-c', EXPECTED, model, JSON.stringify(npz.map((n, k) => [n, bvh[k]]))], { encoding: 'utf8', cwd: resolve('.'), maxBuffer: 1 << 28 });
    expect(expected.status, expected.stderr).toBe(0);
    const spec = JSON.parse(expected.stdout) as { names: string[]; files: { frames: number[]; gaps: number[][]; rate: number }[] };
    const specFile = join(ws.root, 'spec.json');
    const resultFile = join(ws.root, 'result.json');
    writeFileSync(specFile, expected.stdout);
    const blender = spawnSync('blender', ['-b', '--factory-startup', '--python', resolve('test/exports/blender-bvh.py'), '--', specFile, resultFile], { encoding: 'utf8', timeout: 120_000 });
    expect(blender.status, blender.stdout + blender.stderr).toBe(0);
    const results = JSON.parse(readFileSync(resultFile, 'utf8')) as { bones: string[]; action: number[]; fps: number; worst: number }[];
    results.forEach((got, k) => {
      const want = spec.files[k]!;
      expect(got.bones.slice().sort()).toEqual(spec.names.slice().sort());
      // Every frame from the first detected to the last, the gaps filled.
      const span = want.frames.at(-1)! + 1;
      expect(want.gaps.length, 'the track has gaps to fill').toBeGreaterThan(0);
      expect(got.action).toEqual([1, span]);
      expect(got.fps).toBeCloseTo(want.rate, 6);
      expect(got.worst, `track ${k + 1}: the largest distance to the SMPL model's joints, in metres`).toBeLessThan(1e-3);
    });
    console.log(`bvh: ${results.map((g, k) => `track ${k + 1}: ${g.action[1]} frames at ${g.fps} fps, joints within ${(g.worst * 1000).toFixed(4)} mm`).join('; ')}`);
  });

  it('the API sends the smpl files of every track as one zip, the files the CLI writes', async () => {
    const h = await startHarness({ ws, env: { POSEPIPE_PAGE_TOKEN: 'operator-token-0123456789' }, flags: { auth: 'on' } });
    try {
      const response = await fetch(`${h.origin}/api/jobs/1/export/smpl`, { headers: { authorization: 'Bearer operator-token-0123456789' } });
      expect([response.status, response.headers.get('content-type'), response.headers.get('content-disposition')]).toEqual([200, 'application/zip', "attachment; filename*=UTF-8''with-audio.smpl.zip"]);
      const zip = join(ws.root, 'smpl.zip');
      writeFileSync(zip, Buffer.from(await response.arrayBuffer()));
      const read = spawnSync(TEST_PYTHON, ['-c', 'import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, hashlib.sha256(z.read(i)).hexdigest())', zip], { encoding: 'utf8' });
      expect(read.status, read.stderr).toBe(0);
      const sha = (f: string) => spawnSync('sha256sum', [f], { encoding: 'utf8' }).stdout.split(' ')[0];
      expect(read.stdout.trim().split('\n')).toEqual([1, 2].map((t) => `with-audio.track-${t}.smpl.npz ${sha(join(ws.outbox, `with-audio.track-${t}.smpl.npz`))}`));
      const doc = readValidOutput(join(ws.outbox, 'with-audio.json'));
      expect(doc.tracker.backend).toBe('test-fixture');
    } finally {
      await h.stop();
    }
  });
});
