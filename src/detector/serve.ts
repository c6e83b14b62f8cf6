/**
 * The person detector as a helper process for the Python tracker worker (the builtin backend with
 * POSEPIPE_BUILTIN_DETECTOR=centernet starts it once, at load, in its own process group, so a kill
 * of the worker's group ends it too). Its protocol, over stdin and stdout:
 *
 *   out, once:       {"ready": {"model", "version", "backend", "loadMs"}}   or {"error": "…"} and exit 1
 *   in, per frame:   width and height as two little-endian uint32, then width × height × 3 RGB bytes
 *   out, per frame:  {"boxes": [[x1, y1, x2, y2, score], …]}  (frame pixels, highest score first)
 *
 * It ends when stdin closes. A malformed frame is an {"error"} line and exit 1: the worker that
 * sent it has a bug, and the worker's own error path reports it.
 */
import { PersonDetector } from './people.ts';

/** The smallest score sent back: the tracker's thresholds, set in Python, pick from these. */
const MIN_SCORE = 0.1;
/** Frames larger than this are refused (8K is 33 million pixels). */
const MAX_PIXELS = 40_000_000;

function say(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function fail(message: string): never {
  say({ error: message });
  process.exit(1);
}

/** Frames from stdin, one at a time, as they arrive whole. */
async function* frames(): AsyncGenerator<{ width: number; height: number; rgb: Uint8Array }> {
  let buffered: Buffer = Buffer.alloc(0);
  for await (const piece of process.stdin as AsyncIterable<Buffer>) {
    buffered = buffered.length ? Buffer.concat([buffered, piece]) : piece;
    for (;;) {
      if (buffered.length < 8) break;
      const width = buffered.readUInt32LE(0);
      const height = buffered.readUInt32LE(4);
      if (width === 0 || height === 0 || width * height > MAX_PIXELS) fail(`a frame of ${width}×${height} pixels is not one the detector takes (at most ${MAX_PIXELS} pixels)`);
      const size = 8 + width * height * 3;
      if (buffered.length < size) break;
      yield { width, height, rgb: new Uint8Array(buffered.buffer, buffered.byteOffset + 8, size - 8) };
      buffered = buffered.subarray(size);
    }
  }
  if (buffered.length) fail(`stdin ended inside a frame (${buffered.length} bytes of it)`);
}

let detector: PersonDetector;
try {
  detector = await PersonDetector.load();
} catch (error) {
  fail(`cannot load the person detector: ${(error as Error).message}`);
}
say({ ready: detector.info });
for await (const frame of frames()) {
  const boxes = await detector.detect(frame.rgb, frame.width, frame.height, MIN_SCORE);
  say({ boxes: boxes.map((b) => [round(b.x1), round(b.y1), round(b.x2), round(b.y2), round(b.score)]) });
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
