import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/errors.ts';
import { ChunkResultError, NdArray, parseChunkPickle, readChunkPickle, unpickleNumpy } from '../../src/merge/index.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

/** Write real pickles with Debian's python3 + numpy (see test/helpers/make-chunk-pickle.py). */
function writePickles(jobs: object[]): void {
  const r = spawnSync('/usr/bin/python3', [resolve('test/helpers/make-chunk-pickle.py')], { input: JSON.stringify(jobs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-chunk-pickle.py failed: ${r.stderr}`);
}

const HEADER = { schema: 'posepipe.chunk/1', backend: 'builtin', backend_version: '1.0', device: 'cpu', first_frame: 10, frame_count: 4, width: 320, height: 240 };

function keypoints(seed: number): number[][] {
  return Array.from({ length: 17 }, (_, j) => [seed + j + 0.25, seed - j, 0.5]);
}

const ROWS = [
  { frame: 0, track: 1, bbox: [10.5, 20.25, 30, 60], score: 0.9, extras: { keypoints2d: keypoints(1) } },
  { frame: 0, track: 2, bbox: [100, 20, 30, 60], score: 0.8, extras: { keypoints2d: keypoints(2) } },
  { frame: 2, track: 1, bbox: [12, 21, 30, 60], score: 0.75, extras: { keypoints2d: keypoints(3) } },
];

let ws: Workspace;
beforeEach(() => {
  ws = makeWorkspace('pickle');
});
afterEach(() => ws.cleanup());

/** Plain view of a ChunkResult for comparing two reads. */
function plain(result: Awaited<ReturnType<typeof readChunkPickle>>): unknown {
  return {
    ...result,
    frame: [...result.frame],
    track: [...result.track],
    bbox: [...result.bbox],
    score: [...result.score],
    extras: [...result.extras].map(([name, a]) => [name, a.dtype, a.shape, [...a.data]]),
  };
}

describe('readChunkPickle', () => {
  it('reads a protocol 5 chunk result into typed arrays with shapes kept', async () => {
    const file = join(ws.root, 'c.pkl');
    writePickles([{ out: file, protocol: 5, chunk: { ...HEADER, rows: ROWS } }]);
    const result = await readChunkPickle(file);
    expect(result).toMatchObject({ backend: 'builtin', backendVersion: '1.0', device: 'cpu', firstFrame: 10, frameCount: 4, width: 320, height: 240, rows: 3 });
    expect(result.frame).toBeInstanceOf(Int32Array);
    expect([...result.frame]).toEqual([0, 0, 2]);
    expect([...result.track]).toEqual([1, 2, 1]);
    expect(result.bbox).toBeInstanceOf(Float32Array);
    expect([...result.bbox.subarray(0, 4)]).toEqual([10.5, 20.25, 30, 60]);
    expect([...result.score].map((s) => Math.round(s * 1e4) / 1e4)).toEqual([0.9, 0.8, 0.75]);
    const kp = result.extras.get('keypoints2d')!;
    expect(kp.shape).toEqual([3, 17, 3]);
    expect(kp.dtype).toBe('f4');
    // Row 2, joint 16: [3 + 16 + 0.25, 3 - 16, 0.5]
    expect([...kp.data.subarray(2 * 51 + 16 * 3, 2 * 51 + 17 * 3)]).toEqual([19.25, -13, 0.5]);
  });

  it('reads protocol 4 and numpy 2 spellings (numpy._core) to the same result as protocol 5', async () => {
    const variants = [
      { protocol: 5, numpy2: false },
      { protocol: 4, numpy2: false },
      { protocol: 5, numpy2: true },
      { protocol: 4, numpy2: true },
    ];
    writePickles(variants.map((v, i) => ({ out: join(ws.root, `v${i}.pkl`), ...v, chunk: { ...HEADER, rows: ROWS } })));
    const bytes = variants.map((_, i) => readFileSync(join(ws.root, `v${i}.pkl`)));
    expect(bytes[2]!.includes('numpy._core')).toBe(true);
    expect(bytes[0]!.includes('numpy._core')).toBe(false);
    const results = await Promise.all(variants.map((_, i) => readChunkPickle(join(ws.root, `v${i}.pkl`))));
    for (const r of results.slice(1)) expect(plain(r)).toEqual(plain(results[0]!));
  });

  it('accepts numpy scalars in the header and int64 frame/track arrays (numpy default ints)', async () => {
    const file = join(ws.root, 'scalars.pkl');
    writePickles([
      {
        out: file,
        chunk: { ...HEADER, rows: ROWS },
        override: {
          first_frame: { $scalar: 10, dtype: 'int64' },
          frame_count: { $scalar: 4, dtype: 'int32' },
          frame: { $array: [0, 0, 2], dtype: 'int64' },
          track: { $array: [1, 2, 1], dtype: 'int64' },
          score: { $array: [0.9, 0.8, 0.75], dtype: 'float64' },
        },
      },
    ]);
    const result = await readChunkPickle(file);
    expect(result.firstFrame).toBe(10);
    expect(result.frameCount).toBe(4);
    expect(result.frame).toBeInstanceOf(Int32Array);
    expect([...result.track]).toEqual([1, 2, 1]);
    expect(result.score).toBeInstanceOf(Float64Array);
    expect([...result.score]).toEqual([0.9, 0.8, 0.75]);
  });

  it('reads an empty chunk (M = 0) with its extras', async () => {
    const file = join(ws.root, 'empty.pkl');
    writePickles([{ out: file, chunk: { ...HEADER, rows: [], extraShapes: { keypoints2d: [17, 3] } } }]);
    const result = await readChunkPickle(file);
    expect(result.rows).toBe(0);
    expect(result.bbox.length).toBe(0);
    expect(result.extras.get('keypoints2d')!.shape).toEqual([0, 17, 3]);
  });
});

describe('unpickleNumpy', () => {
  it('decodes numpy scalars and arrays of every supported dtype, Fortran order and big-endian included', () => {
    const file = join(ws.root, 'mixed.pkl');
    const grid = [
      [1.5, 2.5, 3.5],
      [4.5, 5.5, 6.5],
    ];
    const cube = [
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [7, 8],
        [9, 10],
        [11, 12],
      ],
    ];
    for (const protocol of [4, 5]) {
      writePickles([
        {
          out: file,
          protocol,
          value: {
            i64: { $scalar: 9007199254740991, dtype: 'int64' },
            f32: { $scalar: 0.5, dtype: 'float32' },
            f64: { $scalar: 0.1, dtype: 'float64' },
            yes: { $scalar: true, dtype: 'bool' },
            int64s: { $array: [-1, 2, 3], dtype: 'int64' },
            float64s: { $array: grid, dtype: 'float64' },
            fortran: { $array: grid, dtype: 'float32', order: 'F' },
            fortran3: { $array: cube, dtype: 'int32', order: 'F' },
            bools: { $array: [true, false, true], dtype: 'bool' },
            bytes: { $array: [0, 255, 7], dtype: 'uint8' },
            bigEndian: { $array: [1, -2, 65536], dtype: '>i4' },
            list: [1, 'two', 3.25, null, true],
          },
        },
      ]);
      const value = unpickleNumpy(readFileSync(file)) as Map<string, unknown>;
      expect(value.get('i64')).toBe(9007199254740991);
      expect(value.get('f32')).toBe(0.5);
      expect(value.get('f64')).toBe(0.1);
      expect(value.get('yes')).toBe(true);
      const array = (key: string) => value.get(key) as NdArray;
      expect(array('int64s').data).toEqual(new BigInt64Array([-1n, 2n, 3n]));
      expect(array('float64s')).toEqual(new NdArray('f8', [2, 3], new Float64Array(grid.flat())));
      expect(array('fortran')).toEqual(new NdArray('f4', [2, 3], new Float32Array(grid.flat())));
      expect(array('fortran3')).toEqual(new NdArray('i4', [2, 3, 2], new Int32Array(cube.flat(2))));
      expect([...array('bools').data]).toEqual([1, 0, 1]);
      expect(array('bytes').data).toEqual(new Uint8Array([0, 255, 7]));
      expect([...array('bigEndian').data]).toEqual([1, -2, 65536]);
      expect(value.get('list')).toEqual([1, 'two', 3.25, null, true]);
    }
  });

  it('refuses object arrays with a clear message', () => {
    const file = join(ws.root, 'object.pkl');
    writePickles([{ out: file, value: { a: { $array: [1, 'x'], dtype: 'object' } } }]);
    expect(() => unpickleNumpy(readFileSync(file))).toThrow(/numpy dtype O8 is not supported/);
  });
});

describe('bad chunk results are refused, naming the file', () => {
  async function refusal(file: string): Promise<ChunkResultError> {
    const error = await readChunkPickle(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChunkResultError);
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as ChunkResultError).kind).toBe('internal');
    expect((error as ChunkResultError).message).toContain(file);
    return error as ChunkResultError;
  }

  it('refuses a custom class, naming the global', async () => {
    const file = join(ws.root, 'custom.pkl');
    writePickles([{ out: file, chunk: { ...HEADER, rows: ROWS }, override: { note: { $custom: 1 } } }]);
    expect((await refusal(file)).message).toBe(`unexpected global __main__.Custom in ${file}`);
  });

  it('refuses numpy globals off the allow-list', async () => {
    const file = join(ws.root, 'numpy-type.pkl');
    writePickles([{ out: file, chunk: { ...HEADER, rows: ROWS }, override: { extras: { dtype: { $numpy: 'float32' } } } }]);
    expect((await refusal(file)).message).toBe(`unexpected global numpy.float32 in ${file}`);
  });

  it('refuses truncated, empty and garbage files', async () => {
    const whole = join(ws.root, 'whole.pkl');
    writePickles([{ out: whole, chunk: { ...HEADER, rows: ROWS } }]);
    const bytes = readFileSync(whole);
    const cuts = [0, 1, 10, Math.floor(bytes.length / 2), bytes.length - 30, bytes.length - 1];
    for (const cut of cuts) {
      const file = join(ws.root, `cut-${cut}.pkl`);
      writeFileSync(file, bytes.subarray(0, cut));
      expect((await refusal(file)).message).toMatch(/truncated or corrupt pickle/);
    }
    const garbage = join(ws.root, 'garbage.pkl');
    writeFileSync(garbage, 'this is not a pickle at all\n');
    expect((await refusal(garbage)).message).toMatch(/truncated or corrupt pickle/);
    const missing = join(ws.root, 'missing.pkl');
    expect((await refusal(missing)).message).toMatch(/cannot read chunk result/);
  });

  const broken: Array<[string, object, RegExp]> = [
    ['wrong schema', { override: { schema: 'posepipe.chunk/2' } }, /schema is "posepipe.chunk\/2", expected "posepipe.chunk\/1"/],
    ['missing field', { drop: ['width'] }, /missing field "width"/],
    ['bbox of 3 columns', { override: { bbox: { $array: [[1, 2, 3], [1, 2, 3], [1, 2, 3]], dtype: 'float32' } } }, /field "bbox" has shape \(3,3\), expected \(3,4\)/],
    ['score length', { override: { score: { $array: [0.5, 0.5], dtype: 'float32' } } }, /field "score" has shape \(2,\), expected \(3,\)/],
    ['track length', { override: { track: { $array: [1, 2], dtype: 'int32' } } }, /field "track" has shape \(2,\), expected \(3,\)/],
    ['float frames', { override: { frame: { $array: [0, 0, 2], dtype: 'float32' } } }, /field "frame" has dtype f4, expected integers/],
    ['unsorted rows', { override: { frame: { $array: [0, 2, 0], dtype: 'int32' } } }, /row 2 \(frame 0, track 1\) is not after row 1/],
    ['track 0', { override: { track: { $array: [0, 2, 1], dtype: 'int32' } } }, /row 0 has track 0, expected >= 1/],
    ['frame past frame_count', { override: { frame_count: 2 } }, /row 2 has frame 2, outside 0..1/],
    ['NaN box', { override: { bbox: { $array: [[1, 2, 3, 4], [1, 2, NaN, 4], [1, 2, 3, 4]], dtype: 'float32' } } }, /field "bbox" has a non-finite value at flat index 6/],
    ['extras rows', { override: { extras: { keypoints2d: { $array: [[1, 2]], dtype: 'float32' } } } }, /extras\["keypoints2d"\] has shape \(1,2\), expected 3 rows first/],
    ['extras clash', { override: { extras: { score: { $array: [1, 2, 3], dtype: 'float32' } } } }, /extras key "score" clashes/],
    ['not a dict', { override: { extras: [1, 2] } }, /field "extras" is not a dict/],
  ];
  it.each(broken)('refuses a chunk with %s', async (_label, change, message) => {
    const file = join(ws.root, 'broken.pkl');
    writePickles([{ out: file, chunk: { ...HEADER, rows: ROWS }, ...change }]);
    expect((await refusal(file)).message).toMatch(message);
  });

  it('parseChunkPickle names the given file for bytes read elsewhere', () => {
    expect(() => parseChunkPickle(new Uint8Array([0x80, 0x05]), 'chunks/0003.pkl')).toThrow(/in chunks\/0003.pkl$/);
  });
});
