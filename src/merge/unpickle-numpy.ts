/**
 * Unpickling of plain data plus numpy arrays and scalars, with an allow-list of globals.
 * pickleparser calls a registered global without `new` (REDUCE), so each entry is a plain
 * function; BUILD calls `__setstate__` on what it returned. Every other global is refused:
 * our own worker never writes one, so meeting it is a bug to report, not data to guess at.
 */
import { NameRegistry, Parser } from 'pickleparser';
import { PICKLE_LIMITS, PickleLimitError, type PickleLimits, scanPickle } from './pickle-limits.ts';

/** The typed arrays a numpy array can become. */
export type NumericData =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A numpy array as read: data always in C (row-major) order, native byte order, shape kept. */
export class NdArray {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: NumericData;
  constructor(dtype: string, shape: readonly number[], data: NumericData) {
    this.dtype = dtype;
    this.shape = shape;
    this.data = data;
  }
}

type TypedArrayMaker = { BYTES_PER_ELEMENT: number; new (buffer: ArrayBuffer): NumericData };

const TYPED_ARRAYS: Record<string, TypedArrayMaker> = {
  b1: Uint8Array,
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  f4: Float32Array,
  f8: Float64Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What `numpy.dtype(spec, align, copy)` returns; BUILD then gives it byte order and fields. */
class Dtype {
  readonly spec: string;
  byteOrder = '=';
  structured = false;
  constructor(spec: string) {
    this.spec = spec;
  }
  __setstate__(state: unknown): void {
    if (!Array.isArray(state) || typeof state[1] !== 'string') throw new Error(`bad numpy dtype state for ${this.spec}`);
    this.byteOrder = state[1];
    // (version, byteorder, subarray, names, fields, ...): any of the three set means a structured or sub-array dtype.
    this.structured = state[2] != null || state[3] != null || state[4] != null;
  }
}

/**
 * What one unpickling may build: the arrays' raw bytes are copied, so their total is held to the
 * pickle's own length (the same bytes named twice by the memo would otherwise be copied twice).
 */
interface Budget {
  /** Raw bytes still allowed into arrays and scalars. */
  bytesLeft: number;
  readonly pickleBytes: number;
  readonly ndim: number;
}

/** What `_reconstruct(ndarray, (0,), b'b')` returns (protocol <= 4); BUILD fills in the array. */
class PendingArray {
  readonly #budget: Budget;
  array: NdArray | undefined;
  constructor(budget: Budget) {
    this.#budget = budget;
  }
  __setstate__(state: unknown): void {
    if (!Array.isArray(state) || state.length !== 5) throw new Error('bad numpy array state');
    const [, shape, dtype, isFortran, raw] = state as [unknown, unknown, unknown, unknown, unknown];
    this.array = makeArray(this.#budget, raw, dtype, shape, isFortran ? 'F' : 'C');
  }
}

function asDtype(value: unknown): Dtype {
  if (!(value instanceof Dtype)) throw new Error('numpy array without a dtype');
  return value;
}

function asShape(value: unknown, ndim: number): number[] {
  if (!Array.isArray(value)) throw new Error(`bad numpy shape ${String(value).slice(0, 100)}`);
  if (value.length > ndim) throw new PickleLimitError('ndim', `a numpy array of ${value.length} dimensions, more than ${ndim}`);
  if (!value.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new Error(`bad numpy shape (${value.join(',')})`);
  return value as number[];
}

/** The elements of `shape`, or an error once their product passes 2^53 (where counting stops being exact). */
function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const n of shape) {
    count *= n;
    if (count > Number.MAX_SAFE_INTEGER) throw new Error(`numpy shape (${shape.join(',')}) has more than 2^53 elements`);
  }
  return count;
}

/** Copy raw bytes into a fresh, aligned typed array (pickle bytes are unaligned views). */
function typedFromBytes(budget: Budget, raw: unknown, dtype: Dtype, count: number): NumericData {
  if (dtype.structured) throw new Error(`structured numpy dtype ${dtype.spec} is not supported`);
  const Maker = TYPED_ARRAYS[dtype.spec];
  if (Maker === undefined) throw new Error(`numpy dtype ${dtype.spec} is not supported (numbers and booleans only)`);
  if (!(raw instanceof Uint8Array)) throw new Error(`numpy ${dtype.spec} array without raw bytes`);
  const size = Maker.BYTES_PER_ELEMENT;
  // count <= 2^53 and size <= 8: the product is exact enough to tell a mismatch from any length a buffer can have.
  if (raw.length !== count * size) {
    throw new Error(`numpy ${dtype.spec} array has ${raw.length} bytes, expected ${count * size} (${count} elements of ${size} bytes)`);
  }
  budget.bytesLeft -= raw.length;
  if (budget.bytesLeft < 0) throw new PickleLimitError('bytes', `numpy arrays of more bytes than the ${budget.pickleBytes} bytes of the pickle (the same bytes used twice)`);
  const bytes = new Uint8Array(raw.length);
  bytes.set(raw);
  const bigEndian = dtype.byteOrder === '>' || (dtype.byteOrder === '=' && !LITTLE_ENDIAN_HOST);
  if (size > 1 && bigEndian === LITTLE_ENDIAN_HOST) {
    for (let at = 0; at < bytes.length; at += size) bytes.subarray(at, at + size).reverse();
  }
  return new Maker(bytes.buffer);
}

/**
 * Reorder Fortran (column-major) data into C order, in time linear in the elements whatever the
 * number of dimensions: the source offset moves by one stride per step, not recomputed per element.
 */
function toRowMajor(data: NumericData, shape: readonly number[]): NumericData {
  // Dimensions of size 1 move nothing.
  const dims = shape.filter((n) => n !== 1);
  if (dims.length < 2) return data;
  // Index through plain views so one loop serves number and bigint arrays alike.
  const out = data.slice();
  const from = data as unknown as ArrayLike<unknown>;
  const to = out as unknown as unknown[];
  const rank = dims.length;
  const index = new Array<number>(rank).fill(0);
  const fStrides = new Array<number>(rank);
  for (let d = 0, stride = 1; d < rank; d++) {
    fStrides[d] = stride;
    stride *= dims[d]!;
  }
  let f = 0;
  for (let c = 0; c < data.length; c++) {
    to[c] = from[f];
    for (let d = rank - 1; d >= 0; d--) {
      f += fStrides[d]!;
      if (++index[d]! < dims[d]!) break;
      f -= dims[d]! * fStrides[d]!;
      index[d] = 0;
    }
  }
  return out;
}

function makeArray(budget: Budget, raw: unknown, dtypeValue: unknown, shapeValue: unknown, order: unknown): NdArray {
  const dtype = asDtype(dtypeValue);
  const shape = asShape(shapeValue, budget.ndim);
  if (order !== 'C' && order !== 'F') throw new Error(`numpy array order ${String(order)} is not supported`);
  const data = typedFromBytes(budget, raw, dtype, elementCount(shape));
  return new NdArray(dtype.spec, shape, order === 'F' ? toRowMajor(data, shape) : data);
}

/** A numpy scalar: `scalar(dtype, raw)` -> a JS number (booleans stay booleans). */
function makeScalar(budget: Budget, dtypeValue: unknown, raw: unknown): number | boolean {
  const dtype = asDtype(dtypeValue);
  const value = typedFromBytes(budget, raw, dtype, 1)[0]!;
  if (dtype.spec === 'b1') return value !== 0;
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new Error(`numpy ${dtype.spec} scalar ${value} is beyond 2^53`);
    }
    return Number(value);
  }
  return value;
}

