import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.ts';
import { countFrames, countPackets, segmentVideo, toolVersion } from '../../src/media/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('countFrames / countPackets', () => {
  it.each([
    ['small.mp4', 150],
    ['vfr.mp4', 94],
    ['with-audio.mp4', 50],
    ['odd-size.mkv', 48],
  ])('%s has %i frames', async (name, frames) => {
    expect(await countFrames(fixture(name))).toBe(frames);
    expect(await countPackets(fixture(name))).toBe(frames);
  });
});

describe('segmentVideo', () => {
  it('cuts at exact frame multiples in a folder whose path has spaces, reporting progress', async () => {
    ws = makeWorkspace('segment');
    const cwd = join(ws.root, "job dir 'x' -y");
    mkdirSync(join(cwd, 'out'), { recursive: true });
    copyFileSync(fixture('small.mp4'), join(cwd, 'source.mp4'));
    const progress: number[] = [];
    const { files } = await segmentVideo({ cwd, input: 'source.mp4', outDir: 'out', framesPerChunk: 40, onProgress: (n) => progress.push(n) });
    expect(files).toEqual(['out/0000.mp4', 'out/0001.mp4', 'out/0002.mp4', 'out/0003.mp4']);
    const counts = await Promise.all(files.map((f) => countFrames(join(cwd, f))));
    expect(counts).toEqual([40, 40, 40, 30]);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(150);
    expect(readdirSync(cwd).sort()).toEqual(['out', 'source.mp4']);
  });

  it('an aborted run kills ffmpeg and rejects with the abort reason', async () => {
    ws = makeWorkspace('segment');
    mkdirSync(join(ws.root, 'out'));
    copyFileSync(fixture('small.mp4'), join(ws.root, 'source.mp4'));
    const controller = new AbortController();
    const started = Date.now();
    const run = segmentVideo({
      cwd: ws.root,
      input: 'source.mp4',
      outDir: 'out',
      framesPerChunk: 1,
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('stop here')),
    });
    await expect(run).rejects.toThrow('stop here');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('FFMPEG_PATH pointing nowhere is an EnvironmentError', async () => {
    ws = makeWorkspace('segment');
    mkdirSync(join(ws.root, 'out'));
    copyFileSync(fixture('small.mp4'), join(ws.root, 'source.mp4'));
    const saved = process.env['FFMPEG_PATH'];
    process.env['FFMPEG_PATH'] = '/nonexistent/ffmpeg';
    try {
      const error = await segmentVideo({ cwd: ws.root, input: 'source.mp4', outDir: 'out', framesPerChunk: 10 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EnvironmentError);
      expect((error as Error).message).toContain('FFMPEG_PATH="/nonexistent/ffmpeg"');
    } finally {
      if (saved === undefined) delete process.env['FFMPEG_PATH'];
      else process.env['FFMPEG_PATH'] = saved;
    }
  });
});

/** Segment `name` into a fresh workspace with `allowCopy`; returns the result and the source path. */
async function segmentFixture(name: string, framesPerChunk: number, allowCopy = true) {
  ws = makeWorkspace('segment');
  mkdirSync(join(ws.root, 'out'));
  copyFileSync(fixture(name), join(ws.root, 'source.mp4'));
  const result = await segmentVideo({ cwd: ws.root, input: 'source.mp4', outDir: 'out', framesPerChunk, allowCopy });
  return { ...result, source: join(ws.root, 'source.mp4'), root: ws.root };
}

describe('segmentVideo stream copy', () => {
  it('keyframes every 25 frames, target 60: copies, cutting at keyframes, each count as decoded', async () => {
    const { method, files, frameCounts, source, root } = await segmentFixture('keyframes-25.mp4', 60);
    expect(method).toBe('copy');
    expect(frameCounts).toEqual([50, 50, 50, 50]);
    expect(await Promise.all(files.map((f) => countFrames(join(root, f))))).toEqual(frameCounts);
    expect(frameCounts.reduce((a, b) => a + b)).toBe(await countFrames(source));
    expect(readdirSync(join(root, 'out')).sort()).toEqual(['0000.mp4', '0001.mp4', '0002.mp4', '0003.mp4']);
  });

  it('re-encodes when copying is not allowed, or the keyframes are too far apart', async () => {
    expect((await segmentFixture('keyframes-25.mp4', 60, false)).method).toBe('encode');
    ws?.cleanup();
    const oneKeyframe = await segmentFixture('one-keyframe.mov', 50);
    expect(oneKeyframe.method).toBe('encode');
    expect(oneKeyframe.frameCounts).toEqual([50, 40]);
    expect(readdirSync(join(oneKeyframe.root, 'out')).sort()).toEqual(['0000.mp4', '0001.mp4']);
  });

  it.each([60, 100, 125])('open GOPs, target %i: copy only at clean keyframes, never a wrong count', async (target) => {
    const { method, files, frameCounts, source, root } = await segmentFixture('open-gop.mp4', target);
    expect(await Promise.all(files.map((f) => countFrames(join(root, f))))).toEqual(frameCounts);
    expect(frameCounts.reduce((a, b) => a + b)).toBe(await countFrames(source));
    // Only keyframes 0, 25, 125 and 150 are shown before the B-frames that follow them.
    expect(method).toBe(target === 60 ? 'encode' : 'copy');
    if (method === 'copy') expect(frameCounts).toEqual([125, 75]);
  });
});

describe('toolVersion', () => {
  it('names the version and path of ffmpeg (with libx264) and ffprobe', async () => {
    expect(await toolVersion('ffmpeg')).toMatch(/^ffmpeg version \S+ \(\/.+\/ffmpeg\)$/);
    expect(await toolVersion('ffprobe')).toMatch(/^ffprobe version \S+ \(\/.+\/ffprobe\)$/);
  });

  it('a tool that is not there is an EnvironmentError', async () => {
    const saved = process.env['FFPROBE_PATH'];
    process.env['FFPROBE_PATH'] = '/nonexistent/ffprobe';
    try {
      await expect(toolVersion('ffprobe')).rejects.toBeInstanceOf(EnvironmentError);
    } finally {
      if (saved === undefined) delete process.env['FFPROBE_PATH'];
      else process.env['FFPROBE_PATH'] = saved;
    }
  });
});
