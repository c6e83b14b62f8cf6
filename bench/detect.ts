/**
 * The builtin backend's person detectors, HOG and CenterNet, on footage nobody tuned them to: ten
 * frames of street-people.avi whose people were marked by eye (bench/truth/street-people.json says
 * how), made into materials of other framings with ffmpeg: as shot, small in a larger canvas, a crowd
 * of tiled copies, dark, and blurred. Each detector runs as the tracker sees it (its thresholds,
 * shape filter and NMS: bench/detect_boxes.py calls BuiltinBackend.detect), one frame at a time on
 * one core. Prints, per material and detector: frames/s, people found a frame, recall (marked people
 * with a box of IoU ≥ 0.5) and false boxes a frame (boxes on no one: neither a marked person nor one
 * of the people left unmarked). Then the default detector through real tracker workers (the
 * tracker, its appearance cue and the frames' decoding included: bench/keypoints-speed.ts), one and
 * two side by side as `--workers 2` runs them, boxes alone and boxes + keypoints (MoveNet on each
 * person's crop), on the first 40 frames of the street clip at 40% in a 768×576 canvas; and boxes +
 * keypoints for the foreground's people alone (about 6 a frame), as MoveNet's cost is per person.
 * Usage: npm run bench:detect [-- --passes 3 --frames 40 --video PATH]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { detectorCommand } from '../src/detector/command.ts';
import { keypointsSpeed } from './keypoints-speed.ts';
import { area, type Box, corners, iou, overlap, streetTruth } from './truth/street.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const passes = Number(arg('passes', '3'));
const frames = Number(arg('frames', '40'));
const video = resolve(arg('video', '../shared/fixtures/street-people.avi'));
const python = process.env.POSEPIPE_PYTHON ?? resolve('python/.venv/bin/python');

const truth = streetTruth();
const marked = Object.keys(truth.frames).map(Number).sort((a, b) => a - b);

/** Where a frame of the original goes in a material: scaled by `scale`, its corner at (x, y). */
interface Placement {
  frame: number;
  scale: number;
  x: number;
  y: number;
}
interface Material {
  name: string;
  width: number;
  height: number;
  /** Per output frame, the original frames placed in it. */
  layout: Placement[][];
  /** An ffmpeg filter applied to the whole made frame (darkening, blur), or none. */
  finish?: string;
}

