import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_DIR, FIXTURE_RECIPES_VERSION } from './helpers/fixtures.ts';

/** Run ffmpeg with an argument array; fail loudly with its stderr. */
function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/**
 * Makes every fixture video once per recipe version, with real ffmpeg: one per failure mode.
 * Kept between runs under test-output/fixtures so a rerun does not pay for them again.
 */
export default function setup(): void {
  const stamp = join(FIXTURE_DIR, 'VERSION');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === FIXTURE_RECIPES_VERSION) return;
  rmSync(FIXTURE_DIR, { recursive: true, force: true });
  const tmp = `${FIXTURE_DIR}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const at = (name: string) => join(tmp, name);
  // 6 s, 25 fps, 320x240 H.264 with B-frames: 150 frames.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', at('small.mp4')]);
  // 3 s, one keyframe only, in a .mov: stream copy could not split it.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=3', '-c:v', 'libx264', '-g', '1000', '-pix_fmt', 'yuv420p', at('one-keyframe.mov')]);
  // Odd size (321x241), old codec, Matroska. testsrc2 rounds yuv sizes to even, so crop an RGB
  // picture; the white 2-px border makes the right/bottom edge visible next to any padding.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=322x242:rate=24:duration=2,format=rgb24,crop=321:241:0:0,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=2', '-c:v', 'mpeg4', '-pix_fmt', 'yuv420p', at('odd-size.mkv')]);
  // Variable frame rate: frames dropped at irregular times.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=4', '-vf', "select='not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,11)\\,5))'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', at('vfr.mp4')]);
  // Rotation metadata: displayed 240x320.
  ffmpeg(['-i', at('small.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', at('rotated.mp4')]);
  // A keyframe every 25 frames (1 s), closed GOPs with B-frames: chunks can be stream-copied.
  const everySecond = ['-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-bf', '3'];
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=8', '-c:v', 'libx264', ...everySecond, '-pix_fmt', 'yuv420p', at('keyframes-25.mp4')]);
  // The same keyframes but open GOPs: B-frames after a keyframe (decode order) shown before it.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=8', '-c:v', 'libx264', ...everySecond, '-x264-params', 'open-gop=1', '-pix_fmt', 'yuv420p', at('open-gop.mp4')]);
  // Copyable keyframes, but rotated: must still be re-encoded to come out upright.
  ffmpeg(['-i', at('keyframes-25.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', at('rotated-keyframes.mp4')]);
  // With an audio track, like most phone videos.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', at('with-audio.mp4')]);
  // Bad media: audio only, text, empty, truncated.
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', '-f', 'mp4', at('audio-only.mp4')]);
  writeFileSync(at('text.mp4'), 'this is not a video\n'.repeat(50));
  writeFileSync(at('empty.mp4'), '');
  const whole = readFileSync(at('small.mp4'));
  writeFileSync(at('truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 3)));
  // Headers claiming more than the input limits, a few KB each, so probing must refuse them from
  // the header alone. A YUV4MPEG2 header saying 15360x8640 (16K) before 4 KB of one frame's
  // 199 MB: ffprobe reports the size without a whole frame to decode (16384x16384 is beyond what
  // ffmpeg accepts at all).
  writeFileSync(at('huge-resolution.mp4'), Buffer.concat([Buffer.from('YUV4MPEG2 W15360 H8640 F25:1 Ip A1:1 C420jpeg\nFRAME\n'), Buffer.alloc(4096)]));
  // One second of 16x16 H.264 in Matroska whose segment Duration (ms, a double) is rewritten to 100 hours.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=16x16:rate=25:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', at('huge-duration.mkv')]);
  const mkv = readFileSync(at('huge-duration.mkv'));
  const duration = mkv.indexOf(Buffer.from([0x44, 0x89, 0x88]));
  if (duration < 0) throw new Error('huge-duration.mkv: no 8-byte Duration element to rewrite');
  mkv.writeDoubleBE(100 * 3600 * 1000, duration + 3);
  writeFileSync(at('huge-duration.mkv'), mkv);
  writeFileSync(join(tmp, 'VERSION'), FIXTURE_RECIPES_VERSION);
  renameSync(tmp, FIXTURE_DIR);
}
