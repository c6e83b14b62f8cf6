/**
 * The person detector as a helper process for the Python tracker worker (the builtin backend with
 * POSEPIPE_BUILTIN_DETECTOR=centernet starts it once, at load, in its own process group, so a kill
 * of the worker's group ends it too). With the argument `--keypoints` it also loads the keypoint
 * model (src/detector/poses.ts). Its protocol, over stdin and stdout:
 *
 *   out, once:       {"ready": {"model", "version", "backend", "loadMs", "keypoints"?: {"model",
 *                    "version", "loadMs", "crop"}}}   or {"error": "…"} and exit 1
 *   in, per frame:   width and height as two little-endian uint32, then width × height × 3 RGB bytes
 *   out, per frame:  {"boxes": [[x1, y1, x2, y2, score], …]}  (frame pixels, highest score first)
 *   in, per crops:   0 (where a frame's width would be), the number of crops and their side (the
 *                    ready line's `crop`) as little-endian uint32, then count × side × side × 3 RGB
 *                    bytes: one person, centred, per square crop
 *   out, per crops:  {"keypoints": [[y, x, score] × 17 flattened to 51 numbers, one list a crop]}
 *                    (y and x from 0 to 1 across the crop, score MoveNet's confidence, 0..1)
 *
 * It ends when stdin closes. A malformed request is an {"error"} line and exit 1: the worker that
 * sent it has a bug, and the worker's own error path reports it.
 */
import { PersonDetector } from './people.ts';
import { CROP_SIZE, PoseEstimator } from './poses.ts';

/** The smallest score sent back: the tracker's thresholds, set in Python, pick from these. */
const MIN_SCORE = 0.1;
/** Frames larger than this are refused (8K is 33 million pixels). */
const MAX_PIXELS = 40_000_000;
/** Crops in one request at most (CenterNet gives at most 100 boxes a frame). */
const MAX_CROPS = 1000;

let detector: PersonDetector;
/** The keypoint model, loaded only when the helper is started with --keypoints. */
let poses: PoseEstimator | undefined;

type Request = { kind: 'frame'; width: number; height: number; rgb: Uint8Array } | { kind: 'crops'; count: number; rgb: Uint8Array };

function say(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function fail(message: string): never {
  say({ error: message });
  process.exit(1);
}

/** The size in bytes of the request whose header starts `buffered`, or undefined until the header is whole. */
function requestSize(buffered: Buffer): number | undefined {
  if (buffered.length < 8) return undefined;
  const width = buffered.readUInt32LE(0);
  const height = buffered.readUInt32LE(4);
  if (width !== 0) {
    if (height === 0 || width * height > MAX_PIXELS) fail(`a frame of ${width}×${height} pixels is not one the detector takes (at most ${MAX_PIXELS} pixels)`);
    return 8 + width * height * 3;
  }
  if (buffered.length < 12) return undefined;
  const side = buffered.readUInt32LE(8);
  if (!poses) fail('keypoints were asked for, but the helper was started without --keypoints');
  if (height > MAX_CROPS || side !== CROP_SIZE) fail(`${height} crops of ${side}×${side} pixels are not what the keypoint model takes (at most ${MAX_CROPS} crops of ${CROP_SIZE}×${CROP_SIZE})`);
  return 12 + height * side * side * 3;
}

/** Requests from stdin, one at a time, as they arrive whole. */
async function* requests(): AsyncGenerator<Request> {
  let buffered: Buffer = Buffer.alloc(0);
  for await (const piece of process.stdin as AsyncIterable<Buffer>) {
    buffered = buffered.length ? Buffer.concat([buffered, piece]) : piece;
    for (;;) {
      const size = requestSize(buffered);
      if (size === undefined || buffered.length < size) break;
      const width = buffered.readUInt32LE(0);
      const height = buffered.readUInt32LE(4);
      const header = width ? 8 : 12;
      const rgb = new Uint8Array(buffered.buffer, buffered.byteOffset + header, size - header);
      yield width ? { kind: 'frame', width, height, rgb } : { kind: 'crops', count: height, rgb };
      buffered = buffered.subarray(size);
    }
  }
  if (buffered.length) fail(`stdin ended inside a request (${buffered.length} bytes of it)`);
}

try {
  detector = await PersonDetector.load();
} catch (error) {
  fail(`cannot load the person detector: ${(error as Error).message}`);
}
try {
  if (process.argv.includes('--keypoints')) poses = await PoseEstimator.load();
} catch (error) {
  fail(`cannot load the keypoint model: ${(error as Error).message}`);
}
say({ ready: { ...detector.info, ...(poses && { keypoints: { ...poses.info, crop: CROP_SIZE } }) } });
for await (const request of requests()) {
  if (request.kind === 'frame') {
    const boxes = await detector.detect(request.rgb, request.width, request.height, MIN_SCORE);
    say({ boxes: boxes.map((b) => [round(b.x1), round(b.y1), round(b.x2), round(b.y2), round(b.score)]) });
  } else {
    const points = await poses!.estimate(request.rgb, request.count);
    say({ keypoints: Array.from({ length: request.count }, (_, i) => Array.from(points.subarray(i * 51, (i + 1) * 51), round4)) });
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
