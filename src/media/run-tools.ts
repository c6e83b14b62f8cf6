/**
 * The one module that runs ffmpeg and ffprobe. Everything else in posepipe calls the typed helpers
 * in this folder, so fluent-ffmpeg (archived, deprecated), which runs the probes of headers, can be
 * replaced here alone.
 *
 * fluent-ffmpeg behaviours this module works around (read in its lib/ sources, v2.1.3):
 * - `inputOptions(array)` / `outputOptions(array)` split any item containing exactly one space
 *   into two arguments; passing the items as separate arguments (`...items`, two or more) does not.
 * - Its `ffprobe()` spawns without `cwd`, always adds `-show_streams -show_format`, and parses the
 *   default text writer line by line: a multi-line tag value could inject `key=value` lines, so we
 *   ask only for the entries we read (`-show_entries`, no free-text tags).
 * - Adding a `progress` listener makes it run an extra, unrestricted ffprobe of the first input
 *   without `cwd`: we read ffmpeg's `frame=` stats lines from the `stderr` event instead.
 * - `setFfmpegPath` / `setFfprobePath` write a process-wide cache, and FFMPEG_PATH / FFPROBE_PATH
 *   that point nowhere silently fall back to PATH: we resolve the paths ourselves on every call.
 * - Its `ffprobe()` drops the packets and frames sections: `runFfprobeLines` spawns ffprobe itself
 *   (argument array, no shell) and hands over its output line by line.
 * - Its `run()` first runs `ffmpeg -formats` and `ffmpeg -encoders` in every new process (two
 *   processes, ~0.5 s of CPU, for a check `posepipe doctor` makes once): `runFfmpeg` spawns ffmpeg
 *   itself too.
 *
 * Every ffmpeg and every decoding ffprobe runs at niceness CPU_STEP_NICENESS: the CPU steps (chunking,
 * counting frames, thumbnails) run beside the tracker slots and must not slow the processes that feed
 * the GPUs (every spawn here calls setPriority on the new process).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { EnvironmentError, PipelineError } from '../errors.ts';

/**
 * Demuxers ffmpeg/ffprobe may use on our inputs. An allow-list, because some demuxers open further
 * files named inside the input (concat scripts, playlists, manifests): those are refused before
 * anything listed in them is opened. Images and audio-only containers are allowed so that probing
 * can say what the file is instead of "not accepted".
 */
export const ALLOWED_DEMUXERS = [
  // video containers and raw video streams
  'mov', 'matroska', 'webm', 'avi', 'flv', 'mpegts', 'mpeg', 'mpegvideo', 'asf', 'ogg', 'mxf', 'nut',
  'dv', 'rm', 'wtv', 'nuv', 'ivf', 'obu', 'h264', 'hevc', 'm4v', 'vc1', 'mjpeg', 'gif', 'apng',
  'yuv4mpegpipe', 'flic', 'smk', 'bink', 'cavsvideo', 'dirac', 'h261', 'h263',
  // audio-only containers (rejected later with "no video stream found")
  'aac', 'mp3', 'wav', 'flac', 'ac3', 'eac3', 'aiff', 'caf', 'w64', 'amr',
  // still images (rejected later with "is an image, not a video")
  'image2', 'png_pipe', 'jpeg_pipe', 'webp_pipe', 'bmp_pipe', 'tiff_pipe', 'gif_pipe', 'jpegls_pipe',
  'j2k_pipe', 'ppm_pipe', 'pgm_pipe', 'pbm_pipe', 'psd_pipe', 'svg_pipe', 'qoi_pipe', 'dpx_pipe',
  'exr_pipe', 'xwd_pipe', 'pcx_pipe', 'sgi_pipe', 'sunrast_pipe', 'pictor_pipe', 'xpm_pipe',
] as const;

/** Input options that keep ffmpeg/ffprobe on local files and on the allowed demuxers. */
export const SAFE_INPUT_OPTIONS: readonly string[] = Object.freeze([
  '-protocol_whitelist', 'file',
  '-format_whitelist', ALLOWED_DEMUXERS.join(','),
]);

/** ffmpeg or ffprobe ran and exited non-zero; `stderr` is its error output. */
export class ToolFailure extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = 'ToolFailure';
    this.stderr = stderr;
  }
}

/** One section of ffprobe's output as fluent-ffmpeg parses it (numbers where they look numeric). */
export type ProbeSection = Record<string, unknown>;

/** ffprobe's streams and format sections. */
export interface ProbeData {
  streams: ProbeSection[];
  format: ProbeSection;
}

