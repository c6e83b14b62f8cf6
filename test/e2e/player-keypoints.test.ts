/**
 * CPU keypoints from video to picture: two frames of the real street video run by the real CLI with
 * the builtin backend's CenterNet and MoveNet (POSEPIPE_BUILTIN_KEYPOINTS=1): the chunk result
 * carries them as the keypoints backend writes them, they lie on the people marked by eye, and the
 * job's player in Chromium draws each person's skeleton over the preview video. The screenshot is
 * left in test-output/screenshots.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { browserPerTest, screenshot } from '../helpers/browser.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { readValidOutput } from '../helpers/output.ts';
import { STREET_FRAME_100 } from '../helpers/street-marks.ts';
import { PYTHON } from '../helpers/tracker-workers.ts';
import { makeWorkspace } from '../helpers/workspace.ts';
import { jobDir } from '../../src/paths.ts';
import { startHarness, type Harness } from '../server/harness.ts';

/** The street video's frames 99 and 100, tracks kept from their first match (MIN_HITS 1): frame 100 has rows. */
const FIRST = 99;
const FRAMES = 2;
const SHOWN = 100 - FIRST;

/** The keypoints column of a chunk result pickle, read by CPython: its dtype and shape, and the rows. */
function keypointsColumn(path: string): { dtype: string; shape: number[]; rows: number } {
  const code = "import json, pickle, sys\nd = pickle.load(open(sys.argv[1], 'rb'))\nk = d['extras']['keypoints2d']\nprint(json.dumps({'dtype': str(k.dtype), 'shape': list(k.shape), 'rows': len(d['frame'])}))";
  const r = spawnSync(PYTHON, ['-c', code, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof keypointsColumn>;
}

/** COCO keypoint pairs the player joins (src/server/assets/player.js), torso and limbs. */
const LIMBS: [number, number][] = [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8], [7, 9], [8, 10]];

type Person = { track: number; bbox: number[]; keypoints2d?: number[][] };

function iou([x, y, w, h]: number[], [x1, y1, x2, y2]: readonly number[]): number {
  const iw = Math.max(0, Math.min(x! + w!, x2!) - Math.max(x!, x1!));
  const ih = Math.max(0, Math.min(y! + h!, y2!) - Math.max(y!, y1!));
  return (iw * ih) / (w! * h! + (x2! - x1!) * (y2! - y1!) - iw * ih);
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});
const browser = browserPerTest();

