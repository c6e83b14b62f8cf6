/**
 * Pickles written opcode by opcode, for the hostile ones no Python pickler would write (floods,
 * thousands of dimensions, the same bytes used twice) and small well-formed ones beside them.
 * Each helper returns the bytes of one value pushed on the stack; `pickle` wraps them in PROTO 5 … STOP.
 */

/** Opcodes used here, by pickle.py's names. */
export const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  NONE: 0x4e,
  BININT: 0x4a,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  EMPTY_DICT: 0x7d,
  SETITEMS: 0x75,
  TUPLE: 0x74,
  REDUCE: 0x52,
  BINGET: 0x68,
  BINBYTES: 0x42,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG4: 0x8b,
  BINUNICODE: 0x58,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  BYTEARRAY8: 0x96,
} as const;

type Part = Uint8Array | readonly number[];

/** The parts one after the other. */
export function cat(...parts: Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
}

/** A protocol 5 pickle of the value the parts push. */
export function pickle(...parts: Part[]): Buffer {
  return cat([0x80, 5], ...parts, [OP.STOP]);
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** A str. */
export function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return cat([OP.BINUNICODE, ...u32(b.length)], b);
}

/** An int (32-bit signed). */
export function int(n: number): Buffer {
  return cat([OP.BININT], Buffer.from(Int32Array.of(n).buffer));
}

/** A bytearray (how protocol 5 carries an array's raw bytes), then MEMOIZE so BINGET can name it again. */
export function bytearray(raw: Uint8Array): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(raw.length));
  return cat([OP.BYTEARRAY8], length, raw, [OP.MEMOIZE]);
}

/** The memo's entry `n` (0..255). */
export function memo(n: number): number[] {
  return [OP.BINGET, n];
}

/** A tuple of the items. */
export function tuple(...items: Part[]): Buffer {
  return cat([OP.MARK], ...items, [OP.TUPLE]);
}

/** A dict of the pairs. */
export function dict(pairs: Array<[string, Part]>): Buffer {
  return cat([OP.EMPTY_DICT, OP.MARK], ...pairs.flatMap(([k, v]) => [str(k), v]), [OP.SETITEMS]);
}

/** A call of `module.name` with the arguments (STACK_GLOBAL, tuple, REDUCE). */
export function call(module: string, name: string, ...args: Part[]): Buffer {
  return cat(str(module), str(name), [OP.STACK_GLOBAL], tuple(...args), [OP.REDUCE]);
}

/** A numpy array as protocol 5 writes it: `_frombuffer(raw, dtype(spec), shape, order)`; `raw` may be bytes already pushed (memo). */
export function ndarray(raw: Uint8Array | { memo: number }, spec: string, shape: readonly number[], order: 'C' | 'F' = 'C'): Buffer {
  const buffer = raw instanceof Uint8Array ? bytearray(raw) : Buffer.from(memo(raw.memo));
  return call('numpy.core.numeric', '_frombuffer', buffer, call('numpy', 'dtype', str(spec), [OP.NEWFALSE], [OP.NEWTRUE]), tuple(...shape.map(int)), str(order));
}