type Tool = 'ffmpeg' | 'ffprobe';

/** How much lower than posepipe (and its trackers) ffmpeg and ffprobe run: they yield the CPU to the slots. */
export const CPU_STEP_NICENESS = 10;

/** Lower a just-spawned tool's priority; a process that is already gone needs none. */
function yieldToTrackers(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    // Relative to our own, as `nice -n` is.
    setPriority(child.pid, Math.min(19, getPriority() + CPU_STEP_NICENESS));
  } catch {
    // exited already, or not allowed: it runs at our priority
  }
}

/** FFMPEG_PATH / FFPROBE_PATH when set (read at call time so tests and config can set them), else PATH. */
function toolPath(tool: Tool): { path: string; from: string } {
  const variable = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const configured = process.env[variable];
  return configured ? { path: configured, from: variable } : { path: tool, from: 'PATH' };
}

/**
 * The tool's executable, checked before spawning: fluent-ffmpeg's run() throws an uncaught
 * TypeError (and never settles) when spawning ffmpeg fails with ENOENT.
 */
export async function findTool(tool: Tool): Promise<string> {
  const { path, from } = toolPath(tool);
  const candidates = from === 'PATH' ? (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, tool)) : [path];
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  const where = from === 'PATH' ? `"${tool}" was not found on PATH` : `${from}="${path}" does not exist or is not executable`;
  throw new EnvironmentError(`${tool} is not available: ${where}. Install ffmpeg or set ${tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'}; run posepipe doctor`);
}

function missingTool(tool: Tool, cause: unknown): EnvironmentError {
  return new EnvironmentError(`${tool} could not be started (${(cause as Error)?.message}); run posepipe doctor`, { cause });
}

function isSpawnFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'EACCES' || /Cannot find ff(mpeg|probe)/.test(String((error as Error)?.message));
}

/**
 * Run ffprobe on one local file (absolute path: fluent-ffmpeg spawns ffprobe without `cwd`) with
 * the safe input options plus `args`; rejects with ToolFailure (stderr attached) on a non-zero exit.
 */
export async function runFfprobe(file: string, args: readonly string[]): Promise<ProbeData> {
  const command = ffmpeg(file).setFfprobePath(await findTool('ffprobe'));
  return new Promise((resolve, reject) => {
    let settled = false;
    command.ffprobe(['-v', 'error', ...SAFE_INPUT_OPTIONS, ...args], (error: unknown, data: ffmpeg.FfprobeData) => {
      if (settled) return;
      settled = true;
      if (!error) {
        resolve({ streams: (data.streams ?? []) as unknown as ProbeSection[], format: (data.format ?? {}) as ProbeSection });
      } else if (isSpawnFailure(error)) {
        reject(missingTool('ffprobe', error));
      } else {
        // fluent-ffmpeg appends stderr to "ffprobe exited with code N\n".
        const message = error instanceof Error ? error.message : String(error);
        const newline = message.indexOf('\n');
        reject(new ToolFailure(newline < 0 ? message : message.slice(0, newline), newline < 0 ? '' : message.slice(newline + 1)));
      }
    });
  });
}

/**
 * Run ffprobe on one local file with the safe input options plus `args` (which choose the output,
 * e.g. `-of csv=p=0`) without fluent-ffmpeg, passing each stdout line to `onLine` as it arrives
 * (packet lists can be long); rejects with ToolFailure (stderr tail attached) on a non-zero exit.
 */
export async function runFfprobeLines(file: string, args: readonly string[], onLine: (line: string) => void): Promise<void> {
  const path = await findTool('ffprobe');
  return new Promise((resolve, reject) => {
    // `file` is absolute (resolved by the caller): never read as an option or a protocol.
    const child = spawn(path, ['-v', 'error', ...SAFE_INPUT_OPTIONS, ...args, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    yieldToTrackers(child);
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    child.on('error', (error) => reject(isSpawnFailure(error) ? missingTool('ffprobe', error) : error));
    child.on('close', (code, signal) => {
      if (code === 0) {
        if (pending !== '') onLine(pending);
        resolve();
      } else {
        reject(new ToolFailure(`ffprobe exited with ${code === null ? `signal ${signal}` : `code ${code}`}`, stderr));
      }
    });
  });
}

/**
 * Run ffmpeg with `args` as given (the caller puts input options such as a fast `-ss` before `-i`,
 * which runFfmpeg cannot) and return what it writes to stdout, at most `maxBytes`; rejects with
 * ToolFailure (stderr tail attached) on a non-zero exit or too much output.
 */
export async function runFfmpegToBuffer(args: readonly string[], maxBytes: number): Promise<Buffer> {
  const path = await findTool('ffmpeg');
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    yieldToTrackers(child);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    child.on('error', (error) => reject(isSpawnFailure(error) ? missingTool('ffmpeg', error) : error));
    child.on('close', (code, signal) => {
      if (bytes > maxBytes) reject(new ToolFailure(`ffmpeg wrote more than ${maxBytes} bytes`, stderr));
      else if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new ToolFailure(`ffmpeg exited with ${code === null ? `signal ${signal}` : `code ${code}`}`, stderr));
    });
  });
}

