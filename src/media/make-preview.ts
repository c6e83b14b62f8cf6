/**
 * The job page's preview: the source as a video any browser plays (H.264 in MP4, yuv420p, fast
 * start: the index sits before the data, so playing and seeking start before the whole file has
 * arrived), its shorter side at most `size` pixels, with the first audio stream as AAC when there
 * is one. Every decoded frame is kept once, in display order, at its own time (`-fps_mode
 * passthrough`: a variable-frame-rate source stays variable) and rotation is applied, as in the
 * chunks, so the boxes of the output JSON (displayed pixels) fit it after scaling. No B-frames
 * (each frame is presented in the order it is stored) and a keyframe every 2 s keep seeking exact
 * and quick.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { countOwnMp4Packets } from './mp4-samples.ts';
import { runFfmpeg, runFfprobeLines } from './run-tools.ts';

/** What makePreview made. */
export interface PreviewFile {
  bytes: number;
  width: number;
  height: number;
  /** Video frames in the preview (one packet per frame: no B-frames). */
  frames: number;
  /**
   * Presentation time (s) of the preview's first video frame: the player adds it to a frame's
   * `time` (which counts from the first frame) to find that frame in the preview. Not always 0:
   * ffmpeg starts the output at the earliest stream, and audio may start before the video.
   */
  firstFrameTime: number;
}

/** Scale so the shorter side is at most `size` (never up), both sides even (4:2:0 needs it). */
function scaleFilter(size: number): string {
  const even = (side: string) => `trunc(min(${size},${side})/2)*2`;
  return `scale=w='if(gte(iw,ih),-2,${even('iw')})':h='if(gte(iw,ih),${even('ih')},-2)'`;
}

/** The first video stream's width, height and first frame time of an MP4 we wrote. */
async function readPreview(file: string): Promise<{ width: number; height: number; firstFrameTime: number }> {
  const lines: string[] = [];
  await runFfprobeLines(file, ['-select_streams', 'V:0', '-read_intervals', '%+#1', '-show_entries', 'stream=width,height:frame=best_effort_timestamp_time', '-of', 'csv=p=0'], (line) => {
    if (line.trim() !== '') lines.push(line.trim());
  });
  // ffprobe prints the frame section first, then the stream's "width,height".
  const size = lines.map((l) => /^(\d+),(\d+)/.exec(l)).find((m) => m !== null);
  const time = lines.map((l) => /^(-?\d+(?:\.\d+)?),?$/.exec(l)).find((m) => m !== null);
  if (!size || !time) throw new Error(`ffprobe could not read the preview it was given (${lines.join(' | ')})`);
  return { width: Number(size[1]), height: Number(size[2]), firstFrameTime: Number(time[1]) };
}

/**
 * Encode `input` (relative to `cwd`) into `output` (relative to `cwd`), written under a temporary
 * name and renamed once complete. `onFrame` gets ffmpeg's frame count as it goes.
 */
export async function makePreview(opts: { cwd: string; input: string; output: string; size: number; onFrame?: (frame: number) => void; signal?: AbortSignal }): Promise<PreviewFile> {
  if (!Number.isInteger(opts.size) || opts.size < 2) throw new TypeError(`makePreview: size must be an integer of at least 2, got ${opts.size}`);
  const temp = `${opts.output}.tmp-${process.pid}.mp4`;
  try {
    await runFfmpeg({
      cwd: opts.cwd,
      input: opts.input,
      output: temp,
      outputOptions: [
        '-map', '0:V:0', '-map', '0:a:0?', '-sn', '-dn', '-map_metadata', '-1', '-map_chapters', '-1',
        '-vf', scaleFilter(opts.size),
        '-fps_mode', 'passthrough',
        '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-profile:v', 'high',
        '-bf', '0', '-force_key_frames', 'expr:gte(t,n_forced*2)',
        '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
        '-movflags', '+faststart',
        '-f', 'mp4',
      ],
      onStderrLine: opts.onFrame
        ? (line) => {
            const m = /^frame=\s*(\d+)/.exec(line);
            if (m) opts.onFrame?.(Number(m[1]));
          }
        : undefined,
      signal: opts.signal,
    });
    const file = join(opts.cwd, temp);
    const facts = await readPreview(file);
    const frames = await countOwnMp4Packets(file);
    const bytes = (await stat(file)).size;
    await rename(file, join(opts.cwd, opts.output));
    return { bytes, frames, ...facts };
  } finally {
    await rm(join(opts.cwd, temp), { force: true });
  }
}
