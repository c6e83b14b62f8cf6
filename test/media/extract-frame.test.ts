import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFrameJpeg } from '../../src/media/index.ts';
import { ToolFailure } from '../../src/media/run-tools.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { closestFrame, DISTINCT_FRAMES, imageSize, makeDistinctFramesVideo } from '../pictures/frame-pixels.ts';

let ws: Workspace;
let video: string;
let failed = false;

beforeAll(() => {
  ws = makeWorkspace('extract-frame');
  video = join(ws.root, 'distinct.mp4');
  makeDistinctFramesVideo(video);
});
afterAll(() => {
  if (failed) console.error(`kept workspace of failed test: ${ws.root}`);
  else ws.cleanup();
});

/** Extract frame n, save it for a look on failure, and say which decoded frame it is. */
async function check(source: string, n: number, fps: number, frames: number): Promise<void> {
  const jpeg = await extractFrameJpeg({ source, frameIndex: n, fps, width: 320 });
  writeFileSync(join(ws.root, `frame-${n}.jpg`), jpeg);
  const { best, diffs } = closestFrame(source, jpeg, n, 320, frames);
  if (best !== n) failed = true;
  expect({ n, best, diffs: Object.fromEntries(diffs) }).toMatchObject({ n, best: n });
  expect(diffs.get(n)!).toBeLessThan(4);
  for (const [k, diff] of diffs) if (k !== n) expect(diff).toBeGreaterThan(20);
}

describe('extractFrameJpeg', () => {
  // 0: first; 29/30: either side of a keyframe; 31 and 45: B-frames; 119: the last frame.
  it.each([0, 1, 29, 30, 31, 45, 77, 118, 119])('gives exactly frame %i of a 29.97 fps video with B-frames', async (n) => {
    await check(video, n, 30000 / 1001, DISTINCT_FRAMES);
  });

  it('gives exactly the frame at its source time in a variable-frame-rate stream that starts at 10 s', async () => {
    const vfr = join(ws.root, 'vfr-late.mkv');
    // The distinct frames with some dropped (a rate that changes), shown from 10 s on.
    const drop = "select='not(eq(mod(n\\,3)\\,1))*not(eq(mod(n\\,7)\\,4))'";
    const made = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', video, '-vf', drop, '-fps_mode', 'vfr', '-c:v', 'libx264', '-crf', '10', '-g', '30', '-bf', '3', '-pix_fmt', 'yuv420p', '-output_ts_offset', '10', vfr], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const probed = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'V:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', vfr], { encoding: 'utf8' });
    const times = probed.stdout.split('\n').map((l) => l.split(',')[0]!.trim()).filter((f) => f !== '').map(Number);
    expect(times[0]).toBeCloseTo(10, 2);
    for (const n of [0, 1, 40, times.length - 1]) {
      const jpeg = await extractFrameJpeg({ source: vfr, frameIndex: n, fps: 30000 / 1001, width: 320, sourceTime: Math.round(times[n]! * 1e6) / 1e6 });
      const { best } = closestFrame(vfr, jpeg, n, 320, times.length);
      expect({ n, best }).toEqual({ n, best: n });
    }
  });

  it('reads a source whose name starts with "-" and holds quotes, spaces, a newline, "%" and "$(...)"', async () => {
    const dir = join(ws.root, "a dir -y 'x'");
    mkdirSync(dir, { recursive: true });
    const hostile = join(dir, `-i x 'y' "z" $(touch pwned);%d\nfile:.mp4`);
    copyFileSync(video, hostile);
    await check(hostile, 50, 30000 / 1001, DISTINCT_FRAMES);
    // A relative name starting with "-" is resolved, never read as an option.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const jpeg = await extractFrameJpeg({ source: `-i x 'y' "z" $(touch pwned);%d\nfile:.mp4`, frameIndex: 3, fps: 30000 / 1001, width: 320 });
      expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    } finally {
      process.chdir(cwd);
    }
    // Nothing ran the name through a shell.
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(existsSync('pwned')).toBe(false);
  });

  it('applies the rotation, as the boxes are in displayed pixels, and keeps the aspect', async () => {
    const jpeg = await extractFrameJpeg({ source: fixture('rotated.mp4'), frameIndex: 10, fps: 25, width: 320 });
    const file = join(ws.root, 'rotated.jpg');
    writeFileSync(file, jpeg);
    // Displayed 240x320 (portrait): 320 wide is 427 high.
    expect(imageSize(file)).toEqual({ width: 320, height: 427 });
  });

  it('rejects a frame past the end with ToolFailure, and nonsense arguments with TypeError', async () => {
    await expect(extractFrameJpeg({ source: video, frameIndex: 500, fps: 30000 / 1001, width: 320 })).rejects.toBeInstanceOf(ToolFailure);
    await expect(extractFrameJpeg({ source: join(ws.root, 'missing.mp4'), frameIndex: 0, fps: 25, width: 320 })).rejects.toBeInstanceOf(ToolFailure);
    for (const frameIndex of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(extractFrameJpeg({ source: video, frameIndex, fps: 25, width: 320 })).rejects.toBeInstanceOf(TypeError);
    }
    await expect(extractFrameJpeg({ source: video, frameIndex: 0, fps: 0, width: 320 })).rejects.toBeInstanceOf(TypeError);
    await expect(extractFrameJpeg({ source: video, frameIndex: 0, fps: 25, width: 0 })).rejects.toBeInstanceOf(TypeError);
  });
});
