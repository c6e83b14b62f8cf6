/**
 * Reading one chunk's tracker result (`posepipe.chunk/1`, written by the Python worker with
 * `pickle.dump(obj, f, protocol=5)`) into typed arrays, checked field by field. Anything wrong
 * is a ChunkResultError naming the file, so the pipeline redoes that chunk instead of merging
 * bad data.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PipelineError } from '../errors.ts';
import { PICKLE_LIMITS, PickleLimitError, type PickleLimits } from './pickle-limits.ts';
import { NdArray, UnexpectedGlobalError, unpickleNumpy } from './unpickle-numpy.ts';
import { chunkNumber } from '../chunk-number.ts';

/** The schema string the Python worker writes; one spelling on both sides. */
export const CHUNK_SCHEMA = 'posepipe.chunk/1';

/** One chunk's tracker output: M rows sorted by (frame, track), frames relative to firstFrame. */
export interface ChunkResult {
  backend: string;
  backendVersion: string;
  device: string;
  /** Absolute index of the first tracked frame (overlap included). */
  firstFrame: number;
  /** Frames tracked (overlap included). */
  frameCount: number;
  width: number;
  height: number;
  rows: number;
  frame: Int32Array;
  /** Chunk-local track ids, >= 1; they restart at 1 in every chunk. */
  track: Int32Array;
  /** x, y, w, h per row (4 * rows values). */
  bbox: Float32Array | Float64Array;
  score: Float32Array | Float64Array;
  /** Backend extras, each with `rows` as its first dimension. */
  extras: Map<string, NdArray>;
}

/** A chunk's result file is missing, corrupt or not what the worker should write: redo the chunk. */
export class ChunkResultError extends PipelineError {
  readonly file: string;
  /** What is wrong, without the file and chunk. */
  readonly problem: string;
  readonly chunkIndex: number | undefined;
  constructor(file: string, problem: string, options?: { chunkIndex?: number; cause?: unknown }) {
    const prefix = options?.chunkIndex === undefined ? '' : `chunk ${chunkNumber(options.chunkIndex)}: `;
    super('internal', `${prefix}${problem} in ${file}`, { cause: options?.cause });
    this.name = 'ChunkResultError';
    this.file = file;
    this.problem = problem;
    this.chunkIndex = options?.chunkIndex;
  }
}

const INTEGER_DTYPES = new Set(['i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8']);

function shapeText(shape: readonly number[]): string {
  return `(${shape.join(',')}${shape.length === 1 ? ',' : ''})`;
}

/** Checks one field after another, failing with the field's name and the file's. */
class Checker {
  readonly #file: string;
  readonly #fields: Map<unknown, unknown>;
  constructor(file: string, fields: Map<unknown, unknown>) {
    this.#file = file;
    this.#fields = fields;
  }

  fail(problem: string): never {
    throw new ChunkResultError(this.#file, problem);
  }

  get(key: string): unknown {
    if (!this.#fields.has(key)) this.fail(`missing field "${key}"`);
    return this.#fields.get(key);
  }

  string(key: string): string {
    const value = this.get(key);
    if (typeof value !== 'string') this.fail(`field "${key}" is not a string`);
    return value;
  }

  count(key: string, min: number): number {
    const value = this.get(key);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      this.fail(`field "${key}" is ${String(value)}, expected an integer >= ${min}`);
    }
    return value;
  }

  array(key: string, value: unknown, shape: readonly number[]): NdArray {
    if (!(value instanceof NdArray)) this.fail(`field "${key}" is not a numpy array`);
    const ok = value.shape.length === shape.length && shape.every((n, i) => n < 0 || value.shape[i] === n);
    if (!ok) this.fail(`field "${key}" has shape ${shapeText(value.shape)}, expected ${shapeText(shape).replaceAll('-1', 'any')}`);
    return value;
  }

  ints(key: string, rows: number): Int32Array {
    const array = this.array(key, this.get(key), [rows]);
    if (array.data instanceof Int32Array) return array.data;
    if (!INTEGER_DTYPES.has(array.dtype)) this.fail(`field "${key}" has dtype ${array.dtype}, expected integers`);
    const out = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const value = Number(array.data[i]!);
      if (value > 0x7fffffff || value < -0x80000000) this.fail(`field "${key}" row ${i} is ${value}, beyond int32`);
      out[i] = value;
    }
    return out;
  }

