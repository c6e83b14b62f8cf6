/**
 * True timestamps (issue 12): the chunk step reads every frame's presentation time from the source,
 * and those times belong to the frames the chunks hold, for stream-copied and re-encoded chunks
 * alike. Checked against ffprobe's best_effort_timestamp_time of every decoded frame, on videos made
 * here: a variable frame rate (50 fps, then 25 fps), a stream that starts at 10 s, a B-frame MP4
 * with an edit list, and a raw H.264 stream without timestamps. The job page's preview video keeps
 * those frames and times too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentVideo } from '../../src/media/index.ts';
import { makePreview } from '../../src/media/make-preview.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
const SOURCES: Record<string, string[]> = {
  // 50 fps for 2 s, then every other frame: 25 fps, as phones record.
  'vfr.mp4': ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=50:duration=4', '-vf', "select='lt(t\\,2)+gte(t\\,2)*not(mod(n\\,2))'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-g', '25', '-bf', '0', '-pix_fmt', 'yuv420p'],
  // The stream's first frame is shown at 10 s.
  'late.mkv': ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=3', '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', '-output_ts_offset', '10'],
  // B-frames: the MP4 gets an edit list that shifts the first shown frame to 0.
  'bframes.mp4': ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30:duration=3', '-c:v', 'libx264', '-g', '30', '-bf', '3', '-pix_fmt', 'yuv420p'],
  // Portrait, with audio: the preview's shorter side is its width; the audio comes along as AAC.
  'portrait.mov': ['-f', 'lavfi', '-i', 'testsrc2=size=120x200:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:v', 'mjpeg', '-c:a', 'pcm_s16le'],
  // A raw H.264 stream: no timestamps at all, in its packets or its decoded frames.
  'raw.h264': ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2', '-c:v', 'libx264', '-g', '25', '-bf', '2', '-pix_fmt', 'yuv420p', '-f', 'h264'],
};

beforeAll(() => {
  ws = makeWorkspace('frame-times');
  for (const [name, args] of Object.entries(SOURCES)) {
    const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args, join(ws.root, name)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`making ${name}: ${r.stderr}`);
  }
});
afterAll(() => ws.cleanup());

/** ffprobe's best-effort timestamp of every decoded frame, in seconds. */
function decodedTimes(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'V:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').map((l) => l.split(',')[0]!.trim()).filter((f) => f !== '').map(Number);
}

describe('every frame\'s presentation time', () => {
  it.each(Object.keys(SOURCES).filter((name) => !name.endsWith('.h264') && name !== 'portrait.mov').flatMap((name) => [[name, 'copy'], [name, 'encode']] as const))('%s, %s chunks: the times of ffprobe\'s decoded frames, one per frame', async (name, how) => {
    const out = `chunks-${how}-${name.replace('.', '-')}`;
    mkdirSync(join(ws.root, out));
    const r = await segmentVideo({ cwd: ws.root, input: name, outDir: out, framesPerChunk: 25, allowCopy: how === 'copy' });
    expect(r.method).toBe(how);
    const expected = decodedTimes(join(ws.root, name));
    const total = r.frameCounts.reduce((a, b) => a + b, 0);
    expect(total).toBe(expected.length);
    expect(r.frameTimes).not.toBeNull();
    expect(r.frameTimes!).toHaveLength(total);
    for (const [i, t] of r.frameTimes!.entries()) expect(Math.abs(t - expected[i]!), `frame ${i}`).toBeLessThan(0.001);
    // The chunks hold exactly those frames: each chunk decodes to its count.
    const decoded = r.files.map((f) => decodedTimes(join(ws.root, f)).length);
    expect(decoded).toEqual(r.frameCounts);
  });

  it('says it has no times for a stream without any (the output then counts index / fps), after trying a decode', async () => {
    mkdirSync(join(ws.root, 'chunks-raw'));
    const r = await segmentVideo({ cwd: ws.root, input: 'raw.h264', outDir: 'chunks-raw', framesPerChunk: 25, allowCopy: true });
    expect(r.method).toBe('encode');
    expect(r.frameCounts.reduce((a, b) => a + b, 0)).toBe(50);
    expect(decodedTimes(join(ws.root, 'raw.h264')).every((t) => Number.isNaN(t))).toBe(true);
    expect(r.frameTimes).toBeNull();
  });

  it('reads what the sources are: a frame rate that changes, a start at 10 s, and a B-frame edit list starting at 0', () => {
    const vfr = decodedTimes(join(ws.root, 'vfr.mp4'));
    // Frame 100 is shown at 2.00 s (100 frames at 50 fps), not at 100 / (average 37.5 fps) = 2.67 s.
    expect(vfr).toHaveLength(150);
    expect(vfr[100]).toBeCloseTo(2, 3);
    expect(vfr[101]! - vfr[100]!).toBeCloseTo(0.04, 3);
    expect(decodedTimes(join(ws.root, 'late.mkv'))[0]).toBeCloseTo(10, 3);
    expect(decodedTimes(join(ws.root, 'bframes.mp4'))[0]).toBeCloseTo(0, 3);
  });
});

/** The codec, pixel format and size of each stream of `file`. */
function streams(file: string): { codec_type: string; codec_name: string; pix_fmt?: string; width?: number; height?: number }[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,pix_fmt,width,height', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { streams: ReturnType<typeof streams> }).streams;
}

describe('the player\'s preview (issue 12, part 5)', () => {
  it.each([['vfr.mp4', 100], ['late.mkv', 100], ['bframes.mp4', 100], ['portrait.mov', 100]] as const)('%s: every frame once at its time from the first, H.264 yuv420p in MP4 with its index first, shorter side at most %i', async (name, size) => {
    const output = `preview-${name}.mp4`;
    const made = await makePreview({ cwd: ws.root, input: name, output, size });
    const file = join(ws.root, output);
    const source = decodedTimes(join(ws.root, name));
    const preview = decodedTimes(file);
    expect(made.frames).toBe(source.length);
    expect(preview).toHaveLength(source.length);
    expect(made.firstFrameTime).toBe(preview[0]);
    for (const [i, t] of preview.entries()) expect(Math.abs(t - preview[0]! - (source[i]! - source[0]!)), `frame ${i}`).toBeLessThan(0.001);
    const [video, audio, ...rest] = streams(file);
    expect(video).toMatchObject({ codec_type: 'video', codec_name: 'h264', pix_fmt: 'yuv420p', width: made.width, height: made.height });
    expect(Math.min(made.width, made.height)).toBeLessThanOrEqual(size);
    expect([made.width % 2, made.height % 2]).toEqual([0, 0]);
    // The source's shape, within the rounding to even sides.
    const [w, h] = name === 'portrait.mov' ? [120, 200] : [160, 120];
    expect(Math.abs(made.width / made.height - w / h)).toBeLessThan(0.03);
    expect(audio?.codec_name ?? null).toBe(name === 'portrait.mov' ? 'aac' : null);
    expect(rest).toEqual([]);
    // Fast start: the index (moov) comes before the data (mdat), so a browser plays before the end arrives.
    const bytes = readFileSync(file);
    expect(bytes.indexOf('moov')).toBeGreaterThan(0);
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
    expect(readdirSync(ws.root).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
