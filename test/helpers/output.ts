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

/** Between two frames of a compact output: the end of one and the start of the next. */
const BETWEEN_FRAMES = '},{"index":';

/**
 * readValidOutput for an output too large to be one string (over V8's ~512 MiB): the file is read
 * in pieces of text, each frame cut out at the `},{"index":` between two frames and parsed on its
 * own, and the frames checked against the same schema in batches of 256, each with the header
 * (every key but the frames, validated too); `onFrame` sees every frame in order. The cut cannot
 * pass a broken document: the header, the frames and the separators make up the file exactly, so
 * if each part parses the whole does (a separator inside a string would make a part fail).
 * Returns the header and the number of frames.
 */
export async function readValidOutputStreamed(path: string, onFrame: (frame: OutputDoc['frames'][number]) => void = () => {}): Promise<{ header: Omit<OutputDoc, 'frames'>; frames: number }> {
  let header: Omit<OutputDoc, 'frames'> | undefined;
  let batch: unknown[] = [];
  let count = 0;
  const check = () => {
    const doc = { ...header!, frames: batch };
    if (!validate(doc)) throw new Error(`${path} does not match the schema near frame ${count}: ${ajv.errorsText(validate.errors)}`);
    for (const frame of batch) onFrame(frame as OutputDoc['frames'][number]);
    batch = [];
  };
  const add = (text: string) => {
    batch.push(JSON.parse(text));
    count += 1;
    if (batch.length === 256) check();
  };
  let text = '';
  for await (const piece of createReadStream(path, { encoding: 'utf8', highWaterMark: 8 << 20 }) as AsyncIterable<string>) {
    text += piece;
    if (!header) {
      const at = text.indexOf('"frames":[');
      if (at < 0) continue;
      header = JSON.parse(`${text.slice(0, at)}"frames":[]}`) as Omit<OutputDoc, 'frames'>;
      delete (header as { frames?: unknown }).frames;
      text = text.slice(at + '"frames":['.length);
    }
    let from = 0;
    for (let end = text.indexOf(BETWEEN_FRAMES); end >= 0; end = text.indexOf(BETWEEN_FRAMES, from)) {
      add(text.slice(from, end + 1));
      from = end + 2;
    }
    text = text.slice(from);
  }
  if (!header || !text.endsWith(']}\n')) throw new Error(`${path} is not a whole output document`);
  if (text !== ']}\n') add(text.slice(0, -3));
  check();
  return { header, frames: count };
}
