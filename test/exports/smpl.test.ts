/**
 * The `smpl` export against the truth: a real job through the CLI with the test-fixture backend's
 * valid SMPL data (two people, 1 s chunks so frames come from two tracker requests, gaps where a
 * person is not detected), each track exported from the outbox JSON, and every `.npz` loaded by
 * numpy and compared with the fixture's own `truth()` (python/posepipe/backends/test_fixture_smpl.py).
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { axisAngle } from '../../src/exports/rotation.ts';
import { exportSmplTrack, type SmplExportFrame, SmplExportError } from '../../src/exports/smpl.ts';
import { cliEnv, runCli, TEST_PYTHON } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** numpy's view of each .npz against the fixture's truth; prints one JSON line of facts. */
const CHECK = String.raw`
import json, sys
import numpy as np
sys.path.insert(0, "python")
from posepipe.backends import test_fixture_smpl as fx
spec = json.loads(sys.argv[1])
w, h, fps, count = spec["width"], spec["height"], spec["fps"], spec["frameCount"]
facts = []
for item in spec["tracks"]:
    d = np.load(item["file"])
    person = item["track"] - 1
    names = {"poses", "trans", "betas", "betas_per_frame", "gender", "mocap_framerate", "frame_index", "time",
             "camera_translation", "focal_length", "image_size", "track", "gaps"}
    assert set(d.files) == names, d.files
    seen = [f for f in range(count) if fx.detected(f, person)]
    assert d["frame_index"].tolist() == seen, (d["frame_index"].tolist(), seen)
    missing = [f for f in range(seen[0], seen[-1] + 1) if not fx.detected(f, person)]
    assert d["gaps"].shape == (len(missing), 2) and all(a == b == m for (a, b), m in zip(d["gaps"].tolist(), missing)), d["gaps"]
    truth = [fx.truth(f, person, w, h) for f in seen]
    want = np.stack([t["poses"] for t in truth]).reshape(-1, 24, 3)
    got = d["poses"].reshape(-1, 24, 3)
    assert d["poses"].shape == (len(seen), 72) and d["poses"].dtype == np.float64
    angle = np.linalg.norm(want, axis=2)
    same = np.abs(got - want).max(axis=2)
    # A half turn's axis has no sign: (axis, pi) and (-axis, pi) are the same rotation.
    error = np.where(np.isclose(angle, np.pi), np.minimum(same, np.abs(got + want).max(axis=2)), same)
    assert error.max() < 1e-5, error.max()
    betas = np.stack([t["betas"] for t in truth])
    assert np.abs(d["betas_per_frame"] - betas).max() < 1e-6
    assert np.abs(d["betas"] - np.median(betas, axis=0)).max() < 1e-6 and d["betas"].shape == (10,)
    trans = np.stack([t["camera_translation"] for t in truth])
    assert np.abs(d["trans"] - trans).max() < 1e-6 and np.array_equal(d["trans"], d["camera_translation"])
    assert np.abs(d["focal_length"] - truth[0]["focal_length"]).max() < 1e-6
    assert np.abs(d["time"] - np.array(item["times"])).max() < 1e-9
    assert d["mocap_framerate"].shape == () and float(d["mocap_framerate"]) == fps
    assert str(d["gender"]) == "neutral" and d["image_size"].tolist() == [w, h] and int(d["track"]) == item["track"]
    facts.append({"track": item["track"], "rows": len(seen), "gaps": len(missing), "maxError": float(error.max()),
                  "zero": int((angle == 0).sum()), "halfTurns": int(np.isclose(angle, np.pi).sum())})
print(json.dumps(facts))
`;

