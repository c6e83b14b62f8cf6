/**
 * The job page's 3D view in Chromium (WebGL), on a job whose people carry phalp's 3D joints: three
 * people walking (test/e2e/view3d-people.ts) through the real player writer, preview video and
 * HTTP server. Its canvas's pixels are read where each joint must fall: through the video's camera
 * by plain pinhole arithmetic on the frame's own numbers, and in the orbit view through the
 * camera the page set up (its matrices). It follows a seek, a frame step and play, highlights the
 * selected track, turns and zooms. Screenshots kept. (A job without 3D joints loads no three.js:
 * test/e2e/player-long.test.ts.)
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { trackColour } from '../../src/pictures/track-colour.ts';
import type { PlayerFrame } from '../../src/stages/preview.ts';
import { browserPerTest, screenshot } from '../helpers/browser.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../server/harness.ts';
import { playerJob } from '../server/seed.ts';
import { hslToRgb } from './player-checks.ts';
import { walkingPeople } from './view3d-people.ts';

/** The picture's size (small.mp4's; its frames are not shown). */
const W = 320;
const H = 240;
/** The joints drawn: BODY_25 and the spine and head (25..36 repeat limb joints, 44 is the origin). */
const DRAWN = [...Array.from({ length: 25 }, (_, k) => k), 37, 38, 39, 40, 41, 42, 43];

type Person3d = { track: number; joints3d: number[][]; camera_translation: number[]; focal_length: number };
type Spot = { track: number; joint: number; x: number; y: number };

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});
const browser = browserPerTest();

/** The frame as the page got it (the view draws these numbers). */
async function frameOf(id: number, index: number): Promise<Person3d[]> {
  const r = await h!.send(`/api/jobs/${id}/frames?from=${index}&to=${index + 1}`);
  return (JSON.parse(r.body) as { frames: PlayerFrame[] }).frames[0]!.persons as unknown as Person3d[];
}

/** Each drawn joint's place on a w×h canvas (device pixels), by `place` from camera axes (x right, y down, z forward). */
function spots(people: Person3d[], size: { w: number; h: number }, place: (p: [number, number, number]) => [number, number] | null): Spot[] {
  const out: Spot[] = [];
  for (const p of people) {
    for (const joint of DRAWN) {
      const j = p.joints3d[joint]!;
      const at = place([j[0]! + p.camera_translation[0]!, j[1]! + p.camera_translation[1]!, j[2]! + p.camera_translation[2]!]);
      if (at && at[0] >= 3 && at[1] >= 3 && at[0] <= size.w - 3 && at[1] <= size.h - 3) out.push({ track: p.track, joint, x: at[0], y: at[1] });
    }
  }
  // A joint within 10 px of another person's may be hidden by them: not a fair place to look.
  return out.filter((s) => out.every((o) => o.track === s.track || Math.hypot(o.x - s.x, o.y - s.y) > 10));
}

/** The canvas's size in device pixels and, when asked, the camera's view and projection matrices (column-major). */
function viewState(page: Page): Promise<{ w: number; h: number; view: number[]; proj: number[]; position: number[] }> {
  return page.evaluate(() => {
    const v = (document.getElementById('view3d') as HTMLElement & { posepipeView3d: { camera: { matrixWorldInverse: { elements: number[] }; projectionMatrix: { elements: number[] }; position: { x: number; y: number; z: number } } } }).posepipeView3d;
    const c = document.getElementById('view3d-canvas') as HTMLCanvasElement;
    const p = v.camera.position;
    return { w: c.width, h: c.height, view: [...v.camera.matrixWorldInverse.elements], proj: [...v.camera.projectionMatrix.elements], position: [p.x, p.y, p.z] };
  });
}

/** Through the video's own camera: pinhole arithmetic with the frame's focal length, scaled to the canvas. */
const pinhole = (f: number, w: number, h: number) => (p: [number, number, number]): [number, number] => [(f * p[0]) / p[2] * (h / H) + w / 2, (f * p[1]) / p[2] * (h / H) + h / 2];

/** Through the page's camera: its matrices applied to the point in three.js's axes (x, -y, -z). */
function matrices(s: { w: number; h: number; view: number[]; proj: number[] }) {
  const mul = (m: number[], v: number[]) => [0, 1, 2, 3].map((r) => m[r]! * v[0]! + m[4 + r]! * v[1]! + m[8 + r]! * v[2]! + m[12 + r]! * v[3]!);
  return (p: [number, number, number]): [number, number] | null => {
    const clip = mul(s.proj, mul(s.view, [p[0], -p[1], -p[2], 1]));
    if (clip[3]! <= 0) return null;
    return [((clip[0]! / clip[3]! + 1) / 2) * s.w, ((1 - clip[1]! / clip[3]!) / 2) * s.h];
  };
}