function numpyGlobals(budget: Budget): Array<[string, string, (...args: unknown[]) => unknown]> {
  return [
    ['multiarray', '_reconstruct', () => new PendingArray(budget)],
    ['numeric', '_frombuffer', (buffer, dtype, shape, order) => makeArray(budget, buffer, dtype, shape, order)],
    ['multiarray', 'scalar', (dtype, raw) => makeScalar(budget, dtype, raw)],
  ];
}

/** Refuses every global not registered, naming it. */
class AllowList extends NameRegistry {
  override onMissingName(module: string, name: string): never {
    throw new UnexpectedGlobalError(`${module}.${name}`);
  }
}

/** A pickle named a Python global that is not on the allow-list. */
export class UnexpectedGlobalError extends Error {
  readonly global: string;
  constructor(global: string) {
    super(`unexpected global ${global}`);
    this.name = 'UnexpectedGlobalError';
    this.global = global;
  }
}

function makeRegistry(budget: Budget): AllowList {
  const registry = new AllowList();
  for (const core of ['numpy.core', 'numpy._core']) {
    for (const [module, name, fn] of numpyGlobals(budget)) registry.register(`${core}.${module}`, name, fn);
  }
  registry.register('numpy', 'dtype', (spec: unknown) => {
    if (typeof spec !== 'string') throw new Error('bad numpy dtype');
    return new Dtype(spec);
  });
  registry.register('numpy', 'ndarray', () => {
    throw new Error('numpy.ndarray called outside _reconstruct');
  });
  return registry;
}

/**
 * Replace the placeholders of protocol <= 4 arrays by the arrays their BUILD produced. Containers
 * nested past `maxDepth` are refused before this recursion could run out of stack.
 */
function settle(value: unknown, maxDepth: number, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value instanceof PendingArray) {
    if (value.array === undefined) throw new Error('numpy array without its state');
    return value.array;
  }
  if (value instanceof Map || Array.isArray(value)) {
    if (seen.has(value)) return value;
    seen.add(value);
    if (depth >= maxDepth) throw new PickleLimitError('depth', `lists, tuples and dicts nested more than ${maxDepth} deep`);
  }
  if (value instanceof Map) {
    for (const [key, item] of value) value.set(key, settle(item, maxDepth, depth + 1, seen));
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = settle(value[i], maxDepth, depth + 1, seen);
  }
  return value;
}

/**
 * Parse a pickle of dicts, lists, str, numbers and numpy arrays. Dicts become Maps (no
 * `__proto__` surprises from keys), numpy arrays `NdArray`s, numpy scalars numbers.
 * Throws on a truncated stream, an unknown opcode or a global off the allow-list, and a
 * PickleLimitError for a pickle past one of `limits` (checked before anything is built).
 */
export function unpickleNumpy(bytes: Uint8Array, limits: Readonly<PickleLimits> = PICKLE_LIMITS): unknown {
  scanPickle(bytes, limits);
  const budget: Budget = { bytesLeft: bytes.length, pickleBytes: bytes.length, ndim: limits.ndim };
  const parser = new Parser({ nameResolver: makeRegistry(budget), unpicklingTypeOfDictionary: 'Map', unpicklingTypeOfSet: 'array' });
  return settle(parser.parse(bytes), limits.depth);
}
