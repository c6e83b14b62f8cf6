/**
 * Every bound an uploaded pickle is read under, each on a crafted pickle just past it (refused,
 * naming the limit) and, where it is a count, one just within it (read). The two probes of a
 * hostile worker at full size: 150 MB of `(` + `N` (which made V8 abort the process) and a 2 MB
 * Fortran array of 2,000 dimensions (5 s of event loop), refused in milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { NdArray, PICKLE_LIMITS, PickleLimitError, type PickleLimits, parseChunkPickle, scanPickle, unpickleNumpy } from '../../src/merge/index.ts';
import { cat, dict, int, ndarray, OP, pickle, str, tuple } from '../helpers/pickle-bytes.ts';

const limits = (over: Partial<PickleLimits>): PickleLimits => ({ ...PICKLE_LIMITS, ...over });

/** The PickleLimitError unpickling `bytes` throws. */
function refusal(bytes: Uint8Array, within: PickleLimits = PICKLE_LIMITS): PickleLimitError {
  try {
    unpickleNumpy(bytes, within);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(PickleLimitError);
    return error as PickleLimitError;
  }
  throw new Error('the pickle was read');
}

function repeat(part: readonly number[], times: number): Buffer {
  return Buffer.from(new Array<readonly number[]>(times).fill(part).flat());
}

