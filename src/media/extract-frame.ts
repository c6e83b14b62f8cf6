/**
 * One frame of a video as a small JPEG, for the status page's thumbnails.
 *
 * This uses runFfmpegToBuffer rather than runFfmpeg, for two things runFfmpeg cannot do: an input
 * option (`-ss` before `-i` seeks to the keyframe before the time and decodes from there; the same
 * option after `-i` decodes the whole video up to it, minutes for a frame near the end of a long
 * one) and handing the picture back on stdout.
 */
import { resolve } from 'node:path';
import { runFfmpegToBuffer, SAFE_INPUT_OPTIONS, ToolFailure } from './run-tools.ts';

/** What to extract. */
export interface FrameRequest {
  /** The video; a relative path is resolved, so no name is ever read as an option or a protocol. */
  source: string;
  /** Frame index (0-based, in display order) of a constant-frame-rate video. */
  frameIndex: number;
  /** The video's frames per second: without sourceTime, the frame is looked up at frameIndex / fps. */
  fps: number;
  /**
   * The frame's presentation time as the source stores it (the output's sourceTime): the frame is
   * looked up by this timestamp, exact for variable frame rates and late-starting streams.
   */
  sourceTime?: number;
  /** Width of the JPEG in pixels; the height keeps the displayed aspect. */
  width: number;
}

/** A 320 px JPEG is ~20 KB: anything near this is not a thumbnail. */
const MAX_JPEG_BYTES = 16 << 20;

/**
 * The JPEG of frame `frameIndex` as displayed (ffmpeg's default autorotation applied, so it matches
 * boxes given in displayed pixels), `width` pixels wide. Seeks accurately: to the keyframe before,
 * then decodes and drops every frame shown before (frameIndex - 1/2) / fps; half a frame early, so
 * that rounding the time can never skip the frame asked for. A variable-frame-rate video gives the
 * frame shown at that time, which may not be the frameIndex-th, unless `sourceTime` is given: then
 * ffmpeg seeks to that very timestamp (`-seek_timestamp`: not offset by the file's start), half a
 * millisecond early (times are exact to the microsecond), and gives that frame. Rejects with ToolFailure when ffmpeg
 * fails or yields no picture (a frame past the end), EnvironmentError when ffmpeg cannot start.
 */
export async function extractFrameJpeg(request: FrameRequest): Promise<Buffer> {
  const { frameIndex, fps, width } = request;
  if (!Number.isSafeInteger(frameIndex) || frameIndex < 0) throw new TypeError(`extractFrameJpeg: frameIndex must be a non-negative integer, got ${frameIndex}`);
  if (!Number.isFinite(fps) || fps <= 0) throw new TypeError(`extractFrameJpeg: fps must be a positive number, got ${fps}`);
  if (!Number.isSafeInteger(width) || width < 1 || width > 4096) throw new TypeError(`extractFrameJpeg: width must be an integer in 1..4096, got ${width}`);
  const exact = request.sourceTime !== undefined && Number.isFinite(request.sourceTime);
  const seconds = exact ? request.sourceTime! - 0.0005 : Math.max(0, (frameIndex - 0.5) / fps);
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    ...(exact ? ['-seek_timestamp', '1'] : []),
    '-ss', seconds.toFixed(6), ...SAFE_INPUT_OPTIONS, '-i', resolve(request.source),
    // V:0: the first video stream that is not a cover image, the one the pipeline tracked.
    '-map', '0:V:0', '-an', '-sn', '-dn', '-map_metadata', '-1',
    '-vf', `scale=${width}:-1`, '-frames:v', '1', '-q:v', '4',
    '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1',
  ];
  const jpeg = await runFfmpegToBuffer(args, MAX_JPEG_BYTES);
  if (jpeg.length === 0) throw new ToolFailure(`ffmpeg gave no picture for frame ${frameIndex} (at ${seconds.toFixed(3)} s): past the end of the video?`, '');
  return jpeg;
}
