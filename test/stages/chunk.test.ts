import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskSpaceError } from '../../src/disk.ts';
import { classify, InputError, PipelineError } from '../../src/errors.ts';
import { countFrames, probeVideo, type VideoFacts } from '../../src/media/index.ts';
import { chunk, chunkBytesEstimate, type ChunkOutput } from '../../src/stages/chunk.ts';
import { fixture, STREET_PEOPLE } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { tmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

/** A job folder holding `path` staged as source.<ext>, with its probed facts. */
async function stagedJob(path: string): Promise<{ jobDir: string; source: string; facts: VideoFacts }> {
  ws = makeWorkspace('chunk');
  const jobDir = join(ws.home, 'job 1');
  mkdirSync(jobDir, { recursive: true });
  const source = `source${extname(path).toLowerCase()}`;
  copyFileSync(path, join(jobDir, source));
  return { jobDir, source, facts: await probeVideo(join(jobDir, source), 'clip') };
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Frame `index` of `file`, decoded (rotation applied) to 8-bit gray. */
function grayFrame(file: string, index: number): Buffer {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode frame ${index} of ${file}: ${String(r.stderr)}`);
  return r.stdout;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

describe('chunk stage', () => {
  // Sources with keyframes near every chunk boundary are stream-copied (odd-size.mkv, whose mpeg4
  // has a keyframe every 12 frames, among them: its chunks keep the source's codec and odd size);
  // one-keyframe sources and rotated ones are re-encoded. Each case also checks progress up to the
  // last frame and, where asked, that cutting the same source again gives the same bytes, the
  // second chunk's first frame against the source (no frame lost or repeated at a cut;
  // the copied ones too: keyframes every 25 frames, open GOPs cut at a clean keyframe at 125), the
  // copied spans, and that the disk estimate covers the re-encoded chunks.
  it.each([
    ['small.mp4', fixture('small.mp4'), 1, { method: 'encode', chunks: 6, width: 320, height: 240, cut: true, again: true }],
    ['one-keyframe.mov', fixture('one-keyframe.mov'), 1, { method: 'encode', chunks: 3, width: 320, height: 240 }],
    ['odd-size.mkv', fixture('odd-size.mkv'), 0.5, { method: 'copy', chunks: 4, width: 321, height: 241, again: true }],
    ['vfr.mp4', fixture('vfr.mp4'), 1, { method: 'encode', chunks: 4, width: 320, height: 240, cut: true }],
    ['rotated.mp4', fixture('rotated.mp4'), 2, { method: 'encode', chunks: 3, width: 240, height: 320, again: true }],
    ['with-audio.mp4', fixture('with-audio.mp4'), 0.5, { method: 'encode', chunks: 4, width: 320, height: 240 }],
    ['street-people', STREET_PEOPLE, 1, { method: 'encode', chunks: 5, width: 1280, height: 720, estimate: true }],
    ['street-people (keyframe at 150)', STREET_PEOPLE, 3, { method: 'copy', chunks: 2, width: 1280, height: 720 }],
    ['keyframes-25.mp4', fixture('keyframes-25.mp4'), 2.4, { method: 'copy', chunks: 4, width: 320, height: 240, cut: true, again: true, spans: [[0, 50], [50, 50], [100, 50], [150, 50]] }],
    ['open-gop.mp4 (no clean keyframe near 60)', fixture('open-gop.mp4'), 2.4, { method: 'encode', chunks: 4, width: 320, height: 240 }],
    ['open-gop.mp4 (clean keyframe at 125)', fixture('open-gop.mp4'), 4, { method: 'copy', chunks: 2, width: 320, height: 240, cut: true }],
    ['rotated-keyframes.mp4', fixture('rotated-keyframes.mp4'), 2.4, { method: 'encode', chunks: 4, width: 240, height: 320 }],
  ] as const)('%s: exact, contiguous, upright, repeatable chunks, progress to the last frame', async (name, path, chunkSeconds, expected) => {
    const { jobDir, source, facts } = await stagedJob(path);
    const seen: number[] = [];
    const output = await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds, onProgress: (n) => seen.push(n) });

    expect(output.method).toBe(expected.method);
    expect(output.framesPerChunk).toBe(Math.max(1, Math.round(chunkSeconds * facts.fps)));
    expect(output.chunks).toHaveLength(expected.chunks);
    expect(output.totalFrames).toBe(await countFrames(join(jobDir, source)));
    expect(seen.at(-1)).toBe(output.totalFrames);
    if ('spans' in expected) expect(output.chunks.map((c) => [c.firstFrame, c.frameCount])).toEqual(expected.spans);
    // Encoded chunks are H.264, even-sized; copied ones are the source's own packets.
    const picture = expected.method === 'encode' ? { codec: 'h264', pixelFormat: 'yuv420p' } : { codec: facts.codec, pixelFormat: facts.pixelFormat };
    let next = 0;
    for (const [i, c] of output.chunks.entries()) {
      expect(c.index).toBe(i);
      expect(c.file).toBe(`chunks/${String(i).padStart(4, '0')}.mp4`);
      expect(c.firstFrame).toBe(next);
      next += c.frameCount;
      if (expected.method === 'encode' && i < output.chunks.length - 1) expect(c.frameCount).toBe(output.framesPerChunk);
      expect(c.frameCount).toBeGreaterThanOrEqual(1);
      expect(c.frameCount).toBeLessThanOrEqual(Math.floor(1.5 * output.framesPerChunk));
      expect(await countFrames(join(jobDir, c.file))).toBe(c.frameCount);
      const chunkFacts = await probeVideo(join(jobDir, c.file), c.file);
      expect(chunkFacts).toMatchObject({ width: expected.width, height: expected.height, rotation: 0, ...picture, hasAudio: false });
    }
    expect(next).toBe(output.totalFrames);
    expect(JSON.parse(readFileSync(join(jobDir, 'chunks', 'chunks.json'), 'utf8'))).toEqual(output);
    expect(readdirSync(jobDir).sort()).toEqual(['chunks', source]);
    if ('estimate' in expected) {
      const written = output.chunks.reduce((n, c) => n + readFileSync(join(jobDir, c.file)).length, 0);
      expect(chunkBytesEstimate(facts)).toBeGreaterThanOrEqual(written);
    }
    if ('cut' in expected) {
      const second = output.chunks[1];
      expect(second).toBeDefined();
      const first = grayFrame(join(jobDir, second!.file), 0);
      const same = meanAbsDiff(first, grayFrame(join(jobDir, source), second!.firstFrame));
      const before = meanAbsDiff(first, grayFrame(join(jobDir, source), second!.firstFrame - 1));
      const after = meanAbsDiff(first, grayFrame(join(jobDir, source), second!.firstFrame + 1));
      expect(same, name).toBeLessThan(3);
      expect(before, name).toBeGreaterThan(same * 2);
      expect(after, name).toBeGreaterThan(same * 2);
    }

    // A second run plans and writes the same, reporting its progress in order up to the last frame:
    // checked on one source of each kind (re-encoded, re-encoded upright, copied, copied mpeg4).
    if (!('again' in expected)) return;
    const firstRun = output.chunks.map((c) => sha256(join(jobDir, c.file)));
    const seenAgain: number[] = [];
    const again = await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds, onProgress: (n) => seenAgain.push(n) });
    expect(again).toEqual(output);
    expect(again.chunks.map((c) => sha256(join(jobDir, c.file)))).toEqual(firstRun);
    expect(readdirSync(jobDir).sort()).toEqual(['chunks', source]);
    expect(seenAgain).toEqual([...seenAgain].sort((a, b) => a - b));
    expect(seenAgain.at(-1)).toBe(output.totalFrames);
  });

  it('odd sizes are padded at the right and bottom, so pixels keep their coordinates', async () => {
    const { jobDir, source, facts } = await stagedJob(fixture('odd-size.mkv'));
    // 6-frame chunks: its keyframes (every 12 frames) are too far apart to copy, so it is encoded.
    const output = await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds: 0.25 });
    expect(output.method).toBe('encode');
    const frame = grayFrame(join(jobDir, output.chunks[0]!.file), 0);
    const [w, h] = [322, 242];
    expect(frame.length).toBe(w * h);
    const at = (x: number, y: number): number => frame[y * w + x] ?? -1;
    // The fixture has a 2-px white border: its last column/row (320/240) must still be white,
    // and the padding column/row (321/241) black.
    for (let y = 10; y < 230; y += 20) {
      expect(at(320, y), `x=320 y=${y}`).toBeGreaterThan(200);
      expect(at(321, y), `x=321 y=${y}`).toBeLessThan(50);
      expect(at(0, y), `x=0 y=${y}`).toBeGreaterThan(200);
    }
    for (let x = 10; x < 310; x += 20) {
      expect(at(x, 240), `x=${x} y=240`).toBeGreaterThan(200);
      expect(at(x, 241), `x=${x} y=241`).toBeLessThan(50);
      expect(at(x, 0), `x=${x} y=0`).toBeGreaterThan(200);
    }
  });

  it('replaces a stale chunks folder and temp folders left by a crashed attempt', async () => {
    const { jobDir, source, facts } = await stagedJob(fixture('small.mp4'));
    mkdirSync(join(jobDir, 'chunks'));
    writeFileSync(join(jobDir, 'chunks', '0009.mp4'), 'half-written');
    mkdirSync(join(jobDir, 'chunks.tmp-1-dead'));
    writeFileSync(join(jobDir, 'chunks.tmp-1-dead', '0000.mp4'), 'half-written');
    const output = await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds: 2 });
    expect(readdirSync(jobDir).sort()).toEqual(['chunks', source]);
    expect(readdirSync(join(jobDir, 'chunks')).sort()).toEqual([...output.chunks.map((c) => c.file.slice('chunks/'.length)), 'chunks.json', 'frame-times.json'].sort());
    expect(output.frameTimesFile).toBe('chunks/frame-times.json');
  });

  it('a source ffmpeg cannot read fails without leaving a temp folder', async () => {
    const { jobDir, facts } = await stagedJob(fixture('small.mp4'));
    copyFileSync(fixture('text.mp4'), join(jobDir, 'broken.mp4'));
    const error = await chunk({ jobDir, source: 'broken.mp4', displayName: 'clip', facts, chunkSeconds: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(readdirSync(jobDir).sort()).toEqual(['broken.mp4', 'source.mp4']);
  });

});

const NO_TMPFS = tmpfsUnavailable();
if (NO_TMPFS) console.warn(`tmpfs cannot be mounted here (${NO_TMPFS}): the full-disk chunk case is skipped`);

describe('chunk stage: limits and disk space, checked before cutting', () => {
  it('refuses a video whose estimated frames make more chunks than maxChunks (100 hours claimed: 36000 chunks)', async () => {
    const { jobDir, source, facts } = await stagedJob(fixture('huge-duration.mkv'));
    expect(facts.frameCountEstimate).toBe(9_000_000);
    const error = await chunk({ jobDir, source, displayName: 'long.mkv', facts, chunkSeconds: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe('Cannot process "long.mkv": about 9000000 frames make 36000 chunks of 250 frames (10 s), more than the limit 2000 (POSEPIPE_MAX_CHUNKS or POSEPIPE_CHUNK_SECONDS)');
    expect(readdirSync(jobDir)).toEqual([source]);
  });

  it('maxChunks is inclusive: 150 frames in 5-frame chunks need 30', async () => {
    const { jobDir, source, facts } = await stagedJob(fixture('small.mp4'));
    const error = await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds: 0.2, maxChunks: 29 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Cannot process "clip": about 150 frames make 30 chunks of 5 frames (0.2 s), more than the limit 29 (POSEPIPE_MAX_CHUNKS or POSEPIPE_CHUNK_SECONDS)');
    expect((await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds: 0.2, maxChunks: 30 })).chunks).toHaveLength(30);
  });

  it('refuses with a disk error when the estimate and the margin do not fit, and writes nothing', async () => {
    const { jobDir, source, facts } = await stagedJob(fixture('small.mp4'));
    const error = await chunk({ jobDir, source, displayName: 'clip', facts, chunkSeconds: 1, minFreeMb: 100_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskSpaceError);
    expect((error as Error).message).toContain(`Not enough disk space in ${jobDir}: chunking "clip" needs 95 TB (${Math.round(chunkBytesEstimate(facts) / 1024)} KB + 100000000 MB kept free, POSEPIPE_MIN_FREE_MB)`);
    expect(readdirSync(jobDir)).toEqual([source]);
  });

  it.skipIf(NO_TMPFS)('the disk filling up while ffmpeg writes: a disk error, no temp folder left; with space back it completes', async () => {
    const { jobDir, source, facts } = await stagedJob(fixture('small.mp4'));
    // A 512 KB filesystem holding the 200 KB source; the encoded chunks take ~700 KB. The facts
    // understate the size so the pre-check passes and ffmpeg's own writes hit ENOSPC.
    const full = join(ws!.root, 'full');
    mkdirSync(full);
    tmpfs(full, '512k');
    try {
      copyFileSync(join(jobDir, source), join(full, source));
      const understated = { ...facts, bytes: 1, frameCountEstimate: 1 };
      const error = await chunk({ jobDir: full, source, displayName: 'clip', facts: understated, chunkSeconds: 1, minFreeMb: 0 }).catch((e: unknown) => e);
      expect(classify(error)).toMatchObject({ kind: 'disk', retry: false });
      expect((error as Error).message).toMatch(/^Not enough disk space in .*\/full: chunking "clip" failed, the disk is full \(\d+ (bytes|KB) free\); free some space, then resume the job$/);
      expect(((error as Error).cause as Error).message).toMatch(/^ffmpeg ran out of disk space writing chunks\.tmp-.*: .*No space left on device/);
      expect(readdirSync(full)).toEqual([source]);
      tmpfs(full, '64m', true);
      const output = await chunk({ jobDir: full, source, displayName: 'clip', facts, chunkSeconds: 1, minFreeMb: 0 });
      expect(output.chunks).toHaveLength(6);
      expect(readdirSync(full).sort()).toEqual(['chunks', source]);
    } finally {
      if (spawnSync('umount', [full]).status !== 0) spawnSync('umount', ['-l', full]);
    }
  });
});