const W = 768;
const H = 576;
const small = (scale: number): Placement[][] => marked.map((frame) => [{ frame, scale, x: Math.round((W - 1280 * scale) / 2), y: Math.round((H - 720 * scale) / 2) }]);
// Four copies a frame at 30%, each from a different marked frame, as a 2×2 grid in the canvas.
const crowd: Placement[][] = marked.map((_, k) =>
  [0, 1, 2, 3].map((t) => ({ frame: marked[(k + t * 3) % marked.length]!, scale: 0.3, x: (t % 2) * 384, y: 72 + Math.floor(t / 2) * 216 })),
);
const MATERIALS: Material[] = [
  { name: 'as shot, 1280×720', width: 1280, height: 720, layout: marked.map((frame) => [{ frame, scale: 1, x: 0, y: 0 }]) },
  { name: 'at 40% in 768×576', width: W, height: H, layout: small(0.4) },
  { name: 'at 30% in 768×576', width: W, height: H, layout: small(0.3) },
  { name: 'crowd: 4 copies at 30%', width: W, height: H, layout: crowd },
  { name: 'dark: 40%, a third of the light, noise', width: W, height: H, layout: small(0.4), finish: 'lutrgb=r=val/3:g=val/3:b=val/3,noise=alls=10:all_seed=7' },
  { name: 'blurred: 40%, gaussian σ 2', width: W, height: H, layout: small(0.4), finish: 'gblur=sigma=2' },
];

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const dir = mkdtempSync(join(tmpdir(), 'posepipe-bench-detect-'));
try {
  // The marked frames as pictures, once.
  for (const n of marked) ffmpeg(['-i', video, '-vf', `select=eq(n\\,${n})`, '-frames:v', '1', join(dir, `${n}.png`)]);

  const manifest = MATERIALS.map((m, i) => {
    const frames = m.layout.map((placements) => {
      const inputs = placements.flatMap((p) => ['-i', join(dir, `${p.frame}.png`)]);
      let graph = `color=c=0x404040:s=${m.width}x${m.height}:d=1[c0]`;
      placements.forEach((p, k) => {
        graph += `;[${k}:v]scale=${Math.round(1280 * p.scale)}:${Math.round(720 * p.scale)}:flags=area[s${k}];[c${k}][s${k}]overlay=${p.x}:${p.y}[c${k + 1}]`;
      });
      graph += `;[c${placements.length}]${m.finish ?? 'null'},format=bgr24[out]`;
      return ffmpeg([...inputs, '-filter_complex', graph, '-map', '[out]', '-frames:v', '1', '-f', 'rawvideo', '-']);
    });
    const path = join(dir, `material-${i}.bgr`);
    writeFileSync(path, Buffer.concat(frames));
    if (process.argv.includes('--keep')) ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${m.width}x${m.height}`, '-i', path, join(dir, `m${i}-%02d.png`)]);
    return { name: m.name, path, width: m.width, height: m.height, passes };
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));

  const results: Record<string, Record<string, Scored>> = {};
  for (const detector of ['hog', 'centernet']) {
    const env = { ...process.env, POSEPIPE_BUILTIN_DETECTOR: detector, POSEPIPE_DETECTOR_COMMAND: JSON.stringify(detectorCommand()) };
    const r = spawnSync(python, ['bench/detect_boxes.py', join(dir, 'manifest.json')], { env, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`bench/detect_boxes.py (${detector}) exited ${r.status}`);
    const [head, ...lines] = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    console.log(`${detector}: ${head!.version as string}`);
    results[detector] = {};
    for (const line of lines) {
      const m = MATERIALS.find((x) => x.name === line.name)!;
      results[detector]![m.name] = score(m, line.frames as number[][][], line.seconds as number, line.calls as number);
      if (process.argv.includes('--keep')) writeFileSync(join(dir, `${detector}-${MATERIALS.indexOf(m)}.json`), JSON.stringify(explain(m, line.frames as number[][][])));
    }
  }

  console.log(`\n${marked.length} marked frames a material (${marked.map(String).join(', ')}), each detected ${passes} times for the speed; one core\n`);
  console.log(`${'material'.padEnd(40)} ${'people'.padStart(6)}  ${'detector'.padEnd(9)} ${'frames/s'.padStart(8)} ${'found/frame'.padStart(11)} ${'recall'.padStart(7)} ${'false/frame'.padStart(11)}`);
  for (const m of MATERIALS) {
    for (const detector of ['hog', 'centernet']) {
      const s = results[detector]![m.name]!;
      console.log(`${(detector === 'hog' ? m.name : '').padEnd(40)} ${(detector === 'hog' ? String(s.people) : '').padStart(6)}  ${detector.padEnd(9)} ${s.fps.toFixed(2).padStart(8)} ${s.foundPerFrame.toFixed(2).padStart(11)} ${`${(100 * s.recall).toFixed(1)}%`.padStart(7)} ${s.falsePerFrame.toFixed(2).padStart(11)}`);
    }
  }

  console.log(`\nthrough tracker workers (centernet), the first ${frames} frames at 40% in 768×576:`);
  for (const keypoints of [false, true]) {
    for (const slots of [1, 2]) {
      const r = await keypointsSpeed(video, 'scale=512:288,pad=768:576:128:144', frames, slots, keypoints);
      console.log(`  ${keypoints ? 'boxes + keypoints' : 'boxes'}, ${slots === 1 ? 'one worker' : `${slots} workers side by side`}: ${r.fps.toFixed(2)} frames/s, ${r.rowsPerFrame.toFixed(2)} people a frame`);
    }
  }
  // MoveNet runs once a person: with the foreground's people alone (the boxes scoring 0.4 and up).
  const few = await keypointsSpeed(video, 'scale=512:288,pad=768:576:128:144', frames, 2, true, { POSEPIPE_BUILTIN_MIN_SCORE: '0.4', POSEPIPE_BUILTIN_LOW_SCORE: '0.4' });
  console.log(`  boxes + keypoints, 2 workers, boxes scoring 0.4 and up: ${few.fps.toFixed(2)} frames/s, ${few.rowsPerFrame.toFixed(2)} people a frame`);
} finally {
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  else console.log(`materials kept in ${dir}`);
}

interface Scored {
  people: number;
  found: number;
  fps: number;
  foundPerFrame: number;
  recall: number;
  falsePerFrame: number;
}

/** Match a material's confident boxes (x, y, w, h, score, weak) to its marked people. */
function score(m: Material, frames: number[][][], seconds: number, calls: number): Scored {
  let people = 0;
  let found = 0;
  let boxes = 0;
  let falseBoxes = 0;
  frames.forEach((raw, k) => {
    const { persons, others } = placed(m, k);
    const detections: Box[] = raw.filter((b) => !b[5]).map((b) => corners(b));
    people += persons.length;
    boxes += detections.length;
    // Greedy matching, highest score first (the order the backend returns them in).
    const taken = new Set<number>();
    for (const d of detections) {
      let best = -1;
      let bestIou = 0.5;
      persons.forEach((p, i) => {
        const v = iou(d, p);
        if (!taken.has(i) && v >= bestIou) [best, bestIou] = [i, v];
      });
      if (best >= 0) {
        taken.add(best);
        continue;
      }
      // On one of the unmarked people (or a part of a marked one it did not match): not false.
      const onSomeone = [...others, ...persons].some((o) => inside(d, o) >= 0.5);
      if (!onSomeone) falseBoxes++;
    }
    found += taken.size;
  });
  return { people, found, fps: calls / seconds, foundPerFrame: boxes / frames.length, recall: found / people, falsePerFrame: falseBoxes / frames.length };
}

/** Per frame, the marked people, the unmarked ones and the confident boxes (for a look with --keep). */
function explain(m: Material, frames: number[][][]): object[] {
  return frames.map((raw, k) => {
    const { persons, others } = placed(m, k);
    return { people: persons, others, boxes: raw.map((b) => [...corners(b), b[4], b[5]]) };
  });
}

/** The marked people (and those left unmarked) of a material's frame `k`, where its layout put them. */
function placed(m: Material, k: number): { persons: Box[]; others: Box[] } {
  const place = (b: Box, p: Placement): Box => [b[0] * p.scale + p.x, b[1] * p.scale + p.y, b[2] * p.scale + p.x, b[3] * p.scale + p.y];
  return {
    persons: m.layout[k]!.flatMap((p) => truth.frames[p.frame]!.people.map((b) => place(b, p))),
    others: m.layout[k]!.flatMap((p) => truth.frames[p.frame]!.others.map((b) => place(b, p))),
  };
}

/** The share of `a`'s area inside `b`. */
function inside(a: Box, b: Box): number {
  return overlap(a, b) / area(a);
}
