/**
 * A pickle's bounds, checked by one linear pass over its opcodes before anything is built from them.
 * The pass keeps only counts (opcodes, values on the stack, open MARKs, memo entries), so a pickle
 * made to exhaust memory (`(` followed by millions of `N`: V8 then aborts the whole process, which no
 * try/catch or worker thread survives) or to loop (a negative length jumps back) is refused after
 * at most `opcodes` steps and a few bytes of memory. What the tracker writes stays far below every
 * bound: a phalp chunk of 100 people a frame is 280 opcodes, 86 memo entries, 17 MARKs, at most a
 * few dozen values on the stack and 4 dimensions an array.
 */

/** The bounds a pickle must stay within to be unpickled. */
export interface PickleLimits {
  /** Opcodes up to STOP. */
  opcodes: number;
  /** Values on the unpickler's stack, all MARK levels together. */
  stack: number;
  /** MARKs open at once (tuples, lists, dicts and sets being built inside each other). */
  marks: number;
  /** Values stored in the memo (PUT, BINPUT, LONG_BINPUT, MEMOIZE). */
  memo: number;
  /** Dimensions of one numpy array. */
  ndim: number;
  /** Lists, tuples and dicts inside each other in the unpickled value. */
  depth: number;
}

/** The bounds every chunk result is read under (uploaded or local). */
export const PICKLE_LIMITS: Readonly<PickleLimits> = Object.freeze({ opcodes: 100_000, stack: 10_000, marks: 100, memo: 10_000, ndim: 64, depth: 100 });

/** A pickle went past one of its limits; `limit` names which. */
export class PickleLimitError extends Error {
  readonly limit: keyof PickleLimits | 'bytes';
  constructor(limit: keyof PickleLimits | 'bytes', message: string) {
    super(`${message} (the ${limit} limit)`);
    this.name = 'PickleLimitError';
    this.limit = limit;
  }
}

// Opcodes by what they do to the stack (pickle.py's names in comments where the letter is unclear).
const PUSH_ONLY = new Set([0x4e /* NONE */, 0x88, 0x89, 0x29 /* EMPTY_TUPLE */, 0x5d /* EMPTY_LIST */, 0x7d /* EMPTY_DICT */, 0x8f /* EMPTY_SET */, 0x97 /* NEXT_BUFFER */]);
/** Opcodes with a fixed-size argument that push one value: opcode -> argument bytes. */
const PUSH_FIXED = new Map([
  [0x4a, 4], // BININT
  [0x4b, 1], // BININT1
  [0x4d, 2], // BININT2
  [0x47, 8], // BINFLOAT
  [0x68, 1], // BINGET
  [0x6a, 4], // LONG_BINGET
  [0x82, 1], // EXT1
  [0x83, 2], // EXT2
  [0x84, 4], // EXT4
]);
/** Opcodes with a newline-terminated argument that push one value. */
const PUSH_LINE = new Set([0x49 /* INT */, 0x4c /* LONG */, 0x46 /* FLOAT */, 0x53 /* STRING */, 0x56 /* UNICODE */, 0x67 /* GET */, 0x50 /* PERSID */]);
/** Opcodes that pop some values and push one: opcode -> values popped. */
const POP_PUSH = new Map([
  [0x85, 1], // TUPLE1
  [0x86, 2], // TUPLE2
  [0x87, 3], // TUPLE3
  [0x61, 2], // APPEND: the item, and the list stays
  [0x73, 3], // SETITEM: key and value, and the dict stays
  [0x93, 2], // STACK_GLOBAL
  [0x81, 2], // NEWOBJ
  [0x92, 3], // NEWOBJ_EX
  [0x51, 1], // BINPERSID
  [0x52, 2], // REDUCE
  [0x62, 2], // BUILD: the state, and the object stays
  [0x98, 1], // READONLY_BUFFER
  [0x32, 1], // DUP pops one and pushes it twice: counted below
]);
/** Opcodes that take the values since the last MARK and push one built of them. */
const MARK_BUILD = new Set([0x74 /* TUPLE */, 0x6c /* LIST */, 0x64 /* DICT */, 0x91 /* FROZENSET */]);
/** Opcodes that take the values since the last MARK into the value below the MARK. */
const MARK_EXTEND = new Set([0x65 /* APPENDS */, 0x75 /* SETITEMS */, 0x90 /* ADDITEMS */]);

/**
 * Throw unless `bytes` is a pickle within `limits`: a PickleLimitError naming the limit passed, or
 * an Error for a stream no unpickler could read (truncated, unknown opcode, a value popped that was
 * never pushed). Bytes after STOP are not looked at (nor are they by the unpickler).
 */
