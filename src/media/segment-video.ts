import { readdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PipelineError } from '../errors.ts';
import { runFfmpeg, runFfprobe, ToolFailure } from './run-tools.ts';

/** x264 preset: on 60 s of 720p50 (2 cores) ultrafast took 14 s, superfast 27-36 s, veryfast 43 s; ultrafast files are ~2.7x larger. */
export const SEGMENT_PRESET = 'ultrafast';
/** x264 output depends on its thread count: pin it so chunks are the same bytes on every machine. */
const ENCODER_THREADS = '8';

/** Options for cutting one video into chunks. */
export interface SegmentOptions {
  /** Working directory; `input` and `outDir` are relative to it. */
  cwd: string;
  input: string;
  /** Existing, empty folder that receives 0000.mp4, 0001.mp4, ... */
  outDir: string;
  framesPerChunk: number;
  /** Frames encoded so far, from ffmpeg's stats (about twice a second). */
  onProgress?: (framesDone: number) => void;
  /** Aborting kills ffmpeg. */
  signal?: AbortSignal;
}

/** Packet count and whether the coded size is odd, in one demux-only ffprobe pass. */
async function inspectInput(file: string): Promise<{ packets: number; oddSize: boolean }> {
  let data;
  try {
    data = await runFfprobe(file, ['-select_streams', 'V:0', '-count_packets', '-show_entries', 'stream=nb_read_packets,width,height']);
  } catch (error) {
    if (!(error instanceof ToolFailure)) throw error;
    throw new PipelineError('internal', `Cannot read "${basename(file)}" before segmenting it: ${error.stderr.trim().split('\n').at(-1) ?? error.message}`, { cause: error });
  }
  const stream = data.streams[0] ?? {};
  const [packets, width, height] = ['nb_read_packets', 'width', 'height'].map((key) => Number(stream[key]));
  if (!Number.isInteger(packets) || !Number.isInteger(width) || !Number.isInteger(height)) {
    throw new PipelineError('internal', `Cannot read "${basename(file)}" before segmenting it: ffprobe reported no video stream`);
  }
  return { packets: packets!, oddSize: width! % 2 === 1 || height! % 2 === 1 };
}

/**
 * Cut a video into H.264 chunks of exactly `framesPerChunk` decoded frames (the last may be
 * shorter), in ONE ffmpeg pass.
 *
 * Why re-encode instead of stream copy: copying can only cut at the source's existing keyframes
 * (a file with one keyframe is never split, so GPU memory would not be bounded by chunk length,
 * and x264's default GOP gives uneven chunks). One re-encode gives exact, uniform chunks that each
 * start on a keyframe and that any tracker can read: yuv420p H.264 in lower-case .mp4, every
 * decoded frame kept (`-fps_mode passthrough`: no duplicates, no drops), rotation applied (ffmpeg's
 * default autorotate) so chunks are upright, odd sizes padded right/bottom to even so pixel
 * coordinates are unchanged, audio/subtitles/data dropped. Same input gives the same bytes.
 */
export async function segmentVideo(opts: SegmentOptions): Promise<{ files: string[] }> {
  const n = opts.framesPerChunk;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`segmentVideo: framesPerChunk must be a positive integer, got ${n}`);
  if (opts.outDir.includes('%')) throw new TypeError(`segmentVideo: outDir must not contain "%": ${opts.outDir}`);

  // The segment muxer needs the list of split frames up front: cover the whole video generously
  // (packets ~ frames; surplus split points past the end are harmless).
  const { packets, oddSize } = await inspectInput(resolve(opts.cwd, opts.input));
  const splits: number[] = [];
  for (let at = n; at <= packets + 2 * n + 16; at += n) splits.push(at);
  // pad on an odd-sized 4:2:0 picture copies only the even part (the last column/row turns
  // black): pad in 4:4:4, then convert to yuv420p.
  const pad = 'pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0';

  await runFfmpeg({
    cwd: opts.cwd,
    input: opts.input,
    output: `${opts.outDir}/%04d.mp4`,
    outputOptions: [
      '-map', '0:V:0', '-an', '-sn', '-dn', '-map_metadata', '-1', '-map_chapters', '-1',
      '-vf', oddSize ? `format=yuv444p,${pad}` : pad,
      '-fps_mode', 'passthrough',
      '-c:v', 'libx264', '-preset', SEGMENT_PRESET, '-crf', '18', '-pix_fmt', 'yuv420p',
      '-threads', ENCODER_THREADS,
      '-force_key_frames', `expr:eq(mod(n,${n}),0)`,
      '-fflags', '+bitexact', '-flags:v', '+bitexact',
      '-f', 'segment', '-segment_format', 'mp4', '-segment_frames', splits.join(','), '-reset_timestamps', '1',
    ],
    onStderrLine: opts.onProgress
      ? (line) => {
          const m = line.match(/^frame=\s*(\d+)/);
          if (m) opts.onProgress?.(Number(m[1]));
        }
      : undefined,
    signal: opts.signal,
  });

  const files = (await readdir(resolve(opts.cwd, opts.outDir)))
    .filter((name) => /^\d{4,}\.mp4$/.test(name))
    .sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${opts.outDir}/${name}`);
  return { files };
}