/** What one ffmpeg run needs: options as separate items, never a shell string. */
export interface FfmpegRun {
  /** Working directory: input and output are relative to it, so no path with spaces reaches an option. */
  cwd: string;
  input: string;
  output: string;
  outputOptions: readonly string[];
  /** Called with every stderr line (ffmpeg's `-stats` lines included). */
  onStderrLine?: (line: string) => void;
  /** Aborting kills ffmpeg (SIGKILL) and rejects. */
  signal?: AbortSignal;
}

/** Keep a relative name from being read as an option (`-x`) or a protocol (`http:`). */
function localName(name: string): string {
  return name.startsWith('/') ? name : `./${name}`;
}

/** Run one ffmpeg command: safe input options, `-nostdin`, errors only plus progress stats. */
export async function runFfmpeg(run: FfmpegRun): Promise<void> {
  const path = await findTool('ffmpeg');
  const aborted = (): Error => (run.signal?.reason instanceof Error ? run.signal.reason : new Error('ffmpeg aborted'));
  if (run.signal?.aborted) throw aborted();
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-stats', ...SAFE_INPUT_OPTIONS, '-i', localName(run.input), '-y', ...run.outputOptions, localName(run.output)];
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { cwd: run.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    yieldToTrackers(child);
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    run.signal?.addEventListener('abort', onAbort, { once: true });
    const stderrTail: string[] = [];
    let pending = '';
    // `-stats` ends its progress lines with a carriage return, messages with a newline.
    const onLine = (line: string): void => {
      if (line === '') return;
      if (!line.startsWith('frame=')) {
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
      }
      run.onStderrLine?.(line);
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (pending + chunk).split(/\r\n|\r|\n/);
      pending = lines.pop() ?? '';
      if (pending.length > 65_536) pending = pending.slice(-65_536);
      for (const line of lines) onLine(line);
    });
    let failedToStart: unknown;
    child.on('error', (error) => (failedToStart = error));
    child.on('close', (code, signal) => {
      run.signal?.removeEventListener('abort', onAbort);
      onLine(pending);
      if (failedToStart !== undefined) reject(isSpawnFailure(failedToStart) ? missingTool('ffmpeg', failedToStart) : failedToStart);
      else if (run.signal?.aborted) reject(aborted());
      else if (code === 0) resolve();
      else if (outOfSpace(stderrTail)) reject(new PipelineError('disk', `ffmpeg ran out of disk space writing ${run.output}: ${outOfSpace(stderrTail)}`));
      else reject(new ToolFailure(`ffmpeg exited with ${code === null ? `signal ${signal}` : `code ${code}`}`, stderrTail.join('\n')));
    });
  });
}

/** ffmpeg's line saying a write failed for lack of space (ENOSPC or EDQUOT), if any: retrying cannot help. */
function outOfSpace(stderrLines: readonly string[]): string | undefined {
  return stderrLines.find((line) => /No space left on device|Disk quota exceeded/i.test(line));
}

function execTool(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: 10_000, maxBuffer: 4 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

/**
 * "ffmpeg version 5.1.9-0+deb12u1 (/usr/bin/ffmpeg)", for `posepipe doctor`; for ffmpeg also checks
 * that libx264 is there (segmenting needs it). fluent-ffmpeg has no version call: plain execFile.
 */
export async function toolVersion(tool: Tool): Promise<string> {
  const path = await findTool(tool);
  let version: string;
  try {
    version = (await execTool(path, ['-hide_banner', '-version'])).split('\n')[0]?.replace(/ Copyright.*$/, '').trim() ?? '';
  } catch (error) {
    throw missingTool(tool, error);
  }
  if (tool === 'ffmpeg' && !/^\s*V\S*\s+libx264\s/m.test(await execTool(path, ['-hide_banner', '-encoders']))) {
    throw new EnvironmentError(`${path} has no libx264 encoder, which chunking needs: install a full ffmpeg build (Debian: apt-get install ffmpeg)`);
  }
  return `${version} (${path})`;
}
