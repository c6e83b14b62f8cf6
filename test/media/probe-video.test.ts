import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError, InputError } from '../../src/errors.ts';
import { probeVideo } from '../../src/media/index.ts';
import { fixture, STREET_PEOPLE } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

/** Expect probeVideo to reject with an InputError whose whole message is matched by `message`. */
async function expectInputError(file: string, message: RegExp): Promise<void> {
  const error = await probeVideo(file, 'clip.mp4').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as InputError).message).toMatch(message);
  expect((error as InputError).message).not.toContain(file);
}

describe('probeVideo facts', () => {
  it.each([
    ['small.mp4', { width: 320, height: 240, rotation: 0, fps: 25, fpsFraction: '25/1', codec: 'h264', frameCountEstimate: 150, hasAudio: false }],
    ['rotated.mp4', { width: 240, height: 320, rotation: 90, fps: 25, codec: 'h264', frameCountEstimate: 150 }],
    ['vfr.mp4', { width: 320, height: 240, fps: 23.5, fpsFraction: '47/2', frameCountEstimate: 94 }],
    ['odd-size.mkv', { width: 321, height: 241, fps: 24, codec: 'mpeg4', formatName: 'matroska,webm', frameCountEstimate: 48 }],
    ['with-audio.mp4', { width: 320, height: 240, hasAudio: true, frameCountEstimate: 50 }],
    ['one-keyframe.mov', { width: 320, height: 240, fps: 30, frameCountEstimate: 90 }],
  ])('%s', async (name, expected) => {
    const facts = await probeVideo(fixture(name), name);
    expect(facts).toMatchObject({ pixelFormat: 'yuv420p', ...expected });
    expect(facts.durationSeconds).toBeGreaterThan(1);
    expect(facts.bytes).toBeGreaterThan(1000);
  });

  it('street-people (real footage): 1280x720, 50 fps, audio', async () => {
    const facts = await probeVideo(STREET_PEOPLE, 'street.avi');
    expect(facts).toMatchObject({ width: 1280, height: 720, fps: 50, fpsFraction: '50/1', codec: 'h264', hasAudio: true, frameCountEstimate: 205 });
  });

  it('reads a local file whose name looks like a URL or an option', async () => {
    ws = makeWorkspace('probe');
    const hostile = join(ws.root, '-i http:127.0.0.1:9 $(x).mp4');
    copyFileSync(fixture('small.mp4'), hostile);
    expect((await probeVideo(hostile, 'x')).frameCountEstimate).toBe(150);
  });
});

describe('probeVideo refuses bad media with a message naming the file', () => {
  it('empty file', () => expectInputError(fixture('empty.mp4'), /^Cannot probe "clip\.mp4": the file is empty$/));
  it('text named .mp4', () => expectInputError(fixture('text.mp4'), /^Cannot probe "clip\.mp4": not a video file \(Invalid data found when processing input\)$/));
  it('audio only', () => expectInputError(fixture('audio-only.mp4'), /^Cannot probe "clip\.mp4": no video stream found$/));
  // The first third of a file whose index (moov) is at the end: ffprobe says so at once.
  it('truncated mp4', () => expectInputError(fixture('truncated.mp4'), /^Cannot probe "clip\.mp4": not a video file \(Invalid data found when processing input\)$/));

  it('a PNG renamed .mp4', async () => {
    ws = makeWorkspace('probe');
    const png = join(ws.root, 'picture.mp4');
    const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', '-c:v', 'png', '-f', 'image2', png]);
    expect(r.status, String(r.stderr)).toBe(0);
    await expectInputError(png, /^Cannot probe "clip\.mp4": it is an image \(png\), not a video$/);
  });

  it('a directory', async () => {
    ws = makeWorkspace('probe');
    await expectInputError(ws.inbox, /^Cannot probe "clip\.mp4": it is not a regular file$/);
  });

  it('a concat script named .mp4 is refused without opening the file it lists', async () => {
    ws = makeWorkspace('probe');
    copyFileSync(fixture('small.mp4'), join(ws.root, 'listed.mp4'));
    const script = join(ws.root, 'script.mp4');
    writeFileSync(script, 'ffconcat version 1.0\nfile listed.mp4\n');
    // Without the demuxer allow-list ffprobe reports the listed video's streams here.
    await expectInputError(script, /^Cannot probe "clip\.mp4": its format "concat" is not accepted/);
  });

  it('playlists and concat scripts pointing at http:// are never fetched', async () => {
    ws = makeWorkspace('probe');
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/video.mp4`;
      // Named .m3u8 the HLS demuxer would take it and fetch the URL: refused by both allow-lists.
      for (const name of ['playlist.mp4', 'playlist.m3u8']) {
        const playlist = join(ws.root, name);
        writeFileSync(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n${url}\n#EXT-X-ENDLIST\n`);
        await expectInputError(playlist, /^Cannot probe "clip\.mp4": /);
      }
      const script = join(ws.root, 'remote.mp4');
      writeFileSync(script, `ffconcat version 1.0\nfile '${url}'\n`);
      await expectInputError(script, /^Cannot probe "clip\.mp4": /);
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('missing ffprobe', () => {
  it('FFPROBE_PATH pointing nowhere is an EnvironmentError naming the variable', async () => {
    const saved = process.env['FFPROBE_PATH'];
    process.env['FFPROBE_PATH'] = '/nonexistent/ffprobe';
    try {
      const error = await probeVideo(fixture('small.mp4'), 'clip.mp4').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EnvironmentError);
      expect((error as Error).message).toContain('FFPROBE_PATH="/nonexistent/ffprobe"');
    } finally {
      if (saved === undefined) delete process.env['FFPROBE_PATH'];
      else process.env['FFPROBE_PATH'] = saved;
    }
  });
});