  floats(key: string, shape: readonly number[]): Float32Array | Float64Array {
    const { data, dtype } = this.array(key, this.get(key), shape);
    if (!(data instanceof Float32Array || data instanceof Float64Array)) this.fail(`field "${key}" has dtype ${dtype}, expected float32 or float64`);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) this.fail(`field "${key}" has a non-finite value at flat index ${i}`);
    }
    return data;
  }
}

function checkRows(check: Checker, frame: Int32Array, track: Int32Array, frameCount: number): void {
  for (let i = 0; i < frame.length; i++) {
    const f = frame[i]!;
    const t = track[i]!;
    if (f < 0 || f >= frameCount) check.fail(`row ${i} has frame ${f}, outside 0..${frameCount - 1}`);
    if (t < 1) check.fail(`row ${i} has track ${t}, expected >= 1`);
    if (i > 0) {
      const pf = frame[i - 1]!;
      if (f < pf || (f === pf && t <= track[i - 1]!)) check.fail(`row ${i} (frame ${f}, track ${t}) is not after row ${i - 1}: rows must be sorted by (frame, track), unique`);
    }
  }
}

function checkExtras(check: Checker, rows: number): Map<string, NdArray> {
  const value = check.get('extras');
  if (!(value instanceof Map)) check.fail('field "extras" is not a dict');
  const extras = new Map<string, NdArray>();
  for (const [name, array] of value) {
    if (typeof name !== 'string') check.fail(`extras key ${String(name)} is not a string`);
    if (name === 'track' || name === 'bbox' || name === 'score') check.fail(`extras key "${name}" clashes with a person field`);
    if (!(array instanceof NdArray)) check.fail(`extras["${name}"] is not a numpy array`);
    if (array.shape[0] !== rows) check.fail(`extras["${name}"] has shape ${shapeText(array.shape)}, expected ${rows} rows first`);
    extras.set(name, array);
  }
  return extras;
}

/** Check an unpickled value against `posepipe.chunk/1` and give it typed fields. */
function toChunkResult(value: unknown, file: string): ChunkResult {
  if (!(value instanceof Map)) throw new ChunkResultError(file, 'top level is not a dict');
  const check = new Checker(file, value);
  const schema = check.string('schema');
  if (schema !== CHUNK_SCHEMA) check.fail(`schema is "${schema}", expected "${CHUNK_SCHEMA}"`);
  const frameCount = check.count('frame_count', 0);
  const rows = check.array('frame', check.get('frame'), [-1]).shape[0]!;
  const frame = check.ints('frame', rows);
  const track = check.ints('track', rows);
  checkRows(check, frame, track, frameCount);
  return {
    backend: check.string('backend'),
    backendVersion: check.string('backend_version'),
    device: check.string('device'),
    firstFrame: check.count('first_frame', 0),
    frameCount,
    width: check.count('width', 1),
    height: check.count('height', 1),
    rows,
    frame,
    track,
    bbox: check.floats('bbox', [rows, 4]),
    score: check.floats('score', [rows]),
    extras: checkExtras(check, rows),
  };
}

/** Parse one chunk result from bytes, within `limits`; `file` names it in errors. */
export function parseChunkPickle(bytes: Uint8Array, file: string, limits: Readonly<PickleLimits> = PICKLE_LIMITS): ChunkResult {
  let value: unknown;
  try {
    value = unpickleNumpy(bytes, limits);
  } catch (error) {
    if (error instanceof UnexpectedGlobalError || error instanceof PickleLimitError) throw new ChunkResultError(file, error.message, { cause: error });
    const reason = error instanceof Error ? error.message : String(error);
    throw new ChunkResultError(file, `truncated or corrupt pickle (${reason})`, { cause: error });
  }
  return toChunkResult(value, file);
}

/** Read and check one chunk result file. */
export async function readChunkPickle(file: string): Promise<ChunkResult> {
  return (await readChunkFile(file)).result;
}

/**
 * Read and check one chunk result file, with the size and sha256 of the bytes read (the merge
 * records them); with `expectedSha256`, a file whose bytes differ is refused before it is parsed.
 */
export async function readChunkFile(file: string, expectedSha256?: string): Promise<{ result: ChunkResult; bytes: number; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ChunkResultError(file, `cannot read chunk result (${(error as Error).message})`, { cause: error });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) throw new ChunkResultError(file, `the result file does not match its recorded hash (sha256 ${sha256.slice(0, 12)}, recorded ${expectedSha256.slice(0, 12)})`);
  return { result: parseChunkPickle(bytes, file), bytes: bytes.length, sha256 };
}
