import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPictures, type Pictures, thumbnailFile } from '../../src/pictures/index.ts';
import { makeWorkspace, type Workspace, workspacesPerTest } from '../helpers/workspace.ts';
import { closestFrame, DISTINCT_FRAMES, imageSize, makeDistinctFramesVideo } from './frame-pixels.ts';
import { writeMerged } from './merged-fixture.ts';

const FPS = 30000 / 1001;
const FACTS = { width: 160, height: 120, fps: FPS, frameCount: DISTINCT_FRAMES };
const workspace = workspacesPerTest();

// One video for the file; each test copies it into its own job folder.
let videos: Workspace;
let video: string;
beforeAll(() => {
  videos = makeWorkspace('thumb-videos');
  video = join(videos.root, 'distinct.mp4');
  makeDistinctFramesVideo(video);
});
afterAll(() => videos.cleanup());

// Real ffmpeg behind a wrapper that logs each run, to count them.
let runLog: string;
const savedPath = process.env['FFMPEG_PATH'];
beforeEach(() => {
  const ws = workspace('ffmpeg-counter');
  runLog = join(ws.root, 'runs.log');
  writeFileSync(runLog, '');
  const wrapper = join(ws.root, 'ffmpeg-counter.cjs');
  writeFileSync(
    wrapper,
    `#!${process.execPath}
const { appendFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
appendFileSync(${JSON.stringify(runLog)}, 'run\\n');
const r = spawnSync('ffmpeg', process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
`,
  );
  chmodSync(wrapper, 0o755);
  process.env['FFMPEG_PATH'] = wrapper;
});
afterEach(() => {
  if (savedPath === undefined) delete process.env['FFMPEG_PATH'];
  else process.env['FFMPEG_PATH'] = savedPath;
});
const ffmpegRuns = (): number => readFileSync(runLog, 'utf8').split('\n').filter((l) => l === 'run').length;

/** A finished job's folder: the staged source (under `name`) and merge.json. */
async function job(name = 'source.mp4'): Promise<{ dir: string; source: string; pictures: Pictures }> {
  const dir = join(workspace('thumbs').home, 'jobs', '3');
  mkdirSync(dir, { recursive: true });
  const source = join(dir, name);
  copyFileSync(video, source);
  writeMerged(dir);
  const pictures = (await loadPictures(dir, FACTS))!;
  expect(pictures.frames.map((f) => f.index)).toEqual([15, 25, 35, 45, 55, 65, 75, 85]);
  return { dir, source, pictures };
}

describe('thumbnailFile', () => {
  it('extracts a picked frame into thumbs/<frame>.jpg, 320 px wide, and it is that frame', async () => {
    const { dir, source, pictures } = await job();
    for (const frame of [15, 85]) {
      const file = await thumbnailFile(dir, source, frame, pictures);
      expect(file).toBe(join(dir, 'thumbs', `${frame}.jpg`));
      expect(imageSize(file!)).toEqual({ width: 320, height: 240 });
      expect(closestFrame(video, readFileSync(file!), frame, 320, DISTINCT_FRAMES).best).toBe(frame);
    }
    expect(readdirSync(join(dir, 'thumbs')).sort()).toEqual(['15.jpg', '85.jpg']);
  });

  it('works on a source whose name starts with "-" and holds quotes, spaces and a newline', async () => {
    const { dir, source, pictures } = await job(`-y 'a' "b" $(x)\n%d.mp4`);
    const file = await thumbnailFile(dir, source, 45, pictures);
    expect(closestFrame(video, readFileSync(file!), 45, 320, DISTINCT_FRAMES).best).toBe(45);
  });

  it('refuses frames that were not picked and traversal-like numbers, without running ffmpeg', async () => {
    const { dir, source, pictures } = await job();
    const refused = [16, 0, -15, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e300, 2 ** 53, 15.5, '../15' as unknown as number, '15' as unknown as number];
    for (const frame of refused) expect(await thumbnailFile(dir, source, frame, pictures)).toBeUndefined();
    expect(existsSync(join(dir, 'thumbs'))).toBe(false);
    expect(ffmpegRuns()).toBe(0);
  });

  it('concurrent calls for one frame share one ffmpeg run and make one file; later calls reuse it', async () => {
    const { dir, source, pictures } = await job();
    const files = await Promise.all(Array.from({ length: 5 }, () => thumbnailFile(dir, source, 55, pictures)));
    expect(new Set(files)).toEqual(new Set([join(dir, 'thumbs', '55.jpg')]));
    expect(ffmpegRuns()).toBe(1);
    expect(readdirSync(join(dir, 'thumbs'))).toEqual(['55.jpg']);
    expect(await thumbnailFile(dir, source, 55, pictures)).toBe(files[0]);
    expect(ffmpegRuns()).toBe(1);
  });

  it('is undefined when the source is gone, but still serves a thumbnail made before', async () => {
    const { dir, source, pictures } = await job();
    const made = await thumbnailFile(dir, source, 25, pictures);
    rmSync(source);
    expect(await thumbnailFile(dir, source, 35, pictures)).toBeUndefined();
    expect(await thumbnailFile(dir, source, 25, pictures)).toBe(made);
    expect(ffmpegRuns()).toBe(1);
  });
});
