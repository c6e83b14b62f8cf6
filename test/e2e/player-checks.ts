/**
 * The job page's player checked in Chromium (issue 12, part 5), against the output JSON: seek to a
 * frame, read the overlay canvas's pixels at a box's edge (the track's colour) and in an empty
 * area (nothing drawn), check the video shows that frame, select a track from the list and by
 * clicking its box, step a frame, play a moment; screenshots kept.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { trackColour } from '../../src/pictures/track-colour.ts';
import { screenshot } from '../helpers/browser.ts';
import type { OutputDoc } from '../helpers/output.ts';

type Box = [number, number, number, number];

/** "hsl(h,s%,l%)" as 0..255 RGB. */
export function hslToRgb(hsl: string): [number, number, number] {
  const [h, s, l] = /hsl\(([\d.]+),([\d.]+)%,([\d.]+)%\)/.exec(hsl)!.slice(1).map(Number) as [number, number, number];
  const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** The overlay's pixels (RGBA) in a rectangle given in source pixels, as [r, g, b, a][]. */
function overlayPixels(page: Page, width: number, rect: { x: number; y: number; w: number; h: number }): Promise<number[][]> {
  return page.evaluate(
    ({ width, rect }) => {
      const canvas = document.querySelector<HTMLCanvasElement>('#player-overlay')!;
      const k = canvas.width / width;
      const x = Math.max(0, Math.floor(rect.x * k));
      const y = Math.max(0, Math.floor(rect.y * k));
      const data = canvas.getContext('2d')!.getImageData(x, y, Math.max(1, Math.ceil(rect.w * k)), Math.max(1, Math.ceil(rect.h * k))).data;
      const out: number[][] = [];
      for (let i = 0; i < data.length; i += 4) out.push([data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!]);
      return out;
    },
    { width, rect },
  );
}

/** Pixels around the middle of a box's left edge (a 5 px wide strip, the box's middle fifth). */
const leftEdge = (b: Box) => ({ x: b[0] - 2, y: b[1] + b[3] * 0.4, w: 5, h: b[3] * 0.2 });

const near = (p: number[], rgb: [number, number, number], alpha: number) => p[3]! >= alpha && p.slice(0, 3).every((v, i) => Math.abs(v - rgb[i]!) <= 40);

/** A point of the frame at least `margin` source pixels away from every box, or undefined. */
function emptySpot(boxes: Box[], width: number, height: number, margin: number): { x: number; y: number } | undefined {
  for (let y = margin; y < height - margin; y += 10) {
    for (let x = margin; x < width - margin; x += 10) {
      if (boxes.every((b) => x < b[0] - margin || x > b[0] + b[2] + margin || y < b[1] - margin - 30 || y > b[1] + b[3] + margin)) return { x, y };
    }
  }
  return undefined;
}

async function seekTo(page: Page, frame: number): Promise<void> {
  await page.locator('#player-seek').fill(String(frame));
  await page.locator(`section#player[data-frame="${frame}"]`).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>('#player-video')!;
    return !v.seeking && v.readyState >= 2;
  }, undefined, { timeout: 10_000 });
}

/** The frame of the output shown at the video's current time (the last whose time is not after it). */
async function frameAtVideoTime(page: Page, doc: OutputDoc): Promise<number> {
  const t = await page.evaluate(() => document.querySelector<HTMLVideoElement>('#player-video')!.currentTime);
  let shown = 0;
  for (const f of doc.frames) if (f.time <= t + 0.0005) shown = f.index;
  return shown;
}

