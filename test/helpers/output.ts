import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

/** The output document's shape as tests read it. */
export interface OutputDoc {
  schema: string;
  source: { name: string; sha256: string; fps: number; width: number; height: number; frameCount: number };
  tracker: { backend: string; version: string; device: string; precision?: string };
  chunks: { index: number; firstFrame: number; frameCount: number; overlapFrames: number }[];
  tracks: { id: number; firstFrame: number; lastFrame: number; frames: number }[];
  frames: { index: number; time: number; persons: { track: number; bbox: number[]; score: number }[] }[];
}

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(JSON.parse(readFileSync('schema/posepipe-output.schema.json', 'utf8')));

/** Parse an outbox file and validate it against the committed JSON Schema; throws listing the errors. */
export function readValidOutput(path: string): OutputDoc {
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  if (!validate(doc)) throw new Error(`${path} does not match the schema: ${ajv.errorsText(validate.errors)}`);
  return doc as OutputDoc;
}

/** Decoded video frame count, straight from ffprobe (the reference the pipeline must match). */
export function ffprobeFrameCount(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  return Number(r.stdout.trim().split(/[\s,]+/)[0]);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * readValidOutput for an output too large to be one string (over V8's ~512 MiB): the file is read
 * in pieces, its frames cut out one by one (string-aware, by depth) and checked against the same
 * schema in batches, each with the header (every key but the frames, validated too); `onFrame` sees
 * every frame in order. Returns the header and the number of frames.
 */
export async function readValidOutputStreamed(path: string, onFrame: (frame: OutputDoc['frames'][number]) => void = () => {}): Promise<{ header: Omit<OutputDoc, 'frames'>; frames: number }> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let key = '';
  let stringStart = -1;
  let inFrames = false;
  let framesDone = false;
  let head: Buffer[] = [];
  let piece: Buffer[] = [];
  let pieceStart = -1;
  let header: Omit<OutputDoc, 'frames'> | undefined;
  let batch: unknown[] = [];
  let count = 0;
  const check = () => {
    const doc = { ...header!, frames: batch };
    if (!validate(doc)) throw new Error(`${path} does not match the schema near frame ${count}: ${ajv.errorsText(validate.errors)}`);
    for (const frame of batch) onFrame(frame as OutputDoc['frames'][number]);
    batch = [];
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    pieceStart = inFrames && depth > 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (depth === 1 && stringStart >= 0) key = chunk.subarray(stringStart, i).toString('utf8');
        }
        continue;
      }
      if (b === QUOTE) {
        inString = true;
        stringStart = depth === 1 ? i + 1 : -1;
      } else if (b === 0x7b || b === 0x5b) {
        depth += 1;
        if (depth === 2 && b === 0x5b && key === 'frames' && !framesDone) {
          inFrames = true;
          head.push(chunk.subarray(0, i + 1));
          header = JSON.parse(`${Buffer.concat(head).toString('utf8')}]}`) as Omit<OutputDoc, 'frames'>;
          delete (header as { frames?: unknown }).frames;
          head = [];
        } else if (inFrames && depth === 3) pieceStart = i;
      } else if (b === 0x7d || b === 0x5d) {
        depth -= 1;
        if (inFrames && depth === 2) {
          piece.push(chunk.subarray(pieceStart, i + 1));
          batch.push(JSON.parse(Buffer.concat(piece).toString('utf8')));
          piece = [];
          pieceStart = -1;
          count += 1;
          if (batch.length === 256) check();
        } else if (inFrames && depth === 1) {
          inFrames = false;
          framesDone = true;
        }
      }
    }
    if (!header) head.push(chunk);
    else if (inFrames && pieceStart >= 0) piece.push(chunk.subarray(pieceStart));
  }
  if (!header || !framesDone || depth !== 0) throw new Error(`${path} is not a whole output document`);
  check();
  return { header, frames: count };
}
