/**
 * The job page's pictures carry the frames' own times when the chunk stage recorded them (a
 * variable frame rate or a late start): the thumbnails' captions say what the output JSON says.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { FRAME_TIMES_FILE } from '../../src/paths.ts';
import { jobPictures } from '../../src/server/job-pictures.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';
import { writeMerged } from '../pictures/merged-fixture.ts';

const workspace = workspacesPerTest();
const FACTS = { width: 160, height: 120, fps: 25, codec: 'h264', durationSeconds: 4.8, bytes: 1, frames: 120, framesExact: true };

describe('jobPictures', () => {
  it('puts each picked frame\'s source time (from the first frame\'s) in place of index / fps, for a copy too', async () => {
    const ws = workspace('job-pictures');
    const config = loadConfig({ env: { POSEPIPE_HOME: ws.home, POSEPIPE_INBOX: ws.inbox, POSEPIPE_OUTBOX: ws.outbox } });
    const dir = join(config.home, 'jobs', '3');
    mkdirSync(join(dir, 'chunks'), { recursive: true });
    writeMerged(dir);
    // 50 fps for 60 frames, then 25 fps, starting at 10 s.
    const times = Array.from({ length: 120 }, (_, i) => 10 + (i < 60 ? i * 0.02 : 1.2 + (i - 60) * 0.04));
    const source = { facts: FACTS, stagedFile: 'source.mp4' };
    const before = (await jobPictures(config, { id: 3, state: 'done', copyOf: null }, source))!;
    expect(before.pictures.frames.every((f) => Math.abs(f.time - f.index / 25) < 1e-9)).toBe(true);
    writeFileSync(join(dir, FRAME_TIMES_FILE), JSON.stringify(times));
    // A copy (job 4) shows its original's pictures, with those times.
    const after = (await jobPictures(config, { id: 4, state: 'done', copyOf: 3 }, source))!;
    expect(after.sourceFile).toBe(join(dir, 'source.mp4'));
    expect(after.pictures.frames.length).toBeGreaterThan(1);
    for (const f of after.pictures.frames) expect(f.time).toBeCloseTo(times[f.index]! - 10, 9);
    expect(after.pictures.frames.some((f) => Math.abs(f.time - f.index / 25) > 0.1)).toBe(true);
  });
});
