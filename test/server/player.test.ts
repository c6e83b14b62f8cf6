/**
 * The player's API (issue 12, part 5) on a real HTTP server, over files the real preview stage
 * wrote: the index, frame ranges read window by window, the preview video with byte ranges, a
 * copy's player (its original's), and what a job without one answers.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobDir } from '../../src/paths.ts';
import { MAX_FRAMES } from '../../src/server/player-routes.ts';
import type { PlayerFrame } from '../../src/stages/preview.ts';
import { fixture } from '../helpers/fixtures.ts';
import { boxOf1, mergedResult } from '../pictures/merged-fixture.ts';
import { gunzipSync } from 'node:zlib';
import { CSP } from '../../src/server/guard.ts';
import { walkingPeople } from '../e2e/view3d-people.ts';
import { startHarness, type Harness } from './harness.ts';
import { playerJob, queuedJob } from './seed.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.stop());

const json = async (path: string, headers: Record<string, string> = {}) => {
  const r = await h.send(path, { headers });
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
};

describe('the player API', () => {
  it('serves the index, a range of frames with what is drawn, and the preview with byte ranges', async () => {
    // small.mp4: 150 frames, 320x240; the preview's shorter side at most 120.
    const id = await playerJob(h.db, h.config, { name: 'small.mp4', source: fixture('small.mp4'), merged: mergedResult(150), size: 120, dims: [320, 240] });
    const index = await json(`/api/jobs/${id}/player`);
    expect(index.status).toBe(200);
    expect(index.body).toMatchObject({ frameCount: 150, fps: 25, width: 320, height: 240, windowFrames: 256, windowTimes: [0], keypoints: true, reason: null });
    expect(index.body.tracks).toEqual(mergedResult(150).tracks);
    expect(index.body.preview).toEqual({ url: `/jobs/${id}/preview.mp4`, width: 160, height: 120, firstFrameTime: 0 });

    const range = await json(`/api/jobs/${id}/frames?from=10&to=12`);
    expect(range.status).toBe(200);
    // Only what is drawn: the track, box, score and 2D keypoints; time from index / fps here.
    expect(range.body).toEqual({
      from: 10,
      to: 12,
      frames: [10, 11].map((i) => ({ index: i, time: i / 25, persons: [{ track: 1, bbox: boxOf1(i), score: 0.9, keypoints2d: [[1, 2, 0.5]] }] })),
    });
    // The last frame is servable; past the end, backwards, too many at once or not a number is a 400.
    expect((await json(`/api/jobs/${id}/frames?from=149&to=150`)).body.frames).toHaveLength(1);
    for (const q of ['from=150&to=151', 'from=10&to=10', 'from=10&to=151', 'from=-1&to=3', 'from=1e2&to=200', 'from=a&to=3', 'to=3', `from=0&to=${MAX_FRAMES + 1}`]) {
      const bad = await json(`/api/jobs/${id}/frames?${q}`);
      expect(bad.status, q).toBe(400);
      expect(String(bad.body.error), q).toMatch(/^(from|to) must be a whole number from \d+ to \d+$/);
    }

    const file = readFileSync(join(jobDir(h.config, id), 'preview.mp4'));
    const whole = await h.send(`/jobs/${id}/preview.mp4`);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.raw.equals(file)).toBe(true);
    const part = await h.send(`/jobs/${id}/preview.mp4`, { headers: { range: 'bytes=100-199' } });
    expect([part.status, part.headers['content-range'], part.headers['content-length']]).toEqual([206, `bytes 100-199/${file.length}`, '100']);
    expect(part.raw.equals(file.subarray(100, 200))).toBe(true);
    const tail = await h.send(`/jobs/${id}/preview.mp4`, { headers: { range: 'bytes=-10' } });
    expect([tail.status, tail.raw.equals(file.subarray(file.length - 10))]).toEqual([206, true]);
    const open = await h.send(`/jobs/${id}/preview.mp4`, { headers: { range: `bytes=${file.length - 5}-` } });
    expect([open.status, open.raw.length]).toEqual([206, 5]);
    const past = await h.send(`/jobs/${id}/preview.mp4`, { headers: { range: `bytes=${file.length}-` } });
    expect([past.status, past.headers['content-range']]).toEqual([416, `bytes */${file.length}`]);

    // A copy (the same content under another name) plays its original's preview.
    const sha256 = h.db.getJob(id)!.source_sha256;
    const copy = h.db.createJob({ sourceName: 'copy of small.mp4', sourcePath: '/inbox/copy', sha256, bytes: 1 }).job;
    expect(copy.copy_of).toBe(id);
    expect((await json(`/api/jobs/${copy.id}/player`)).body.frameCount).toBe(150);
    expect((await h.send(`/jobs/${copy.id}/preview.mp4`, { headers: { range: 'bytes=0-9' } })).raw.equals(file.subarray(0, 10))).toBe(true);
  });

  it('reads only the windows a range needs, and says why a job has no player or no video', async () => {
    // 3,000 frames (12 windows) and no preview video (size 0).
    const id = await playerJob(h.db, h.config, { source: fixture('small.mp4'), merged: mergedResult(3000), size: 0 });
    const dir = jobDir(h.config, id);
    const index = await json(`/api/jobs/${id}/player`);
    expect(index.body).toMatchObject({ frameCount: 3000, preview: null, reason: 'previewSize is 0: no preview video is made' });
    expect((index.body.windowTimes as number[]).length).toBe(12);
    // Every window but the one holding frames 600..699 is gone: the range is still served from it.
    for (let k = 0; k < 12; k++) if (k !== 2) rmSync(join(dir, 'player', `frames-${k}.json`));
    const range = await json(`/api/jobs/${id}/frames?from=600&to=700`);
    expect(range.status).toBe(200);
    expect((range.body.frames as PlayerFrame[]).map((f) => f.index)).toEqual(Array.from({ length: 100 }, (_, i) => 600 + i));
    // Exactly that window (as the player asks): its file served as it is, the same answer as any other range.
    const whole = await h.send(`/api/jobs/${id}/frames?from=512&to=768`);
    const parts = [await json(`/api/jobs/${id}/frames?from=512&to=600`), await json(`/api/jobs/${id}/frames?from=600&to=768`)];
    expect(whole.headers['content-type']).toBe((await h.send(`/api/jobs/${id}/frames?from=600&to=700`)).headers['content-type']);
    expect(JSON.parse(whole.body)).toEqual({ from: 512, to: 768, frames: parts.flatMap((p) => p.body.frames as PlayerFrame[]) });
    expect((await json(`/api/jobs/${id}/frames?from=500&to=600`)).status).toBe(404);

    const none = await h.send(`/jobs/${id}/preview.mp4`);
    expect(none.status).toBe(404);
    expect(none.body).toContain('previewSize is 0');
    const queued = queuedJob(h.db, 'waiting.mp4');
    const early = await json(`/api/jobs/${queued}/player`);
    expect(early).toEqual({ status: 404, body: { error: `Job ${queued} has no player yet (its preview stage is pending)` } });
    expect((await json('/api/jobs/999/frames?from=0&to=1')).status).toBe(404);
  });

  it('gives the 3D view each person’s 3D joints, camera translation and focal length, to the millimetre, and serves three.js itself', async () => {
    const people = walkingPeople(30, 320, 240);
    const id = await playerJob(h.db, h.config, { source: fixture('small.mp4'), merged: people, size: 0, dims: [320, 240] });
    expect((await json(`/api/jobs/${id}/player`)).body).toMatchObject({ keypoints: true, joints3d: true });
    const frame = ((await json(`/api/jobs/${id}/frames?from=7&to=8`)).body.frames as PlayerFrame[])[0]!;
    const mm = (v: number) => Math.round(v * 1000) / 1000;
    for (const [k, p] of frame.persons.entries()) {
      const truth = people.frames[7]!.persons[k]! as unknown as { joints3d: number[][]; camera_translation: number[]; focal_length: number };
      expect(Object.keys(p)).toEqual(['track', 'bbox', 'score', 'keypoints2d', 'joints3d', 'camera_translation', 'focal_length']);
      // The joints drawn (OpenPose's 25, the spine and head 37..43); the rest null, to keep the windows small.
      expect(p.joints3d).toEqual(truth.joints3d.map((j, i) => (i < 25 || (i >= 37 && i <= 43) ? j.map(mm) : null)));
      expect((p.keypoints2d as number[][]).length, "phalp's 2D points: OpenPose's 25").toBe(25);
      expect(p.camera_translation).toEqual(truth.camera_translation.map(mm));
      expect(p.focal_length).toBe(Math.round(truth.focal_length * 10) / 10);
    }
    // Boxes alone: no 3D view.
    const flat = await playerJob(h.db, h.config, { source: fixture('small.mp4'), merged: mergedResult(30), size: 0 });
    expect((await json(`/api/jobs/${flat}/player`)).body.joints3d).toBe(false);

    // three.js from the installed package, as a module script under the strict CSP, gzipped when asked, 304 when unchanged.
    for (const name of ['three.module.js', 'three.core.js']) {
      const plain = await h.send(`/static/three/${name}`);
      expect([plain.status, plain.headers['content-type'], plain.headers['content-security-policy']]).toEqual([200, 'text/javascript; charset=utf-8', CSP]);
      expect(plain.body).toContain('REVISION');
      const zipped = await h.send(`/static/three/${name}`, { headers: { 'accept-encoding': 'gzip, br' } });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(zipped.raw).equals(plain.raw)).toBe(true);
      const again = await h.send(`/static/three/${name}`, { headers: { 'if-none-match': String(plain.headers.etag) } });
      expect([again.status, again.raw.length]).toEqual([304, 0]);
    }
    const module = await h.send('/static/view3d.js');
    expect(module.body).toContain("from '/static/three/three.module.js'");
    expect((await h.send('/static/three/three.cjs')).status).toBe(404);
  });
});
