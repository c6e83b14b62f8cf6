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
afterEach(() => ws?.cleanup());

describe('the output of fixed inputs, byte for byte', () => {
  it('with-audio.mp4 through the phalp stand-in: two people a frame with every phalp extra, 1 s chunks', async () => {
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
  });
});