export function scanPickle(bytes: Uint8Array, limits: Readonly<PickleLimits> = PICKLE_LIMITS): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let at = 0;
  let op = 0;
  let opAt = 0;
  let opcodes = 0;
  /** Values since the last MARK, and on the whole stack. */
  let level = 0;
  let total = 0;
  let memo = 0;
  const marks: number[] = [];

  const where = () => `opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt}`;
  const need = (n: number) => {
    if (n > end - at) throw new Error(`${where()} needs ${n} more bytes than the pickle has (truncated)`);
  };
  const skip = (n: number) => {
    need(n);
    at += n;
  };
  const line = () => {
    const newline = bytes.indexOf(0x0a, at);
    if (newline < 0) throw new Error(`${where()} has no end of line (truncated)`);
    at = newline + 1;
  };
  const pop = (n: number) => {
    if (level < n) throw new Error(`${where()} takes ${n} values where ${level} are`);
    level -= n;
    total -= n;
  };
  const push = (n = 1) => {
    level += n;
    total += n;
    if (total > limits.stack) throw new PickleLimitError('stack', `more than ${limits.stack} values on the unpickling stack at byte ${opAt}`);
  };
  const popMark = () => {
    if (marks.length === 0) throw new Error(`${where()} has no MARK to go back to`);
    total -= level;
    level = marks.pop()!;
  };
  const remember = () => {
    if (++memo > limits.memo) throw new PickleLimitError('memo', `more than ${limits.memo} values stored in the memo at byte ${opAt}`);
  };
  /** A little-endian unsigned length of `size` bytes, within what is left of the pickle. */
  const length = (size: 1 | 4 | 8) => {
    need(size);
    const n = size === 1 ? view.getUint8(at) : size === 4 ? view.getUint32(at, true) : view.getUint32(at, true) + 2 ** 32 * view.getUint32(at + 4, true);
    at += size;
    return n;
  };

  while (at < end) {
    opAt = at;
    op = bytes[at++]!;
    if (++opcodes > limits.opcodes) throw new PickleLimitError('opcodes', `more than ${limits.opcodes} opcodes`);
    if (PUSH_ONLY.has(op)) push();
    else if (PUSH_FIXED.has(op)) {
      skip(PUSH_FIXED.get(op)!);
      push();
    } else if (PUSH_LINE.has(op)) {
      line();
      push();
    } else if (POP_PUSH.has(op)) {
      pop(POP_PUSH.get(op)!);
      push(op === 0x32 ? 2 : 1);
    } else if (MARK_BUILD.has(op)) {
      popMark();
      push();
    } else if (MARK_EXTEND.has(op)) {
      popMark();
      if (level < 1) throw new Error(`${where()} has nothing below its MARK to add to`);
    } else {
      switch (op) {
        case 0x80: // PROTO
          skip(1);
          break;
        case 0x95: // FRAME: only a hint of the length to come
          skip(8);
          break;
        case 0x2e: // STOP
          return;
        case 0x28: // MARK
          if (marks.length >= limits.marks) throw new PickleLimitError('marks', `more than ${limits.marks} MARKs open at byte ${opAt}`);
          marks.push(level);
          level = 0;
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x30: // POP
          pop(1);
          break;
        case 0x70: // PUT
          line();
          remember();
          break;
        case 0x71: // BINPUT
          skip(1);
          remember();
          break;
        case 0x72: // LONG_BINPUT
          skip(4);
          remember();
          break;
        case 0x94: // MEMOIZE
          remember();
          break;
        case 0x63: // GLOBAL: module and name lines
          line();
          line();
          push();
          break;
        case 0x69: // INST: module and name lines, arguments since the MARK
          line();
          line();
          popMark();
          push();
          break;
        case 0x6f: // OBJ: class and arguments since the MARK
          if (level < 1) throw new Error(`${where()} has no class after its MARK`);
          popMark();
          push();
          break;
        case 0x8a: // LONG1
          skip(length(1));
          push();
          break;
        case 0x8b: // LONG4: integers of 256 bytes and more, which no chunk result holds (and whose decoding is quadratic)
          throw new Error(`${where()} is an integer of ${bytes.length - at >= 4 ? view.getUint32(at, true) : '?'} bytes (LONG4), far beyond 2^53`);
        case 0x43: // SHORT_BINBYTES
        case 0x55: // SHORT_BINSTRING
        case 0x8c: // SHORT_BINUNICODE
          skip(length(1));
          push();
          break;
        case 0x42: // BINBYTES: a signed length, where a negative one would move the reader backwards
          need(4);
          if (view.getInt32(at, true) < 0) throw new Error(`${where()} has a negative length`);
          skip(length(4));
          push();
          break;
        case 0x54: // BINSTRING
        case 0x58: // BINUNICODE
          skip(length(4));
          push();
          break;
        case 0x8e: // BINBYTES8
        case 0x8d: // BINUNICODE8
        case 0x96: // BYTEARRAY8
          skip(length(8));
          push();
          break;
        default:
          throw new Error(`unknown ${where()}`);
      }
    }
  }
  throw new Error('the pickle ends without STOP (truncated)');
}