describe('smpl export', () => {
  it('a test-fixture job with valid SMPL data: numpy loads each track, poses equal the known axis-angles, only detected frames, gaps listed', async () => {
    ws = makeWorkspace('smpl-export');
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_PEOPLE: '2', POSEPIPE_TEST_FIXTURE_SMPL: '1', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5' });
    const r = await runCli(['run', fixture('with-audio.mp4')], env);
    expect(r.code, r.stderr).toBe(0);
    const doc = readValidOutput(join(ws.outbox, 'with-audio.json'));
    expect(doc.chunks.length).toBe(2);
    expect(doc.tracks.map((t) => t.id)).toEqual([1, 2]);
    const frames = doc.frames as SmplExportFrame[];
    const tracks = [];
    for (const track of doc.tracks) {
      const file = join(ws.outbox, `with-audio.track-${track.id}.npz`);
      const result = await exportSmplTrack(doc, stream(frames), track.id, file);
      expect(result.frames).toBe(track.frames);
      const times = frames.filter((f) => f.persons.some((p) => p.track === track.id)).map((f) => f.time);
      tracks.push({ file, track: track.id, times });
    }
    const spec = { width: doc.source.width, height: doc.source.height, fps: doc.source.fps, frameCount: doc.frames.length, tracks };
    const check = spawnSync(TEST_PYTHON, ['-c', CHECK, JSON.stringify(spec)], { encoding: 'utf8', cwd: resolve('.') });
    expect(check.status, check.stderr).toBe(0);
    const facts = JSON.parse(check.stdout) as Array<{ rows: number; gaps: number; zero: number; halfTurns: number; maxError: number }>;
    // The hard cases were there: identities, half turns, and gaps in each track.
    for (const f of facts) expect(f.zero > 0 && f.halfTurns > 0 && f.gaps > 0 && f.rows > 30).toBe(true);
    console.log(`smpl export: ${facts.map((f) => `${f.rows} rows, ${f.gaps} gaps, largest pose error ${f.maxError.toExponential(1)}`).join('; ')}`);

    // A track that is not there, and an output without SMPL fields, are refused by name.
    await expect(exportSmplTrack(doc, stream(frames), 9, join(ws.outbox, 'x.npz'))).rejects.toThrow(/no such track \(tracks: 1, 2\)/);
    const bare = frames.map((f) => ({ ...f, persons: f.persons.map((p) => ({ track: p.track, bbox: p.bbox, score: p.score })) }));
    const refused = exportSmplTrack({ ...doc, tracker: { backend: 'builtin' } }, stream(bare), 1, join(ws.outbox, 'x.npz'));
    await expect(refused).rejects.toThrow(SmplExportError);
    await expect(refused).rejects.toThrow(/frame 0 has no smpl_global_orient \(the builtin backend/);
  });

  it('converts rotations to axis-angle near angle 0 and pi, and for matrices rounded to 4 decimals', () => {
    const rodrigues = (v: readonly number[]): number[] => {
      const angle = Math.hypot(v[0]!, v[1]!, v[2]!);
      const [x, y, z] = angle === 0 ? [0, 0, 0] : v.map((c) => c / angle);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const k = 1 - c;
      return [c + x! * x! * k, x! * y! * k - z! * s, x! * z! * k + y! * s, y! * x! * k + z! * s, c + y! * y! * k, y! * z! * k - x! * s, z! * x! * k - y! * s, z! * y! * k + x! * s, c + z! * z! * k];
    };
    const axis = [2, -3, 6].map((c) => c / 7);
    for (const angle of [0, 1e-12, 1e-7, 1e-3, 0.5, 2, Math.PI - 1e-3, Math.PI - 1e-7, Math.PI]) {
      const v = axis.map((c) => c * angle);
      const got = axisAngle(rodrigues(v));
      const error = Math.max(...got.map((g, i) => Math.abs(g - v[i]!)));
      const flipped = Math.max(...got.map((g, i) => Math.abs(g + v[i]!)));
      // Within a few ulps of the angle; at exactly pi either sign of the axis is the same rotation.
      expect(angle === Math.PI ? Math.min(error, flipped) : error, `angle ${angle}`).toBeLessThan(1e-9);
    }
    // Each axis as the largest diagonal entry near pi (Shepperd's three other branches).
    for (const a of [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]]) {
      const v = a.map((c) => c * (Math.PI - 1e-6));
      const got = axisAngle(rodrigues(v));
      expect(Math.max(...got.map((g, i) => Math.abs(g - v[i]!)))).toBeLessThan(1e-9);
    }
    // Rounded to 4 decimals (what the output keeps): still the rotation, to about 1e-4.
    const v = [0.3, -1.1, 2.4];
    const rounded = rodrigues(v).map((x) => Math.round(x * 1e4) / 1e4);
    expect(Math.max(...axisAngle(rounded).map((g, i) => Math.abs(g - v[i]!)))).toBeLessThan(2e-4);
  });
});