describe('pickle limits', () => {
  it('the probe `(` + 150 million `N` is refused at the stack limit after 10,001 values, in milliseconds', () => {
    const flood = Buffer.alloc(3 + 150_000_000, OP.NONE);
    flood.set([0x80, 5, OP.MARK]);
    const started = performance.now();
    const error = refusal(flood);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.limit).toBe('stack');
    expect(error.message).toBe(`more than ${PICKLE_LIMITS.stack} values on the unpickling stack at byte ${3 + PICKLE_LIMITS.stack} (the stack limit)`);
  });

  it('stack: 10,000 values are read, 10,001 refused (DUP counts too)', () => {
    const list = (n: number) => pickle([OP.MARK], repeat([OP.NONE], n), [0x6c /* LIST */]);
    expect((unpickleNumpy(list(PICKLE_LIMITS.stack)) as unknown[]).length).toBe(PICKLE_LIMITS.stack);
    expect(refusal(list(PICKLE_LIMITS.stack + 1)).limit).toBe('stack');
    expect(refusal(pickle([OP.NONE], repeat([0x32 /* DUP */], 20)), limits({ stack: 10 })).limit).toBe('stack');
  });

  it('opcodes: a push and pop flood that never grows the stack is refused past the opcode limit', () => {
    const pushPop = (pairs: number) => pickle(repeat([OP.NONE, OP.POP], pairs), [OP.NONE]);
    expect(unpickleNumpy(pushPop(49_000))).toBeNull();
    const error = refusal(pushPop(PICKLE_LIMITS.opcodes / 2));
    expect(error.limit).toBe('opcodes');
    expect(error.message).toBe(`more than ${PICKLE_LIMITS.opcodes} opcodes (the opcodes limit)`);
  });

  it('marks: 100 open MARKs are read, 101 refused', () => {
    const nested = (n: number) => pickle(repeat([OP.MARK], n), repeat([OP.TUPLE], n));
    expect(unpickleNumpy(nested(PICKLE_LIMITS.marks))).toBeInstanceOf(Array);
    const error = refusal(nested(PICKLE_LIMITS.marks + 1));
    expect(error.limit).toBe('marks');
    expect(error.message).toMatch(/^more than 100 MARKs open at byte 102 \(the marks limit\)$/);
  });

  it('memo: 10,000 entries are read, 10,001 refused', () => {
    const memoized = (n: number) => pickle([OP.NONE], repeat([OP.MEMOIZE], n));
    expect(unpickleNumpy(memoized(PICKLE_LIMITS.memo))).toBeNull();
    const error = refusal(memoized(PICKLE_LIMITS.memo + 1));
    expect(error.limit).toBe('memo');
    expect(error.message).toMatch(/more than 10000 values stored in the memo/);
  });

  it('depth: lists nested 100 deep are read, 101 refused (built without MARKs, so the stack limit does not see them)', () => {
    const nested = (n: number) => pickle(repeat([OP.EMPTY_LIST], n), repeat([OP.APPEND], n - 1));
    expect(unpickleNumpy(nested(PICKLE_LIMITS.depth))).toBeInstanceOf(Array);
    const error = refusal(nested(PICKLE_LIMITS.depth + 1));
    expect(error.limit).toBe('depth');
    expect(error.message).toBe('lists, tuples and dicts nested more than 100 deep (the depth limit)');
  });

  it('ndim: 64 dimensions are read, 65 refused; the 2 MB Fortran probe of 2,000 dimensions in milliseconds', () => {
    const ones = (n: number) => new Array<number>(n).fill(1);
    const ok = unpickleNumpy(pickle(ndarray(Uint8Array.of(7, 8), 'u1', [2, ...ones(63)], 'F'))) as NdArray;
    expect(ok.shape).toHaveLength(64);
    expect([...ok.data]).toEqual([7, 8]);
    expect(refusal(pickle(ndarray(Uint8Array.of(7, 8), 'u1', [2, ...ones(64)], 'F'))).message).toBe('a numpy array of 65 dimensions, more than 64 (the ndim limit)');
    const probe = pickle(ndarray(new Uint8Array(2_000_000), 'u1', [2_000_000, ...ones(1999)], 'F'));
    const started = performance.now();
    expect(refusal(probe).limit).toBe('ndim');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a Fortran array of many dimensions is reordered right, in time linear in its elements', () => {
    // 2 x 1 x 3 x 1 x ... x 2 (64 dimensions): element [i, 0, j, 0, ..., k] is at i + 2j + 6k in Fortran order.
    const shape = [2, 1, 3, ...new Array<number>(60).fill(1), 2];
    const fortran = Float64Array.from({ length: 12 }, (_, n) => n);
    const value = unpickleNumpy(pickle(ndarray(new Uint8Array(fortran.buffer), 'f8', shape, 'F'))) as NdArray;
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) expected.push(i + 2 * j + 6 * k);
    expect([...value.data]).toEqual(expected);
    // 4 million elements in 64 dimensions (22 of size 2, the rest 1): linear, not elements x dimensions.
    const big = new Uint8Array(2 ** 22);
    const started = performance.now();
    unpickleNumpy(pickle(ndarray(big, 'u1', [...new Array<number>(22).fill(2), ...new Array<number>(42).fill(1)], 'F')));
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('elements: shape x itemsize must be the raw bytes, and a shape past 2^53 elements is refused before any multiplication goes wrong', () => {
    expect(() => unpickleNumpy(pickle(ndarray(new Uint8Array(8), 'f4', [3])))).toThrow('numpy f4 array has 8 bytes, expected 12 (3 elements of 4 bytes)');
    expect(() => unpickleNumpy(pickle(ndarray(new Uint8Array(0), 'f4', [2 ** 30, 2 ** 30, 2 ** 30, 0])))).toThrow(/has more than 2\^53 elements/);
    expect(() => unpickleNumpy(pickle(ndarray(new Uint8Array(0), 'f8', [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1])))).toThrow(/has more than 2\^53 elements/);
    expect((unpickleNumpy(pickle(ndarray(new Uint8Array(0), 'f4', [5, 0]))) as NdArray).shape).toEqual([5, 0]);
  });

  it('bytes: arrays may not copy more bytes than the pickle holds (the same raw bytes named twice by the memo)', () => {
    const raw = new Uint8Array(4096).fill(1);
    const once = pickle(tuple(ndarray(raw, 'u1', [4096])));
    expect((unpickleNumpy(once) as NdArray[])[0]!.data.length).toBe(4096);
    const twice = pickle(tuple(ndarray(raw, 'u1', [4096]), ndarray({ memo: 0 }, 'u1', [4096])));
    const error = refusal(twice);
    expect(error.limit).toBe('bytes');
    expect(error.message).toBe(`numpy arrays of more bytes than the ${twice.length} bytes of the pickle (the same bytes used twice) (the bytes limit)`);
  });

  it('refuses what would loop or run quadratic: a negative length, a LONG4 integer, and unbalanced MARKs', () => {
    // BINBYTES of -5 bytes would move the reader back onto itself, forever.
    expect(() => scanPickle(pickle([OP.BINBYTES, 0xfb, 0xff, 0xff, 0xff]))).toThrow('opcode 0x42 at byte 2 has a negative length');
    expect(() => scanPickle(pickle([OP.LONG4, 0, 0, 0, 1], new Uint8Array(0)))).toThrow(/integer of 16777216 bytes \(LONG4\)/);
    expect(() => scanPickle(pickle([OP.TUPLE]))).toThrow('opcode 0x74 at byte 2 has no MARK to go back to');
    expect(() => scanPickle(pickle([OP.APPEND]))).toThrow('opcode 0x61 at byte 2 takes 2 values where 0 are');
    expect(() => scanPickle(cat([0x80, 5, OP.NONE]))).toThrow('the pickle ends without STOP (truncated)');
  });

  it('a chunk result past a limit is refused naming the file and the limit', () => {
    const header = dict([['schema', str('posepipe.chunk/1')], ['frame_count', int(1)], ['frame', ndarray(new Uint8Array(0), 'i4', [0, ...new Array<number>(70).fill(1)])]]);
    expect(() => parseChunkPickle(pickle(header), 'results/0000000+30.pkl')).toThrow('a numpy array of 71 dimensions, more than 64 (the ndim limit) in results/0000000+30.pkl');
  });
});