describe('CPU keypoints in the player', () => {
  it('draws the skeletons of the people of a street job tracked with keypoints on the CPU', async () => {
    const ws = makeWorkspace('player-keypoints');
    const clip = join(ws.root, 'street cut.avi');
    const cut = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', STREET_PEOPLE, '-vf', `select=between(n\\,${FIRST}\\,${FIRST + FRAMES - 1}),setpts=N/FRAME_RATE/TB`, '-frames:v', String(FRAMES), '-c:v', 'mjpeg', '-q:v', '2', clip], { encoding: 'utf8' });
    expect(cut.status, cut.stderr).toBe(0);
    const run = await runCli(['run', clip], cliEnv(ws, { POSEPIPE_TRACKER: 'builtin', POSEPIPE_BUILTIN_DETECTOR: 'centernet', POSEPIPE_BUILTIN_KEYPOINTS: '1', POSEPIPE_BUILTIN_MIN_HITS: '1', POSEPIPE_PREVIEW_SIZE: '720' }));
    expect(run.code, run.stderr).toBe(0);
    const doc = readValidOutput(join(ws.outbox, 'street cut.json'));
    expect(doc.tracker.version).toContain('keypoints by movenet-lightning');
    const persons = doc.frames[SHOWN]!.persons as Person[];

    // The rows on people marked by eye, each with 17 keypoints on that person: a limb to look for.
    const limbs: { who: string; from: number[]; to: number[] }[] = [];
    const confident: number[] = [];
    for (const p of persons) {
      const [who, marked] = Object.entries(STREET_FRAME_100).find(([, m]) => iou(p.bbox, m) > 0.5) ?? [];
      if (!who || !marked) continue;
      expect(p.keypoints2d, `the keypoints of track ${p.track}, on the person ${who}`).toHaveLength(17);
      const [x1, y1, x2, y2] = marked;
      const slack = 0.1 * (y2 - y1);
      const sure = p.keypoints2d!.filter((k) => k[2]! >= 0.3);
      expect(sure.length, `keypoints scoring 0.3 or more on the person ${who}`).toBeGreaterThanOrEqual(4);
      confident.push(sure.length / 17);
      expect(sure.every(([x, y]) => x! >= x1 - slack && x! <= x2 + slack && y! >= y1 - slack && y! <= y2 + slack), `the keypoints of the person ${who} inside their box`).toBe(true);
      // COCO order: shoulders 5 and 6 above hips 11 and 12.
      const k = p.keypoints2d!;
      expect((k[5]![1]! + k[6]![1]!) / 2, `the shoulders of the person ${who} above the hips`).toBeLessThan((k[11]![1]! + k[12]![1]!) / 2);
      // The player joins two keypoints when both score 0.3 or more: its longest limb here.
      const drawn = LIMBS.filter(([a, b]) => k[a]![2]! >= 0.3 && k[b]![2]! >= 0.3);
      const length = ([a, b]: [number, number]) => Math.hypot(k[a]![0]! - k[b]![0]!, k[a]![1]! - k[b]![1]!);
      const longest = drawn.sort((m, n) => length(n) - length(m))[0];
      if (longest && length(longest) >= 10) limbs.push({ who, from: k[longest[0]]!, to: k[longest[1]]! });
    }
    expect(limbs.length, 'people marked by eye with a limb the player will draw').toBeGreaterThanOrEqual(4);
    // Over the people marked by eye, most keypoints are ones the model is sure of.
    expect(confident.reduce((a, b) => a + b, 0) / confident.length).toBeGreaterThanOrEqual(0.5);

    h = await startHarness({ ws });
    const id = h.db.listJobs().find((j) => j.source_name === 'street cut.avi')!.id;
    // The chunk's result, as the worker wrote it: float32 (rows, 17, 3), as the keypoints backend's.
    const results = join(jobDir(h.config, id), 'results');
    const pickles = readdirSync(results).filter((f) => f.endsWith('.pkl'));
    expect(pickles).toHaveLength(1);
    const column = keypointsColumn(join(results, pickles[0]!));
    expect(column.dtype).toBe('float32');
    expect(column.shape).toEqual([column.rows, 17, 3]);
    expect(column.rows).toBeGreaterThan(0);
    const page = await (await browser()).newPage();
    await page.goto(`${h.origin}/jobs/${id}`);
    await page.locator('section#player[data-player-state="ready"][data-frame="0"]').waitFor({ timeout: 20_000 });
    await page.locator('#player-seek').fill(String(SHOWN));
    await page.locator(`section#player[data-frame="${SHOWN}"]`).waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('#player-video')!;
      return !v.seeking && v.readyState >= 2;
    }, undefined, { timeout: 10_000 });
    // Each limb's middle, on the overlay inside the person's box: the skeleton is drawn there.
    for (const { who, from, to } of limbs) {
      const alpha = await page.evaluate(({ x, y, width }) => {
        const canvas = document.querySelector<HTMLCanvasElement>('#player-overlay')!;
        const k = canvas.width / width;
        const data = canvas.getContext('2d')!.getImageData(Math.round(x * k) - 1, Math.round(y * k) - 1, 3, 3).data;
        return Math.max(...Array.from(data).filter((_, i) => i % 4 === 3));
      }, { x: (from[0]! + to[0]!) / 2, y: (from[1]! + to[1]!) / 2, width: doc.source.width });
      expect(alpha, `the skeleton drawn on the person ${who}`).toBeGreaterThan(200);
    }
    console.log(`CPU keypoints in the player: ${await screenshot(page, 'street job frame 100')}`);
  }, 120_000);
});
