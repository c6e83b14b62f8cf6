import { stat } from 'node:fs/promises';
import { InputError, PipelineError } from '../errors.ts';
import { runFfprobe, ToolFailure, type ProbeSection } from './run-tools.ts';

/** What posepipe needs to know about a video before cutting it. */
export interface VideoFacts {
  /** Width as displayed: rotation applied. */
  width: number;
  /** Height as displayed: rotation applied. */
  height: number;
  /** Display rotation in degrees as ffprobe reports it, normalised to 0, 90, 180 or 270 (applied when decoding). */
  rotation: number;
  /** Average frames per second, > 0. */
  fps: number;
  /** The same rate as ffprobe states it, e.g. "30000/1001". */
  fpsFraction: string;
  /** Container or stream duration; 0 when neither is known. */
  durationSeconds: number;
  codec: string;
  pixelFormat: string;
  /** nb_frames, or duration * fps; not exact (count by decoding where it matters). */
  frameCountEstimate: number | null;
  hasAudio: boolean;
  formatName: string;
  bytes: number;
}

// Only what we read: no free-text tags (see run-tools.ts on fluent-ffmpeg's line parser).
const ENTRIES = [
  'stream=index,codec_type,codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,duration,nb_frames',
  'stream_disposition=attached_pic',
  'stream_tags=rotate',
  'stream_side_data=rotation',
  'format=format_name,duration',
  'format_tags=rotate',
].join(':');

const IMAGE_FORMATS = /^(image2|image2pipe|[a-z0-9]+_pipe)$/;

function num(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '' && value !== 'N/A') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' && value !== 'N/A' ? value : null;
}

/** "30000/1001" -> { fps: 29.97, fraction }; null for "0/0", "N/A" and the like. */
function rate(value: unknown): { fps: number; fraction: string } | null {
  const s = typeof value === 'number' ? `${value}/1` : text(value);
  const m = s?.match(/^(\d+)\/(\d+)$/);
  if (!m || !s) return null;
  const fps = Number(m[1]) / Number(m[2]);
  return Number.isFinite(fps) && fps > 0 ? { fps, fraction: s } : null;
}

function isAttachedPicture(stream: ProbeSection): boolean {
  const disposition = stream['disposition'] as Record<string, unknown> | undefined;
  return num(disposition?.['attached_pic']) === 1;
}

/** The first meaningful line of ffprobe's complaint, with the internal path replaced by the display name. */
function reason(stderr: string, file: string, displayName: string): string {
  const lines = stderr.split(/\r\n|\r|\n/).map((l) => l.trim()).filter((l) => l !== '');
  const whitelisted = lines.map((l) => l.match(/^\[(\S+) @ [^\]]*\] Format not on whitelist/)).find((m) => m);
  if (whitelisted) return `its format "${whitelisted[1]}" is not accepted (playlists, concat scripts and other files that point to further files are never followed)`;
  const last = lines.at(-1) ?? 'ffprobe could not read it';
  const stripped = last.startsWith(`${file}: `) ? last.slice(file.length + 2) : last.replace(/^\[[^\]]*\]\s*/, '');
  return `not a video file (${stripped.split(file).join(displayName)})`;
}

/**
 * Read a local video's facts with ffprobe (local files only, allowed demuxers only); every way a
 * file can be unusable is an InputError whose message names `displayName`, never the internal path.
 */
export async function probeVideo(file: string, displayName: string): Promise<VideoFacts> {
  const fail = (what: string): InputError => new InputError(`Cannot probe "${displayName}": ${what}`);
  let bytes: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw fail('it is not a regular file');
    bytes = info.size;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new PipelineError('internal', `Cannot probe "${displayName}": the staged file is missing (${(error as Error).message})`, { cause: error });
  }
  if (bytes === 0) throw fail('the file is empty');

  let data;
  try {
    data = await runFfprobe(file, ['-show_entries', ENTRIES]);
  } catch (error) {
    if (error instanceof ToolFailure) throw new InputError(`Cannot probe "${displayName}": ${reason(error.stderr, file, displayName)}`, { cause: error });
    throw error;
  }
  const formatName = text(data.format['format_name']) ?? 'unknown';
  if (IMAGE_FORMATS.test(formatName)) throw fail(`it is an image (${formatName.replace(/_pipe$/, '')}), not a video`);
  const videos = data.streams.filter((s) => s['codec_type'] === 'video');
  const video = videos.find((s) => !isAttachedPicture(s));
  if (!video) throw fail(videos.length > 0 ? 'no video stream found (only a cover image)' : 'no video stream found');

  const codec = text(video['codec_name']) ?? 'unknown';
  const pixelFormat = text(video['pix_fmt']);
  if (!pixelFormat || pixelFormat === 'unknown') throw fail(`its video codec "${codec}" cannot be decoded here`);
  const codedWidth = num(video['width']) ?? 0;
  const codedHeight = num(video['height']) ?? 0;
  if (codedWidth <= 0 || codedHeight <= 0) throw fail('the frame size is unknown or zero');
  const frameRate = rate(video['avg_frame_rate']) ?? rate(video['r_frame_rate']);
  if (!frameRate) throw fail('the frame rate is unknown or zero');

  // fluent-ffmpeg merges the display-matrix side data's `rotation` key into the stream; older
  // files may carry a "rotate" tag instead. Either way ffmpeg's autorotate applies it when decoding.
  const rawRotation = num(video['rotation']) ?? num((video['tags'] as Record<string, unknown> | undefined)?.['rotate']) ?? 0;
  const rotation = (((Math.round(rawRotation / 90) * 90) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;

  const durationSeconds = num(data.format['duration']) ?? num(video['duration']) ?? 0;
  const nbFrames = num(video['nb_frames']);
  const frameCountEstimate = nbFrames !== null && nbFrames > 0 ? nbFrames : durationSeconds > 0 ? Math.round(durationSeconds * frameRate.fps) : null;
  return {
    width: swap ? codedHeight : codedWidth,
    height: swap ? codedWidth : codedHeight,
    rotation,
    fps: frameRate.fps,
    fpsFraction: frameRate.fraction,
    durationSeconds,
    codec,
    pixelFormat,
    frameCountEstimate,
    hasAudio: data.streams.some((s) => s['codec_type'] === 'audio'),
    formatName,
    bytes,
  };
}
