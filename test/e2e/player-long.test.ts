/**
 * A one-hour job's player in Chromium (issue 12, part 5): the page loads the boxes of the frames
 * shown, a window at a time, never the whole result. One hour at 25 fps (90,000 frames, two people
 * in each) go through the player's frame writer and the preview video step of the preview stage
 * (src/stages/preview.ts), served by the real HTTP server.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MergeResult } from '../../src/merge/index.ts';
import { browserPerTest, screenshot } from '../helpers/browser.ts';
import { startHarness, type Harness } from '../server/harness.ts';
import { playerJob } from '../server/seed.ts';

const FRAMES = 25 * 3600;

/** COCO's 17 keypoints of a person standing in box x, y, w, h (shoulders 5 and 6 at a quarter of its height). */
function standing(x: number, y: number, w: number, h: number): number[][] {
  const at = (fx: number, fy: number) => [x + w * fx, y + h * fy, 0.9];
  return [at(0.5, 0.08), at(0.45, 0.06), at(0.55, 0.06), at(0.4, 0.08), at(0.6, 0.08), at(0.2, 0.25), at(0.8, 0.25), at(0.15, 0.45), at(0.85, 0.45), at(0.1, 0.6), at(0.9, 0.6), at(0.3, 0.55), at(0.7, 0.55), at(0.3, 0.75), at(0.7, 0.75), at(0.3, 0.95), at(0.7, 0.95)];
}

/** phalp's 45 keypoints as [x, y], in OpenPose BODY_25 order first: the neck (1) and the mid hip (8) on the box's centre line. */
function openPose(x: number, y: number, w: number, h: number): number[][] {
  const points = Array.from({ length: 45 }, () => [x + w * 0.9, y + h * 0.05]);
  points[1] = [x + w / 2, y + h * 0.2];
  points[8] = [x + w / 2, y + h * 0.6];
  return points;
}

/**
 * Two people walking across a 640x360 picture, the whole hour long; in the middle, track 1 has
 * COCO's 17 keypoints (as the keypoints backend gives them) and track 2 phalp's 45.
 */
function hourLong(): MergeResult {
  const frames = Array.from({ length: FRAMES }, (_, index) => {
    const one = [(index % 500) + 20, 60, 60, 180] as [number, number, number, number];
    const two = [560 - (index % 400), 100, 50, 150] as [number, number, number, number];
    return {
      index,
      persons: [
        { track: 1, bbox: one, score: 0.9, ...(Math.abs(index - FRAMES / 2) < 10 ? { keypoints2d: standing(...one) } : {}) },
        { track: 2, bbox: two, score: 0.8, ...(Math.abs(index - FRAMES / 2) < 10 ? { keypoints2d: openPose(...two) } : {}) },
      ],
    };
  });
  return { frames, tracks: [{ id: 1, firstFrame: 0, lastFrame: FRAMES - 1, frames: FRAMES }, { id: 2, firstFrame: 0, lastFrame: FRAMES - 1, frames: FRAMES }] };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});
const browser = browserPerTest();

describe('the player of a one-hour job', () => {
  it('fetches only the frames around the one shown, at the start and after a seek to the middle, and draws 2D keypoints as a skeleton', async () => {
    h = await startHarness();
    // An hour of a small grey picture (1.6 s to make), so the thumbnails are real. No preview video
    // (previewSize 0: ~8 s to encode here; the street job's test plays one): the boxes are drawn on
    // a blank picture, from the same frame windows.
    const source = join(h.ws.root, 'hour.mp4');
    const made = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `color=c=gray:s=64x36:r=25:d=${FRAMES / 25}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '250', source], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const id = await playerJob(h.db, h.config, { name: 'hour.mp4', source, merged: hourLong(), size: 0, dims: [640, 360] });
    // What the merged frames weigh as JSON (the output's frames): the page must fetch a tiny part.
    const mergedBytes = Buffer.byteLength(JSON.stringify(hourLong()));
    const page = await (await browser()).newPage();
    const fetched: { search: string; bytes: number }[] = [];
    const others: string[] = [];
    const scripts: string[] = [];
    page.on('response', async (r) => {
      const url = new URL(r.url());
      if (url.pathname.endsWith('/frames')) fetched.push({ search: url.search, bytes: (await r.body()).length });
      else if (url.pathname.startsWith('/api/') && !url.pathname.endsWith('/player') && url.pathname !== '/api/events') others.push(url.pathname);
      else if (url.pathname.startsWith('/static/') && url.pathname.endsWith('.js')) scripts.push(url.pathname);
    });
    await page.goto(`${h.origin}/jobs/${id}`);
    await page.locator('section#player[data-player-state="ready"][data-frame="0"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#player-note').textContent()).toContain('previewSize is 0');
    expect(fetched.map((f) => f.search)).toEqual(['?from=0&to=256']);

    // To the middle of the hour: one window there (and the one after, where frame 45,000 ends a window).
    const middle = FRAMES / 2;
    await page.locator('#player-seek').fill(String(middle));
    await page.locator(`section#player[data-frame="${middle}"]`).waitFor({ timeout: 10_000 });
    await page.locator('button[data-act="next"]').click();
    await page.locator(`section#player[data-frame="${middle + 1}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator('#player-pos').textContent()).toBe(`frame ${middle + 1} / ${FRAMES - 1} · ${((middle + 1) / 25).toFixed(3)} s · 2 people`);
    // The skeletons: track 1's (COCO) midway between its shoulders (keypoints 5 and 6), track 2's
    // (phalp, BODY_25 order) midway between its neck and mid hip (1 and 8).
    const [one, two] = hourLong().frames[middle + 1]!.persons as unknown as [{ keypoints2d: number[][] }, { keypoints2d: number[][] }];
    for (const [what, a, b] of [['between the shoulders (COCO)', one.keypoints2d[5]!, one.keypoints2d[6]!], ['from neck to hip (BODY_25)', two.keypoints2d[1]!, two.keypoints2d[8]!]] as const) {
      const drawn = await page.evaluate(({ x, y }) => {
        const canvas = document.querySelector<HTMLCanvasElement>('#player-overlay')!;
        const k = canvas.width / 640;
        return Array.from(canvas.getContext('2d')!.getImageData(Math.round(x * k) - 1, Math.round(y * k) - 1, 3, 3).data);
      }, { x: (a[0]! + b[0]!) / 2, y: (a[1]! + b[1]!) / 2 });
      expect(Math.max(...drawn.filter((_, i) => i % 4 === 3)), `the skeleton drawn ${what}`).toBeGreaterThan(200);
    }
    await screenshot(page, 'middle of the hour');
    const starts = fetched.map((f) => Number(/from=(\d+)/.exec(f.search)![1]));
    expect(starts).toEqual([0, 44800]);
    const bytes = fetched.reduce((n, f) => n + f.bytes, 0);
    console.log(`one-hour job: ${(mergedBytes / 1e6).toFixed(1)} MB of merged frames as JSON; the page fetched ${fetched.length} windows, ${(bytes / 1e3).toFixed(1)} kB of boxes`);
    expect(bytes).toBeLessThan(mergedBytes / 100);
    expect(others).toEqual([]);
    // No 3D joints in this job: no 3D view, and not a byte of three.js.
    expect(await page.locator('#view3d').count()).toBe(0);
    expect(scripts.sort()).toEqual(['/static/page.js', '/static/player.js']);
  });
});
