import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
