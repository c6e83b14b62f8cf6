/**
 * Counting an MP4's video samples from its index (src/media/mp4-samples.ts) gives what ffprobe's
 * packet count gives, on files real ffmpeg wrote in every layout it writes; where the index cannot
 * say (fragmented, truncated, not an MP4), it says nothing and ffprobe answers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countPackets } from '../../src/media/index.ts';
import { countOwnMp4Packets, mp4SampleCount } from '../../src/media/mp4-samples.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace } from '../helpers/workspace.ts';

const ws = makeWorkspace('mp4-samples');
afterAll(() => ws.cleanup());

/** `small.mp4` stream-copied into `name` with extra output options. */
function remux(name: string, options: string[]): string {
  const out = join(ws.root, name);
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', fixture('small.mp4'), '-c', 'copy', ...options, out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return out;
}

describe('the video sample count from the MP4 index', () => {
  it('equals ffprobe\'s packet count: index at the end or the start, audio before video, variable rate, rotated', async () => {
    const files = [
      fixture('small.mp4'),
      fixture('vfr.mp4'),
      fixture('rotated.mp4'),
      fixture('with-audio.mp4'),
      remux('faststart.mp4', ['-movflags', '+faststart']),
      // The audio track first: the count must come from the track whose handler is video.
      (() => {
        const out = join(ws.root, 'audio-first.mp4');
        const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', fixture('with-audio.mp4'), '-map', '0:a', '-map', '0:v', '-c', 'copy', out], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        return out;
      })(),
    ];
    for (const file of files) {
      const packets = await countPackets(file);
      expect(packets, file).toBeGreaterThan(0);
      expect(await mp4SampleCount(file), file).toBe(packets);
    }
  });

  it('reads a box with a 64-bit size', async () => {
    // A `free` box in the long form (size 1, then the 64-bit size: 24 bytes) ahead of the file's own boxes.
    const long = Buffer.alloc(24);
    long.writeUInt32BE(1, 0);
    long.write('free', 4, 'latin1');
    long.writeBigUInt64BE(24n, 8);
    const file = join(ws.root, 'long-box.mp4');
    writeFileSync(file, Buffer.concat([long, readFileSync(fixture('small.mp4'))]));
    expect(await mp4SampleCount(file)).toBe(150);
  });

  it('says nothing for a fragmented, a truncated or a non-MP4 file; ffprobe answers instead, or fails as before', async () => {
    const fragmented = remux('fragmented.mp4', ['-movflags', '+frag_keyframe+empty_moov']);
    expect(await mp4SampleCount(fragmented)).toBeUndefined();
    expect(await countOwnMp4Packets(fragmented)).toBe(await countPackets(fragmented));
    expect(await countOwnMp4Packets(fragmented)).toBe(150);
    expect(await mp4SampleCount(fixture('truncated.mp4'))).toBeUndefined();
    await expect(countOwnMp4Packets(fixture('truncated.mp4'))).rejects.toThrow(/truncated\.mp4/);
    expect(await mp4SampleCount(fixture('text.mp4'))).toBeUndefined();
    expect(await mp4SampleCount(fixture('empty.mp4'))).toBeUndefined();
    // A box claiming more bytes than the file has.
    const lying = join(ws.root, 'lying.mp4');
    const bytes = Buffer.from(readFileSync(fixture('small.mp4')));
    bytes.writeUInt32BE(0x7fffffff, 0);
    writeFileSync(lying, bytes);
    expect(await mp4SampleCount(lying)).toBeUndefined();
  });
});