/** For each spot, the closest any pixel within 2 px comes to `rgb` (the largest channel difference). */
function closest(page: Page, list: { x: number; y: number; rgb: number[] }[]): Promise<number[]> {
  return page.evaluate((list) => {
    const c = document.getElementById('view3d-canvas') as HTMLCanvasElement;
    const copy = document.createElement('canvas');
    copy.width = c.width;
    copy.height = c.height;
    const g = copy.getContext('2d')!;
    g.drawImage(c, 0, 0);
    const data = g.getImageData(0, 0, c.width, c.height).data;
    return list.map(({ x, y, rgb }) => {
      let best = 255;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const px = Math.round(x) + dx;
          const py = Math.round(y) + dy;
          if (px < 0 || py < 0 || px >= c.width || py >= c.height) continue;
          const i = (py * c.width + px) * 4;
          best = Math.min(best, Math.max(Math.abs(data[i]! - rgb[0]!), Math.abs(data[i + 1]! - rgb[1]!), Math.abs(data[i + 2]! - rgb[2]!)));
        }
      }
      return best;
    }, list);
  }, list);
}

/** For each track, the middle [x, y] of the canvas pixels in its colour (within 40 a channel). */
function colourCentroids(page: Page, tracks: number[]): Promise<Record<number, number[]>> {
  return page.evaluate((wanted) => {
    const c = document.getElementById('view3d-canvas') as HTMLCanvasElement;
    const copy = document.createElement('canvas');
    copy.width = c.width;
    copy.height = c.height;
    const g = copy.getContext('2d')!;
    g.drawImage(c, 0, 0);
    const data = g.getImageData(0, 0, c.width, c.height).data;
    const out: Record<number, number[]> = {};
    for (const { track, rgb } of wanted) {
      let sx = 0;
      let sy = 0;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - rgb[0]!) <= 40 && Math.abs(data[i + 1]! - rgb[1]!) <= 40 && Math.abs(data[i + 2]! - rgb[2]!) <= 40) {
          sx += (i / 4) % c.width;
          sy += Math.floor(i / 4 / c.width);
          n += 1;
        }
      }
      out[track] = [sx / n, sy / n, n];
    }
    return out;
  }, tracks.map((track) => ({ track, rgb: hslToRgb(trackColour(track)) })));
}

/** Every spot drawn in its track's colour (within 40 a channel), or, for the tracks in `dimmed`, nowhere near it. */
async function expectDrawn(page: Page, at: Spot[], what: string, dimmed: number[] = []): Promise<void> {
  const tracks = new Set(at.map((s) => s.track));
  expect(tracks.size, `${what}: joints of all three people in view`).toBe(3);
  const found = await closest(page, at.map((s) => ({ x: s.x, y: s.y, rgb: hslToRgb(trackColour(s.track)) })));
  for (const [k, s] of at.entries()) {
    if (dimmed.includes(s.track)) expect(found[k], `${what}: track ${s.track}'s joint ${s.joint} at (${s.x.toFixed(0)}, ${s.y.toFixed(0)}) dimmed`).toBeGreaterThan(60);
    else expect(found[k], `${what}: track ${s.track}'s joint ${s.joint} at (${s.x.toFixed(0)}, ${s.y.toFixed(0)}) in its colour`).toBeLessThanOrEqual(40);
  }
}

/** Wait for the 3D view to be ready with these attributes. */
const view3d = (page: Page, attrs: string) => page.locator(`#view3d[data-view3d-state="ready"]${attrs}`).waitFor({ timeout: 10_000 });

