/**
 * An uploaded result's two guards below the HTTP route, with real threads and real streams: the
 * check pool (its heap limit ends only the thread that passes it, its time limit, a good result
 * still checked after both) and the receiving stream (the size cap while bytes arrive, the idle
 * cut-off, a slow but moving upload taken whole).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultChecker } from '../../src/scheduler/result-check.ts';
import { receiveUpload, RESULT_BYTES_PER_FRAME, resultCap, UploadIdle, UploadTooLarge } from '../../src/scheduler/result-upload.ts';
import { cat, dict, int, ndarray, OP, pickle, str } from '../helpers/pickle-bytes.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeEach(() => {
  ws = makeWorkspace('result-check');
});
afterEach(() => ws.cleanup());

/** A posepipe.chunk/1 result of one row, as the tracker writes it. */
function chunkPickle(firstFrame: number, frameCount: number): Buffer {
  const f4 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
  return pickle(
    dict([
      ['schema', str('posepipe.chunk/1')],
      ['backend', str('test-fixture')],
      ['backend_version', str('1')],
      ['device', str('cpu')],
      ['first_frame', int(firstFrame)],
      ['frame_count', int(frameCount)],
      ['width', int(320)],
      ['height', int(240)],
      ['frame', ndarray(new Uint8Array(Int32Array.of(0).buffer), 'i4', [1])],
      ['track', ndarray(new Uint8Array(Int32Array.of(1).buffer), 'i4', [1])],
      ['bbox', ndarray(f4([1, 2, 3, 4]), 'f4', [1, 4])],
      ['score', ndarray(f4([0.5]), 'f4', [1])],
      ['extras', [OP.EMPTY_DICT]],
    ]),
  );
}

/** 48 strings of 1 MiB in a list: within every pickle limit, but 48 MiB of heap once read. */
function heapHungry(): Buffer {
  const mib = Buffer.alloc(1024 ** 2, 'a');
  const one = cat([0x58, 0, 0, 0x10, 0], mib, [OP.APPEND]);
  return pickle([OP.EMPTY_LIST], ...new Array<Buffer>(48).fill(one));
}

describe('ResultChecker (the check pool)', () => {
  const checker = new ResultChecker({ heapMb: 24, threads: 1 });
  afterAll(() => checker.close());

  it('passes a good chunk result, refuses one of other frames and one past a pickle limit, naming it', async () => {
    const file = join(ws.root, 'r.pkl');
    writeFileSync(file, chunkPickle(25, 30));
    expect(await checker.problem(file, 25, 30)).toBeUndefined();
    expect(await checker.problem(file, 50, 30)).toBe('it holds frames 25+30, not 50+30');
    writeFileSync(file, pickle(Buffer.alloc(20_000, OP.MARK)));
    expect(await checker.problem(file, 25, 30)).toBe('more than 100 MARKs open at byte 102 (the marks limit)');
    expect(await checker.problem(join(ws.root, 'missing.pkl'), 25, 30)).toMatch(/^it cannot be read \(ENOENT/);
  });

  it('a check past its heap limit fails that check only: the pool replaces the thread and the next check passes', async () => {
    const hungry = join(ws.root, 'hungry.pkl');
    writeFileSync(hungry, heapHungry());
    expect(await checker.problem(hungry, 0, 1)).toBe('checking it needed more than 24 MiB of heap (the check\'s heap limit)');
    const good = join(ws.root, 'good.pkl');
    writeFileSync(good, chunkPickle(0, 1));
    expect(await checker.problem(good, 0, 1)).toBeUndefined();
  });

  it('a check past its time limit is ended', async () => {
    const hurried = new ResultChecker({ seconds: 0.001, threads: 1 });
    try {
      const file = join(ws.root, 'r.pkl');
      writeFileSync(file, chunkPickle(0, 1));
      expect(await hurried.problem(file, 0, 1)).toBe('checking it took longer than 0.001 s (the check\'s time limit)');
    } finally {
      await hurried.close();
    }
  });
});

/** A stream of `pieces`, each `every` ms after the last, that stops (without ending) after them when `stall`. */
function trickle(pieces: Buffer[], every: number, stall = false): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === pieces.length) {
        if (!stall) this.push(null);
        return;
      }
      const piece = pieces[i++]!;
      setTimeout(() => this.push(piece), every);
    },
  });
}

describe('receiveUpload (the result stream)', () => {
  it('the size cap is a frame budget under maxResultMb', () => {
    expect(RESULT_BYTES_PER_FRAME).toBe(1024 ** 2);
    expect(resultCap(30, 512)).toBe(31 * 1024 ** 2);
    expect(resultCap(10_000, 512)).toBe(512 * 1024 ** 2);
  });

  it('stops at the cap while bytes arrive: nothing past it is read or written', async () => {
    const file = join(ws.root, 'part');
    let pulled = 0;
    // An endless source: only the cap can end it.
    const endless = new Readable({
      read() {
        pulled += 65536;
        this.push(Buffer.alloc(65536, OP.NONE));
      },
    });
    const error = await receiveUpload(endless, file, { capBytes: 1024 ** 2, idleSeconds: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadTooLarge);
    expect(endless.destroyed).toBe(true);
    expect(statSync(file).size).toBeLessThanOrEqual(1024 ** 2);
    // What the stream had buffered ahead, not more.
    expect(pulled).toBeLessThan(1024 ** 2 + 20 * 65536);
  });

  it('cuts off an upload that stops sending for idleSeconds', async () => {
    const file = join(ws.root, 'part');
    const started = Date.now();
    const error = await receiveUpload(trickle([Buffer.from('abc')], 10, true), file, { capBytes: 1000, idleSeconds: 0.5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadIdle);
    expect((error as UploadIdle).message).toBe('no byte came for 0.5 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('takes a slow upload whole when its bytes keep coming (no total time limit), telling who listens as they arrive', async () => {
    const file = join(ws.root, 'part');
    const pieces = Array.from({ length: 8 }, (_, i) => Buffer.alloc(100, i));
    const heard: number[] = [];
    const started = Date.now();
    const got = await receiveUpload(trickle(pieces, 150), file, { capBytes: 800, idleSeconds: 0.5, onBytes: (n) => heard.push(n) });
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(got).toEqual({ bytes: 800, sha256: createHash('sha256').update(Buffer.concat(pieces)).digest('hex') });
    expect(readFileSync(file).equals(Buffer.concat(pieces))).toBe(true);
    expect(heard).toEqual([100, 200, 300, 400, 500, 600, 700, 800]);
    expect(existsSync(file)).toBe(true);
  });
});
