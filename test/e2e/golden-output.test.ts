/**
 * Outputs that must not change by accident (issue 13): the outbox JSON of fixed inputs, as the code
 * wrote it when the file was committed (gzipped, under test/golden/), compared byte for byte, so a
 * rewrite of merge and emit keeps every key, its order and every number's formatting. Here the
 * test-fixture backend standing in for phalp (two people a frame with every phalp extra, in 1 s
 * chunks so ids are joined across boundaries): its output is a pure function of the decoded
 * pixels. The builtin backend's golden is checked on committed chunk results instead
 * (test/stages/golden-merge.test.ts).
 *
 * To write a golden again (only for a deliberate change of the output): POSEPIPE_WRITE_GOLDEN=1
 * npx vitest run <the test file>; the run fails saying what it wrote, and the new file is
 * committed with the reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { expectGolden } from '../helpers/golden.ts';
import { readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;

/** The POSEPIPE_* settings of an environment made by cliEnv. */
const envOf = (env: NodeJS.ProcessEnv): Record<string, string> => Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('POSEPIPE_') && v !== undefined)) as Record<string, string>;
afterEach(() => ws?.cleanup());

/** The first (and here only) frame window of job 1's player. */
const playerWindow = (home: string) => JSON.parse(readFileSync(join(home, 'jobs', '1', 'player', 'frames-0.json'), 'utf8')) as { persons: { track: number; joints3d?: unknown; camera_translation?: unknown }[] }[];

describe('the output of fixed inputs, byte for byte', () => {
  it('with-audio.mp4 through the phalp stand-in: two people a frame with every phalp extra, 1 s chunks; with extras=keypoints2d only those', async () => {
    ws = makeWorkspace('golden-phalp');
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_PEOPLE: '2', POSEPIPE_TEST_FIXTURE_EXTRAS: 'phalp', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5' });
    const r = await runCli(['run', fixture('with-audio.mp4')], env);
    expect(r.code, r.stderr).toBe(0);
    const file = join(ws.outbox, 'with-audio.json');
    const doc = readValidOutput(file);
    expect(doc.frames).toHaveLength(50);
    expect(doc.frames.every((f) => f.persons.length === 2)).toBe(true);
    expect(Object.keys(doc.frames[0]!.persons[0]!).sort()).toEqual(['bbox', 'camera_translation', 'focal_length', 'joints3d', 'keypoints2d', 'score', 'smpl_betas', 'smpl_body_pose', 'smpl_global_orient', 'track']);
    // About what phalp writes per person and frame.
    const perPerson = readFileSync(file).length / 100;
    expect(perPerson).toBeGreaterThan(3000);
    expectGolden('with-audio.phalp-shaped.json', readFileSync(file));
    // The player's frames (what the page's 3D view draws) carry the 3D joints and where each body is, to the millimetre.
    const mm = (v: unknown): unknown => (Array.isArray(v) ? v.map(mm) : Math.round((v as number) * 1000) / 1000 || 0);
    // The joints the view draws (OpenPose's 25, the spine and head 37..43); the others null.
    const drawn = (j: unknown) => (j as unknown[]).map((v, i) => (i < 25 || (i >= 37 && i <= 43) ? mm(v) : null));
    const in3d = (d: typeof doc) => d.frames.map((f) => f.persons.map((p: { track: number; joints3d?: unknown; camera_translation?: unknown }) => ({ track: p.track, joints3d: drawn(p.joints3d), camera_translation: mm(p.camera_translation) })));
    const player3d = (home: string) => playerWindow(home).map((f) => f.persons.map((p) => ({ track: p.track, joints3d: p.joints3d, camera_translation: p.camera_translation })));
    expect(player3d(ws.home)).toEqual(in3d(doc));

    // The extras setting: only 2D keypoints, for a user who needs nothing else.
    const slim = makeWorkspace('golden-phalp-slim');
    try {
      const again = await runCli(['run', fixture('with-audio.mp4')], cliEnv(slim, { ...envOf(env), POSEPIPE_HOME: slim.home, POSEPIPE_INBOX: slim.inbox, POSEPIPE_OUTBOX: slim.outbox, POSEPIPE_EXTRAS: 'keypoints2d' }));
      expect(again.code, again.stderr).toBe(0);
      const slimFile = join(slim.outbox, 'with-audio.json');
      const slimDoc = readValidOutput(slimFile);
      expect(slimDoc.frames.every((f) => f.persons.every((p) => Object.keys(p).join(',') === 'track,bbox,score,keypoints2d'))).toBe(true);
      const full = doc.frames.map((f) => f.persons.map((p) => ({ track: p.track, bbox: p.bbox, score: p.score, keypoints2d: (p as { keypoints2d?: unknown }).keypoints2d })));
      expect(slimDoc.frames.map((f) => f.persons)).toEqual(full);
      // The 3D view does not depend on the extras the JSON keeps.
      expect(player3d(slim.home)).toEqual(in3d(doc));
      console.log(`phalp stand-in: ${(perPerson / 1000).toFixed(2)} kB per person and frame with every extra, ${(readFileSync(slimFile).length / 100 / 1000).toFixed(2)} kB with keypoints2d alone`);
    } finally {
      slim.cleanup();
    }
  });
});