describe('the 3D view', () => {
  it('three people walking: drawn where their joints project, through seek, step and play, the selected one highlighted, turned and zoomed', async () => {
    h = await startHarness();
    // No preview video (previewSize 0, as in player-long.test.ts: encoding one costs a second and the
    // 3D view does not draw on it); the player draws the 2D skeletons on a blank picture.
    const id = await playerJob(h.db, h.config, { name: 'walking.mp4', source: fixture('small.mp4'), merged: walkingPeople(64, W, H), size: 0, dims: [W, H] });
    const page = await (await browser()).newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/static/')) scripts.push(new URL(r.url()).pathname);
    });

    await page.goto(`${h.origin}/jobs/${id}`);
    await page.locator('section#player[data-player-state="ready"]').waitFor({ timeout: 20_000 });
    await view3d(page, '[data-frame="0"][data-people="3"]');
    expect(scripts.filter((s) => s.includes('three') || s.includes('view3d')).sort()).toEqual(['/static/three/three.core.js', '/static/three/three.module.js', '/static/view3d-orbit.js', '/static/view3d-skeleton.js', '/static/view3d.js']);

    // A seek: the orbit view draws frame 60's skeletons where the page's camera projects them.
    await page.locator('#player-seek').fill('60');
    await view3d(page, '[data-frame="60"]');
    const at60 = await frameOf(id, 60);
    let state = await viewState(page);
    await expectDrawn(page, spots(at60, state, matrices(state)), 'orbit view, frame 60');
    await screenshot(page, 'orbit view');

    // Through the video's camera: each joint where the pinhole camera puts it (the 2D keypoints' places).
    await page.locator('button[data-act="view3d-camera"]').click();
    state = await viewState(page);
    const f = at60[0]!.focal_length;
    const camera60 = spots(at60, state, pinhole(f, state.w, state.h));
    await expectDrawn(page, camera60, 'camera view, frame 60');
    await screenshot(page, 'camera view');

    // One frame forward: the drawing moves with the joints (each track's pixels shift as its joints do).
    const pixels60 = await colourCentroids(page, [1, 2, 3]);
    await page.locator('button[data-act="next"]').click();
    await view3d(page, '[data-frame="61"]');
    const at61 = await frameOf(id, 61);
    const at62 = await frameOf(id, 62);
    const camera61 = spots(at61, state, pinhole(f, state.w, state.h));
    await expectDrawn(page, camera61, 'camera view, frame 61');
    const pixels61 = await colourCentroids(page, [1, 2, 3]);
    const everywhere = { w: Infinity, h: Infinity };
    for (const track of [1, 2, 3]) {
      const mean = (list: Spot[]) => [list.reduce((s, p) => s + p.x, 0) / list.length, list.reduce((s, p) => s + p.y, 0) / list.length];
      const [x0, y0] = mean(spots(at60.filter((p) => p.track === track), everywhere, pinhole(f, state.w, state.h)));
      const [x1, y1] = mean(spots(at61.filter((p) => p.track === track), everywhere, pinhole(f, state.w, state.h)));
      const shift = [pixels61[track]![0]! - pixels60[track]![0]!, pixels61[track]![1]! - pixels60[track]![1]!];
      expect(Math.hypot(x1! - x0!, y1! - y0!), `track ${track}'s joints move in one frame`).toBeGreaterThan(4);
      expect(Math.hypot(shift[0]! - (x1! - x0!), shift[1]! - (y1! - y0!)), `track ${track}'s pixels move as its joints (${shift.map((v) => v.toFixed(1))} px)`).toBeLessThan(2.5);
    }

    // Selecting track 2: it stays in its colour, the others are dimmed.
    await page.locator('#player-tracks .player-track[data-track="2"]').click();
    await view3d(page, '[data-selected="2"]');
    await expectDrawn(page, camera61, 'camera view, track 2 selected', [1, 3]);
    await screenshot(page, 'track 2 selected');
    // A click on track 3's skeleton (its neck) selects it in the player.
    const neck3 = camera61.find((s) => s.track === 3 && s.joint === 1)!;
    const dpr = state.w / (await page.locator('#view3d-canvas').evaluate((c) => c.clientWidth));
    await page.locator('#view3d-canvas').click({ position: { x: neck3.x / dpr, y: neck3.y / dpr } });
    await page.locator('section#player[data-selected="3"]').waitFor({ timeout: 5_000 });
    await page.locator('#player-tracks .player-track[data-track="3"]').click();
    await view3d(page, '[data-selected=""]');

    // Playing: the view draws the frames as the player shows them.
    await page.locator('button[data-act="play"]').click();
    await page.waitForFunction(() => Number(document.getElementById('view3d')!.getAttribute('data-frame')) >= 63, undefined, { timeout: 10_000 });
    await page.locator('section#player:not([data-playing="1"])').waitFor({ timeout: 5_000 });
    await page.locator('button[data-act="prev"]').click();
    await view3d(page, '[data-frame="62"]');

    // Drag to turn, wheel to zoom: the camera moves, and the joints are drawn where it now projects them.
    await page.locator('button[data-act="view3d-free"]').click();
    const box = (await page.locator('#view3d-canvas').boundingBox())!;
    const start = await viewState(page);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 120, box.y + box.height / 2 + 30, { steps: 6 });
    await page.mouse.up();
    const turned = await viewState(page);
    expect(Math.hypot(...turned.position.map((v, k) => v - start.position[k]!)), 'the camera moved').toBeGreaterThan(1);
    await expectDrawn(page, spots(at62, turned, matrices(turned)), 'turned');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -60);
    await page.waitForFunction((z) => (document.getElementById('view3d') as HTMLElement & { posepipeView3d: { camera: { position: { z: number } } } }).posepipeView3d.camera.position.z !== z, turned.position[2]);
    const zoomed = await viewState(page);
    // The people's middle in three.js's axes (x, -y, -z).
    const middle = [0, 1, 2].map((k) => at62.reduce((s, p) => s + (k === 0 ? 1 : -1) * p.camera_translation[k]! / at62.length, 0));
    const distance = (pos: number[]) => Math.hypot(...pos.map((v, k) => v - middle[k]!));
    expect(distance(zoomed.position), 'closer to the people').toBeLessThan(distance(turned.position) * 0.95);
    await expectDrawn(page, spots(at62, zoomed, matrices(zoomed)), 'zoomed');
    expect(problems, 'console errors').toEqual([]);
  });
});
