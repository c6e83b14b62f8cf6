/**
 * Test helpers for thumbnails: videos whose every frame looks different, and pixel comparisons
 * against frames decoded by plain ffmpeg from the start (the reference an extracted frame must match).
 */
import { spawnSync } from 'node:child_process';

function run(tool: string, args: string[], input?: Buffer): Buffer {
  const r = spawnSync(tool, args, { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/**
 * A 4 s, 29.97 fps (30000/1001: frame times are not whole microseconds), 160x120 H.264 video with
 * B-frames and a keyframe every 30 frames: 120 frames, each one's brightness 37 levels (mod 256)
 * from its neighbours', so a frame off by one is far off in pixels.
 */
export function makeDistinctFramesVideo(file: string): void {
  run('ffmpeg', [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', "color=black:size=160x120:rate=30000/1001:duration=4,format=yuv420p,geq=lum='mod(N*37+X,256)':cb=128:cr=128",
    '-c:v', 'libx264', '-crf', '10', '-g', '30', '-bf', '3', '-pix_fmt', 'yuv420p', file,
  ]);
}

/** Frames in makeDistinctFramesVideo's video. */
export const DISTINCT_FRAMES = 120;

/** RGB bytes of frame `n` (decode order from the start: select), scaled to `width` like a thumbnail. */
export function referenceFrame(video: string, n: number, width: number): Buffer {
  return run('ffmpeg', [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-i', video,
    '-vf', `select=eq(n\\,${n}),scale=${width}:-1,format=rgb24`, '-fps_mode', 'passthrough', '-frames:v', '1', '-f', 'rawvideo', 'pipe:1',
  ]);
}

/** RGB bytes of a JPEG. */
export function jpegPixels(jpeg: Buffer): Buffer {
  return run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-vf', 'format=rgb24', '-f', 'rawvideo', 'pipe:1'], jpeg);
}

/** Width and height of an image or video file, from ffprobe. */
export function imageSize(file: string): { width: number; height: number } {
  const out = run('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file]).toString().trim();
  const [width, height] = out.split(',').map(Number);
  return { width: width!, height: height! };
}

/** Mean absolute difference per byte of two same-sized pictures (0..255). */
export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`pictures differ in size: ${a.length} vs ${b.length} bytes`);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/**
 * Which of frames n-1, n, n+1 (decoded from the start) `jpeg` is, by pixels: the test asserts it
 * is n and that n is much closer than its neighbours. Returns the three differences too.
 */
export function closestFrame(video: string, jpeg: Buffer, n: number, width: number, frames: number): { best: number; diffs: Map<number, number> } {
  const pixels = jpegPixels(jpeg);
  const diffs = new Map<number, number>();
  for (const k of [n - 1, n, n + 1]) if (k >= 0 && k < frames) diffs.set(k, meanAbsDiff(pixels, referenceFrame(video, k, width)));
  const best = [...diffs.entries()].sort((a, b) => a[1] - b[1])[0]![0];
  return { best, diffs };
}
