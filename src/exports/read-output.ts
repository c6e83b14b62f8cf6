/**
 * Reading a finished job's output (outbox `<name>.json` or `<name>.jsonl`) a frame at a time, so an
 * export's memory stays flat however long the video: the file is read in pieces, the header (every
 * key but the frames) parsed once, and each frame cut out and parsed on its own.
 *
 * The json form is the compact document emit writes (src/merge/output-document.ts): the header,
 * `"frames":[`, the frames joined by `,` and `]}`. A frame is cut at the `},{"index":` between two
 * frames; nothing in a frame is a string, so the cut cannot land inside one (and a piece that is not
 * a whole frame fails to parse, naming the file and the frame).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** The output document without its frames: what every export reads first. */
export interface OutputHeader {
  schema: string;
  source: { name: string; width: number; height: number; fps: number; frameCount: number; [key: string]: unknown };
  tracker: { backend: string; version: string; device: string; [key: string]: unknown };
  chunks: unknown[];
  tracks: { id: number; firstFrame: number; lastFrame: number; frames: number }[];
}

/** One tracked person in one frame; backend extras (keypoints2d, joints3d, …) beside the three every backend gives. */
export interface OutputPerson {
  track: number;
  bbox: [number, number, number, number];
  score: number;
  keypoints2d?: (number | null)[][];
  [extra: string]: unknown;
}

/** One element of the output's `frames`. */
export interface OutputFrame {
  index: number;
  time: number;
  sourceTime?: number;
  persons: OutputPerson[];
}

/** An output file that is not a whole posepipe output: names the file and where it went wrong. */
export class OutputReadError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`Cannot read the output "${file}": ${problem}`);
    this.name = 'OutputReadError';
  }
}

/** An opened output: its header, then its frames in order (one pass; the file closes when they end or the loop stops). */
export interface OutputReader {
  header: OutputHeader;
  frames: AsyncGenerator<OutputFrame>;
  /** Close the file without reading the frames (reading them to the end, or stopping a loop over them, closes it too). */
  close(): Promise<void>;
}

const FRAMES_KEY = '"frames":[';
const BETWEEN_FRAMES = '},{"index":';
const PIECE = 4 << 20;

/** The form of an output file, from its name (emit's names end in .json or .jsonl). */
export function outputForm(file: string): 'json' | 'jsonl' {
  return file.endsWith('.jsonl') ? 'jsonl' : 'json';
}

function parsePart<T>(file: string, text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new OutputReadError(file, `${what} is not JSON (${(error as Error).message})`);
  }
}

function checkHeader(file: string, header: OutputHeader): OutputHeader {
  if (header.schema !== 'posepipe/1' || typeof header.tracker?.backend !== 'string' || !Array.isArray(header.tracks) || typeof header.source?.fps !== 'number') {
    throw new OutputReadError(file, 'its header is not that of a posepipe/1 output (schema, source, tracker, tracks)');
  }
  return header;
}

/**
 * Open `file` (never through a symlink in its last component) and read its header; the frames
 * follow through `frames`. Throws OutputReadError for a file that is not a whole output.
 */
export async function openOutput(file: string): Promise<OutputReader> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  const pieces = handle.createReadStream({ encoding: 'utf8', highWaterMark: PIECE })[Symbol.asyncIterator]() as AsyncIterator<string>;
  const form = outputForm(file);
  let text = '';
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await pieces.next();
    if (next.done) ended = true;
    else text += next.value;
    return !next.done;
  };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  let header: OutputHeader | undefined;
  try {
    const marker = form === 'jsonl' ? '\n' : FRAMES_KEY;
    let at = text.indexOf(marker);
    while (at < 0 && (await more())) at = text.indexOf(marker);
    if (at < 0) throw new OutputReadError(file, form === 'jsonl' ? 'it has no header line' : 'it has no "frames"');
    const headerText = form === 'jsonl' ? text.slice(0, at) : `${text.slice(0, at)}"frames":[]}`;
    header = checkHeader(file, parsePart<OutputHeader>(file, headerText, 'its header'));
    delete (header as { frames?: unknown }).frames;
    text = text.slice(at + marker.length);
  } catch (error) {
    await close();
    throw error;
  }
  const frames = async function* (): AsyncGenerator<OutputFrame> {
    let count = 0;
    const frame = (part: string): OutputFrame => {
      const f = parsePart<OutputFrame>(file, part, `frame ${count}`);
      if (f.index !== count || !Array.isArray(f.persons)) throw new OutputReadError(file, `frame ${count} is not in its place (found index ${String(f.index)})`);
      count += 1;
      return f;
    };
    try {
      if (form === 'jsonl') {
        for (;;) {
          let from = 0;
          for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', from)) {
            const line = text.slice(from, end);
            from = end + 1;
            if (line.trim() !== '') yield frame(line);
          }
          text = text.slice(from);
          if (!(await more())) break;
        }
        if (text.trim() !== '') yield frame(text);
      } else {
        for (;;) {
          let from = 0;
          for (let end = text.indexOf(BETWEEN_FRAMES); end >= 0; end = text.indexOf(BETWEEN_FRAMES, from)) {
            yield frame(text.slice(from, end + 1));
            from = end + 2;
          }
          text = text.slice(from);
          if (!(await more())) break;
        }
        const tail = text.trimEnd();
        if (!tail.endsWith(']}')) throw new OutputReadError(file, `it ends after frame ${count - 1} without closing the document (a partial file?)`);
        if (tail !== ']}') yield frame(tail.slice(0, -2));
      }
      const expected = header!.source.frameCount;
      if (count !== expected) throw new OutputReadError(file, `it holds ${count} frames where its source has ${expected}`);
    } finally {
      await close();
    }
  };
  return { header, frames: frames(), close };
}