/** Run the player checks on the job page already open in `page`. */
export async function checkPlayer(page: Page, doc: OutputDoc): Promise<void> {
  const { width, height } = doc.source;
  // Loaded again, to see every request the player makes.
  const frames: string[] = [];
  const outputs: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/frames?')) frames.push(new URL(r.url()).search);
    if (r.url().includes('/output')) outputs.push(r.url());
  });
  await page.reload();
  await page.locator('section#player[data-player-state="ready"]').waitFor({ timeout: 20_000 });
  expect(await page.locator('#player-video').getAttribute('src')).toMatch(/^\/jobs\/\d+\/preview\.mp4$/);

  // The frame with the most people, and its two largest boxes.
  const frame = [...doc.frames].sort((a, b) => b.persons.length - a.persons.length || a.index - b.index)[0]!;
  const people = [...frame.persons].sort((a, b) => b.bbox[2]! * b.bbox[3]! - a.bbox[2]! * a.bbox[3]!);
  expect(people.length, 'a frame with two people').toBeGreaterThanOrEqual(2);
  const [first, second] = people as [(typeof people)[0], (typeof people)[0]];
  await seekTo(page, frame.index);
  expect(await frameAtVideoTime(page, doc), 'the video shows the frame the overlay draws').toBe(frame.index);
  const firstRgb = hslToRgb(trackColour(first.track));
  expect((await overlayPixels(page, width, leftEdge(first.bbox as Box))).some((p) => near(p, firstRgb, 200)), `track ${first.track}'s colour on its box edge`).toBe(true);
  const spot = emptySpot(frame.persons.map((p) => p.bbox as Box), width, height, 20);
  expect(spot, 'an empty area in the frame').toBeDefined();
  const empty = await overlayPixels(page, width, { x: spot!.x - 3, y: spot!.y - 3, w: 6, h: 6 });
  expect(empty.every((p) => p[3] === 0), `nothing drawn at (${spot!.x}, ${spot!.y})`).toBe(true);
  await screenshot(page, `player frame ${frame.index}`);

  // Selecting a track from the list highlights it: its box stays opaque, the others are dimmed.
  await page.locator(`#player-tracks .player-track[data-track="${second.track}"]`).click();
  await page.locator(`section#player[data-selected="${second.track}"]`).waitFor({ timeout: 5_000 });
  expect(await page.locator('#player-selected').textContent()).toContain(`#${second.track}`);
  const secondRgb = hslToRgb(trackColour(second.track));
  expect((await overlayPixels(page, width, leftEdge(second.bbox as Box))).some((p) => near(p, secondRgb, 200)), 'the selected track at full strength').toBe(true);
  expect((await overlayPixels(page, width, leftEdge(first.bbox as Box))).every((p) => p[3]! < 150), 'the other tracks dimmed').toBe(true);
  await screenshot(page, `player track ${second.track} selected`);

  // Clicking inside the first box (where no other box is) selects its track.
  const b = first.bbox as Box;
  const inside = [0.5, 0.3, 0.7, 0.2, 0.8].flatMap((fy) => [0.5, 0.3, 0.7].map((fx) => ({ x: b[0] + b[2] * fx, y: b[1] + b[3] * fy }))).find((p) => frame.persons.every((o) => o === first || !(p.x >= o.bbox[0]! && p.x <= o.bbox[0]! + o.bbox[2]! && p.y >= o.bbox[1]! && p.y <= o.bbox[1]! + o.bbox[3]!)));
  expect(inside, `a point only in track ${first.track}'s box`).toBeDefined();
  const cssScale = await page.locator('#player-overlay').evaluate((c, w) => c.clientWidth / w, width);
  await page.locator('#player-overlay').click({ position: { x: inside!.x * cssScale, y: inside!.y * cssScale } });
  await page.locator(`section#player[data-selected="${first.track}"]`).waitFor({ timeout: 5_000 });

  // A row of the pictures' timeline selects its track too, and is marked.
  await page.locator(`svg#track-timeline g.track[data-track="${second.track}"] rect`).first().click();
  await page.locator(`section#player[data-selected="${second.track}"]`).waitFor({ timeout: 5_000 });
  expect(await page.locator('svg#track-timeline g.track.on').getAttribute('data-track')).toBe(String(second.track));

  // One frame forward and back; then a moment of playing ends on the frame the video shows.
  await page.locator('button[data-act="next"]').click();
  await page.locator(`section#player[data-frame="${frame.index + 1}"]`).waitFor({ timeout: 5_000 });
  await page.locator('button[data-act="prev"]').click();
  await page.locator(`section#player[data-frame="${frame.index}"]`).waitFor({ timeout: 5_000 });
  await seekTo(page, 0);
  await page.locator('button[data-act="play"]').click();
  await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player-video')!.currentTime > 0.5, undefined, { timeout: 10_000 });
  await page.locator('button[data-act="play"]').click();
  await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player-video')!.paused, undefined, { timeout: 5_000 });
  const playedTo = await frameAtVideoTime(page, doc);
  await page.locator(`section#player[data-frame="${playedTo}"]`).waitFor({ timeout: 5_000 });
  // Only frame windows were fetched, never the whole output.
  expect(frames.length).toBeGreaterThan(0);
  expect(frames.every((q) => /^\?from=\d+&to=\d+$/.test(q))).toBe(true);
  expect(outputs).toEqual([]);
}
