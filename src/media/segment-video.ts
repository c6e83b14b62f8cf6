import { readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { PipelineError } from '../errors.ts';
import { countFrames } from './count-frames.ts';
import { countOwnMp4Packets } from './mp4-samples.ts';
import { cleanCutPoints, planChunks, type Packet } from './plan-cuts.ts';
import { runFfmpeg, runFfprobeLines, ToolFailure } from './run-tools.ts';

/** x264 preset: on 60 s of 720p50 (2 cores) ultrafast took 14 s, superfast 27-36 s, veryfast 43 s; ultrafast files are ~2.7x larger. */
export const SEGMENT_PRESET = 'ultrafast';
/** x264 output depends on its thread count: pin it so chunks are the same bytes on every machine. */
const ENCODER_THREADS = '8';
/**
 * Codecs whose packets are copied into chunks as they are: each muxes into .mp4 and decodes in
 * OpenCV's FFmpeg backend (the tracker's reader). Others (and anything that fails the checks) are
 * re-encoded to H.264.
 */
const COPY_CODECS: ReadonlySet<string> = new Set(['h264', 'hevc', 'mpeg4']);

/** How the chunks were made: packets copied (cut at the source's keyframes) or re-encoded. */
export type SegmentMethod = 'copy' | 'encode';

/** Options for cutting one video into chunks. */
export interface SegmentOptions {
  /** Working directory; `input` and `outDir` are relative to it. */
  cwd: string;
  input: string;
  /** Existing, empty folder that receives 0000.mp4, 0001.mp4, ... */
  outDir: string;
  framesPerChunk: number;
  /**
   * Try a stream copy first (default false: always re-encode). Pass true only when the source
   * needs no rotation: copied chunks keep the source's pictures as stored.
   */
  allowCopy?: boolean;
  /** Frames encoded (or, for a copy, verified) so far, from ffmpeg's stats (about twice a second). */
  onProgress?: (framesDone: number) => void;
  /** Aborting kills ffmpeg. */
  signal?: AbortSignal;
}

/** What segmenting needs to know about the source's first video stream. */
interface Source {
  codec: string;
  oddSize: boolean;
  /** Every packet, in decode order. */
  packets: Packet[];
  /** The stream's time base (seconds per pts tick) as a fraction, or null when ffprobe gave none. */
  timeBase: { num: number; den: number } | null;
}

function cannotRead(file: string, error: unknown): PipelineError {
  const why = error instanceof ToolFailure ? (error.stderr.trim().split('\n').at(-1) ?? error.message) : 'ffprobe reported no video stream';
  return new PipelineError('internal', `Cannot read "${basename(file)}" before segmenting it: ${why}`, { cause: error });
}

/** The key=value fields of one line of ffprobe's compact writer (`section|key=value|…`), after its section name. */
function compactFields(line: string): { section: string; fields: Map<string, string> } {
  const [section = '', ...parts] = line.trim().split('|');
  const fields = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return { section, fields };
}

/** Codec, coded size and the packet list (timestamps and flags), in one demux-only ffprobe pass. */
async function inspectInput(file: string): Promise<Source> {
  let stream: Map<string, string> | undefined;
  const packets: Packet[] = [];
  try {
    // Lines are "packet|pts=1024|flags=K_" (pts may be N/A; flags: K keyframe, D discard), then
    // one "stream|codec_name=h264|width=320|…". No free-text tags are asked for.
    await runFfprobeLines(file, ['-select_streams', 'V:0', '-show_entries', 'stream=codec_name,width,height,time_base:packet=pts,flags', '-of', 'compact=p=1:nk=0'], (line) => {
      const { section, fields } = compactFields(line);
      if (section === 'packet') {
        const pts = fields.get('pts') ?? '';
        const flags = fields.get('flags') ?? '';
        const value = /^-?\d+$/.test(pts) ? Number(pts) : null;
        packets.push({ pts: Number.isSafeInteger(value) ? value : null, keyframe: flags.includes('K'), discard: flags.includes('D') });
      } else if (section === 'stream') stream ??= fields;
    });
  } catch (error) {
    if (!(error instanceof ToolFailure)) throw error;
    throw cannotRead(file, error);
  }
  if (!stream) throw cannotRead(file, null);
  const [width, height] = ['width', 'height'].map((key) => Number(stream!.get(key) ?? NaN));
  if (!Number.isInteger(width) || !Number.isInteger(height)) throw cannotRead(file, null);
  const tb = /^(\d+)\/(\d+)$/.exec(stream.get('time_base') ?? '');
  const timeBase = tb && Number(tb[1]) > 0 && Number(tb[2]) > 0 ? { num: Number(tb[1]), den: Number(tb[2]) } : null;
  return { codec: stream.get('codec_name') ?? 'unknown', oddSize: width! % 2 === 1 || height! % 2 === 1, packets, timeBase };
}

/**
 * Every frame's presentation time in seconds, as the source stores it, in display order: the
 * frames the decoder gives are the shown packets (edit-list discards are never output), each with
 * its packet's pts, so sorting those pts gives them without decoding. When that cannot be trusted
 * (a packet without pts, or as many shown packets as decoded frames fails), one decode of the
 * source reads each frame's best-effort timestamp instead; null when even that does not give
 * `total` times (the output then says time = index / fps).
 */
async function presentationTimes(file: string, source: Source, total: number): Promise<number[] | null> {
  const shown = source.packets.filter((p) => !p.discard);
  const tb = source.timeBase;
  if (tb && shown.length === total && shown.every((p) => p.pts !== null)) {
    return shown.map((p) => p.pts!).sort((a, b) => a - b).map((pts) => (pts * tb.num) / tb.den);
  }
  const times: number[] = [];
  try {
    await runFfprobeLines(file, ['-select_streams', 'V:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0'], (line) => {
      const field = line.trim().split(',')[0] ?? '';
      if (field !== '') times.push(/^-?\d+(\.\d+)?$/.test(field) ? Number(field) : NaN);
    });
  } catch (error) {
    if (!(error instanceof ToolFailure)) throw error;
    return null;
  }
  return times.length === total && times.every((t) => Number.isFinite(t)) ? times : null;
}

/** The segment files in `outDir`, in order. */
async function listSegments(opts: SegmentOptions): Promise<string[]> {
  return (await readdir(resolve(opts.cwd, opts.outDir)))
    .filter((name) => /^\d{4,}\.mp4$/.test(name))
    .sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${opts.outDir}/${name}`);
}

/** Empty `outDir` again (it was empty before we wrote into it). */
async function discardSegments(opts: SegmentOptions): Promise<void> {
  const dir = resolve(opts.cwd, opts.outDir);
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

/** Decoded frame count of every file, a few decoders at a time (each file is one ffprobe). */
async function countAll(opts: SegmentOptions, files: readonly string[], onCounted: (count: number) => void): Promise<number[]> {
  const cores = Math.max(1, availableParallelism());
  const workers = Math.min(cores, files.length);
  // Separate processes use the cores better than frame threads in one decoder (2.9 s vs 4.0 s for
  // 60 s of 720p50 on 2 cores); one file left alone gets all the threads.
  const threads = Math.max(1, Math.floor(cores / workers));
  const counts = new Array<number>(files.length).fill(-1);
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('segmenting aborted');
      counts[i] = await countFrames(resolve(opts.cwd, files[i]!), { threads });
      onCounted(counts[i]!);
    }
  };
  await Promise.all(Array.from({ length: workers }, work));
  return counts;
}

/** Chunks hold the first real video stream only (never cover art): no audio, subtitles, data or metadata. */
const VIDEO_STREAM_ONLY = ['-map', '0:V:0', '-an', '-sn', '-dn', '-map_metadata', '-1', '-map_chapters', '-1'];

/**
 * Copy the source's packets into chunks of `counts` frames, cutting at clean keyframes, then
 * decode every chunk: each must give exactly its planned count. Null (and `outDir` emptied) when
 * ffmpeg fails or any count differs: the caller re-encodes instead.
 */
async function copySegments(opts: SegmentOptions, counts: readonly number[]): Promise<string[] | null> {
  const cuts: number[] = [];
  for (const count of counts.slice(0, -1)) cuts.push((cuts.at(-1) ?? 0) + count);
  const total = counts.reduce((a, b) => a + b, 0);
  try {
    await runFfmpeg({
      cwd: opts.cwd,
      input: opts.input,
      output: `${opts.outDir}/%04d.mp4`,
      outputOptions: [
        ...VIDEO_STREAM_ONLY,
        '-c', 'copy', '-fflags', '+bitexact',
        // The segment muxer splits at the first keyframe at or after each packet index: our cuts
        // are keyframes. With no cut, one split past the end keeps its 2 s default from applying.
        '-f', 'segment', '-segment_format', 'mp4', '-segment_frames', (cuts.length > 0 ? cuts : [total + 1]).join(','), '-reset_timestamps', '1',
      ],
      signal: opts.signal,
    });
    const files = await listSegments(opts);
    if (files.length === counts.length) {
      let done = 0;
      const decoded = await countAll(opts, files, (count) => opts.onProgress?.((done += count)));
      if (decoded.every((count, i) => count === counts[i])) return files;
    }
  } catch (error) {
    // ffmpeg refused or a chunk would not decode: re-encode. An abort or a missing tool is no
    // reason to try again.
    const unusable = error instanceof ToolFailure || (error instanceof PipelineError && error.kind === 'internal');
    if (!unusable || opts.signal?.aborted) {
      await discardSegments(opts);
      throw error;
    }
  }
  await discardSegments(opts);
  return null;
}

/**
 * Cut a video into chunks of about `framesPerChunk` decoded frames, stream copy when that is
 * exact, else one re-encode. Every chunk is a lower-case .mp4 with the first video stream only
 * (audio, subtitles, data dropped); `frameCounts` are the chunks' exact decoded frame counts.
 *
 * Copy (`allowCopy`, codec in COPY_CODECS): chunks start at the source's own clean keyframes
 * (planChunks: none over 1.5x the target) and are checked by decoding each one; ~10x cheaper than
 * encoding, and the pictures are the source's own.
 *
 * Encode (everything else): copying can only cut at existing keyframes (a file with one keyframe
 * is never split, so GPU memory would not be bounded by chunk length). One re-encode gives exact,
 * uniform chunks of `framesPerChunk` frames (the last may be shorter) that each start on a
 * keyframe and that any tracker can read: yuv420p H.264, every decoded frame kept
 * (`-fps_mode passthrough`: no duplicates, no drops), rotation applied (ffmpeg's default
 * autorotate) so chunks are upright, odd sizes padded right/bottom to even so pixel coordinates
 * are unchanged.
 *
 * Same input gives the same bytes either way. `frameTimes` is every frame's presentation time in
 * the source (seconds, display order, the same frames as the chunks'), or null when it cannot be read.
 */
export async function segmentVideo(opts: SegmentOptions): Promise<{ method: SegmentMethod; files: string[]; frameCounts: number[]; frameTimes: number[] | null }> {
  const n = opts.framesPerChunk;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`segmentVideo: framesPerChunk must be a positive integer, got ${n}`);
  if (opts.outDir.includes('%')) throw new TypeError(`segmentVideo: outDir must not contain "%": ${opts.outDir}`);

  const source = await inspectInput(resolve(opts.cwd, opts.input));
  if (opts.allowCopy && COPY_CODECS.has(source.codec)) {
    const points = cleanCutPoints(source.packets);
    const counts = points && planChunks(source.packets.length, points, n);
    const files = counts && (await copySegments(opts, counts));
    if (counts && files) return { method: 'copy', files, frameCounts: counts, frameTimes: await presentationTimes(resolve(opts.cwd, opts.input), source, sum(counts)) };
  }
  const files = await encodeSegments(opts, source);
  // Our H.264 chunks have one packet per frame without drops: their MP4 index counts the frames
  // (the tests check it against decoded counts).
  const frameCounts: number[] = [];
  for (const file of files) frameCounts.push(await countOwnMp4Packets(resolve(opts.cwd, file)));
  // Re-encoding keeps every decoded frame (passthrough), in display order: the source's times are the chunks' frames' times.
  return { method: 'encode', files, frameCounts, frameTimes: await presentationTimes(resolve(opts.cwd, opts.input), source, sum(frameCounts)) };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** The re-encode: ONE ffmpeg pass with keyframes forced at every multiple of framesPerChunk. */
async function encodeSegments(opts: SegmentOptions, source: Source): Promise<string[]> {
  const n = opts.framesPerChunk;
  // The segment muxer needs the list of split frames up front: cover the whole video generously
  // (packets ~ frames; surplus split points past the end are harmless).
  const splits: number[] = [];
  for (let at = n; at <= source.packets.length + 2 * n + 16; at += n) splits.push(at);
  // pad on an odd-sized 4:2:0 picture copies only the even part (the last column/row turns
  // black): pad in 4:4:4, then convert to yuv420p.
  const pad = 'pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0';

  await runFfmpeg({
    cwd: opts.cwd,
    input: opts.input,
    output: `${opts.outDir}/%04d.mp4`,
    outputOptions: [
      ...VIDEO_STREAM_ONLY,
      '-vf', source.oddSize ? `format=yuv444p,${pad}` : pad,
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
  return listSegments(opts);
}
