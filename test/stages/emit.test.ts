import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmitContext, emit } from '../../src/stages/emit.ts';
import { closeMergePool, createMergePool, merge } from '../../src/stages/merge.ts';
import { ChunkResultError, type MergeChunk, mergeChunks, readChunkPickle } from '../../src/merge/index.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

/** Write real pickles with Debian's python3 + numpy (see test/helpers/make-chunk-pickle.py). */
function writePickles(jobs: object[]): void {
  const r = spawnSync('/usr/bin/python3', [resolve('test/helpers/make-chunk-pickle.py')], { input: JSON.stringify(jobs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-chunk-pickle.py failed: ${r.stderr}`);
}

const TOTAL = 30;
const LAYOUT: Array<[number, number, number]> = [
  [0, 12, 0],
  [12, 18, 4],
];

/** Track two people over two overlapping chunks (real pickles, real merge) into `jobDir/merge.json`. */
async function mergedJob(jobDir: string, pool: Piscina): Promise<MergeChunk[]> {
  mkdirSync(join(jobDir, 'chunks'), { recursive: true });
  const chunks: MergeChunk[] = [];
  const jobs = LAYOUT.map(([firstFrame, frameCount, overlapFrames], index) => {
    const start = firstFrame - overlapFrames;
    const rows = [];
    for (let f = start; f < firstFrame + frameCount; f++) {
      rows.push({ frame: f - start, track: 1, bbox: [5 + f * 1.5, 40, 50.123, 100], score: 0.875, extras: { keypoints2d: Array.from({ length: 17 }, (_, j) => [f + j / 7, j, 0.9]) } });
      if (f % 3 !== 0) rows.push({ frame: f - start, track: 2, bbox: [300 - f, 45, 48, 96], score: 0.6, extras: { keypoints2d: Array.from({ length: 17 }, () => [NaN, 0, 0]) } });
    }
    const resultPath = join(jobDir, 'chunks', `${index}.pkl`);
    chunks.push({ index, resultPath, firstFrame, frameCount, overlapFrames });
    return { out: resultPath, chunk: { schema: 'posepipe.chunk/1', backend: 'builtin', backend_version: '1', device: 'cpu', first_frame: start, frame_count: frameCount + overlapFrames, width: 320, height: 240, rows } };
  });
  writePickles(jobs);
  await merge({ jobDir, chunks, totalFrames: TOTAL, pool });
  return chunks;
}

function context(jobDir: string, outboxFile: string, chunks: MergeChunk[]): EmitContext {
  return {
    jobDir,
    outboxFile,
    source: { name: 'clip.mov', sha256: 'ab'.repeat(32), bytes: 123456, width: 320, height: 240, fps: 29.97, frameCount: TOTAL, durationSeconds: 1.001, codec: 'h264' },
    tracker: { backend: 'builtin', version: '1', device: 'cpu' },
    // Extra fields (like the result path) must not leak into the document.
    chunks: chunks.map((c) => ({ ...c })),
    pool,
  };
}

const schema = JSON.parse(readFileSync(resolve('schema/posepipe-output.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true }).compile(schema);

let ws: Workspace;
let pool: Piscina;
beforeAll(() => {
  pool = createMergePool();
});
afterAll(async () => {
  await pool.close();
  await closeMergePool();
});
beforeEach(() => {
  ws = makeWorkspace('emit');
});
afterEach(() => ws.cleanup());

describe('emit stage', () => {
  it('writes a document that validates against the schema, and reports its size and hash', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const outboxFile = join(ws.outbox, 'clip.json');
    const out = await emit(context(jobDir, outboxFile, chunks));
    const bytes = readFileSync(outboxFile);
    expect(out).toEqual({ file: outboxFile, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const doc = JSON.parse(bytes.toString('utf8'));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(Object.keys(doc)).toEqual(['schema', 'source', 'tracker', 'chunks', 'tracks', 'frames']);
    expect(doc.schema).toBe('posepipe/1');
    expect(doc.tracker).toEqual({ backend: 'builtin', version: '1', device: 'cpu' }); // no precision for builtin
    expect(doc.chunks).toEqual([
      { index: 0, firstFrame: 0, frameCount: 12, overlapFrames: 0 },
      { index: 1, firstFrame: 12, frameCount: 18, overlapFrames: 4 },
    ]);
    expect(doc.frames.map((f: { index: number }) => f.index)).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    expect(doc.frames[7].time).toBe(0.233567);
    expect(doc.frames[1].persons[0]).toMatchObject({ track: 1, bbox: [6.5, 40, 50.12, 100], score: 0.875 });
    expect(doc.frames[1].persons[0].keypoints2d[1]).toEqual([1.1429, 1, 0.9]);
    expect(doc.frames[1].persons[1].keypoints2d[0]).toEqual([null, 0, 0]);
    expect(doc.tracks.map((t: { id: number }) => t.id)).toEqual([1, 2]);
    // No host paths: nothing of the workspace appears in the output.
    expect(bytes.includes(ws.root)).toBe(false);
    expect(readdirSync(ws.outbox)).toEqual(['clip.json']);
  });

  it('writes each frame\'s time from the source\'s presentation times, counted from the first frame, and the source\'s own as sourceTime', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const outboxFile = join(ws.outbox, 'clip.json');
    // A stream starting at 10 s: 50 fps for 10 frames, then 25 fps.
    const frameTimes = Array.from({ length: TOTAL }, (_, i) => 10 + (i < 10 ? i * 0.02 : 0.2 + (i - 10) * 0.04));
    await emit({ ...context(jobDir, outboxFile, chunks), frameTimes });
    const doc = JSON.parse(readFileSync(outboxFile, 'utf8'));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.frames[0]).toMatchObject({ index: 0, time: 0, sourceTime: 10 });
    expect(doc.frames[10]).toMatchObject({ time: 0.2, sourceTime: 10.2 });
    expect(doc.frames[12]).toMatchObject({ time: 0.28, sourceTime: 10.28 });
    expect(Object.keys(doc.frames[12])).toEqual(['index', 'time', 'sourceTime', 'persons']);
    // Times that do not cover every frame are a bug, not a guess.
    await expect(emit({ ...context(jobDir, outboxFile, chunks), frameTimes: frameTimes.slice(1) })).rejects.toThrow(/29 frame times for 30 frames/);
  });

  it('keeps only the extras asked for (the extras setting): none, or those named; all gives the same bytes as no setting', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const write = async (extras?: 'all' | readonly string[]) => {
      const file = join(ws.outbox, 'clip.json');
      await emit({ ...context(jobDir, file, chunks), extras });
      return readFileSync(file);
    };
    const every = await write();
    expect((await write('all')).equals(every)).toBe(true);
    expect((await write(['keypoints2d', 'joints3d'])).equals(every)).toBe(true);
    const none = JSON.parse((await write([])).toString('utf8'));
    expect(validate(none), JSON.stringify(validate.errors)).toBe(true);
    expect(none.frames.flatMap((f: { persons: object[] }) => f.persons.map((p) => Object.keys(p).join(',')))).toContain('track,bbox,score');
    expect(none.frames.every((f: { persons: object[] }) => f.persons.every((p) => Object.keys(p).join(',') === 'track,bbox,score'))).toBe(true);
    // Everything else is as before: the same document without the extras.
    const all = JSON.parse(every.toString('utf8'));
    for (const f of all.frames) for (const p of f.persons) delete p.keypoints2d;
    expect(none).toEqual(all);
  });

  it('names the precision a GPU backend ran at, in a fixed key order', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const outboxFile = join(ws.outbox, 'clip.json');
    const tracker = { precision: 'bf16', device: 'cuda:1', version: '2', backend: 'phalp' };
    await emit({ ...context(jobDir, outboxFile, chunks), tracker });
    const doc = JSON.parse(readFileSync(outboxFile, 'utf8'));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(Object.entries(doc.tracker)).toEqual([['backend', 'phalp'], ['version', '2'], ['device', 'cuda:1'], ['precision', 'bf16']]);
  });

  it('gives identical bytes from two runs in different folders', async () => {
    const outputs: Buffer[] = [];
    for (const name of ['run-a', 'run-b']) {
      const jobDir = join(ws.home, name);
      const chunks = await mergedJob(jobDir, pool);
      const outbox = join(ws.root, `outbox-${name}`);
      mkdirSync(outbox);
      await emit(context(jobDir, join(outbox, 'clip.json'), chunks));
      outputs.push(readFileSync(join(outbox, 'clip.json')));
    }
    expect(outputs[0]!.equals(outputs[1]!)).toBe(true);
  });

  it('writes through a hidden temp name in the outbox, then renames it into place', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const seen = new Set<string>();
    const watcher = watch(ws.outbox, (_event, name) => {
      if (name) seen.add(name);
    });
    try {
      await emit(context(jobDir, join(ws.outbox, 'clip.json'), chunks));
      await waitFor('the rename to clip.json to be reported', () => (seen.has('clip.json') ? true : undefined), 5_000);
    } finally {
      watcher.close();
    }
    const temps = [...seen].filter((name) => name !== 'clip.json');
    expect(temps.length).toBeGreaterThan(0);
    for (const name of temps) expect(name).toMatch(/^\.clip\.json\.tmp-\d+-[0-9a-f]{8}$/);
    expect(readdirSync(ws.outbox)).toEqual(['clip.json']);
  });

  it('leaves no temp file in the outbox when the rename fails', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    // The final name is taken by a folder: the rename fails after the temp file was written.
    mkdirSync(join(ws.outbox, 'clip.json'));
    await expect(emit(context(jobDir, join(ws.outbox, 'clip.json'), chunks))).rejects.toThrow(/EISDIR|EEXIST|ENOTEMPTY|directory/);
    expect(readdirSync(ws.outbox)).toEqual(['clip.json']);
  });

  it('refuses a merge index that does not hold every frame', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const index = JSON.parse(readFileSync(join(jobDir, 'merge.json'), 'utf8'));
    index.chunks.pop();
    writeFileSync(join(jobDir, 'merge.json'), JSON.stringify(index));
    await expect(emit(context(jobDir, join(ws.outbox, 'clip.json'), chunks))).rejects.toThrow(/merge index .*merge\.json does not hold frames 0..29 exactly/);
    expect(readdirSync(ws.outbox)).toEqual([]);
  });

  it('refuses a chunk result changed since the merge, naming the chunk and file; nothing is left in the outbox', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    // The same size, one byte different: only the hash tells.
    const file = chunks[1]!.resultPath;
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 1;
    writeFileSync(file, bytes);
    const error = await emit(context(jobDir, join(ws.outbox, 'clip.json'), chunks)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChunkResultError);
    expect((error as ChunkResultError).chunkIndex).toBe(1);
    expect((error as ChunkResultError).file).toBe(file);
    expect((error as Error).message).toMatch(new RegExp(`^chunk 2: the chunk result changed since it was merged \\(${bytes.length} bytes, sha256 [0-9a-f]{12}; merged: ${bytes.length} bytes, [0-9a-f]{12}\\) in ${file}$`));
    expect(readdirSync(ws.outbox)).toEqual([]);
  });

  it('streams: the document is the one JSON.stringify gives of the merged frames, and no merged frames file is kept', async () => {
    const jobDir = join(ws.home, 'job-1');
    const chunks = await mergedJob(jobDir, pool);
    const outboxFile = join(ws.outbox, 'clip.json');
    await emit(context(jobDir, outboxFile, chunks));
    const text = readFileSync(outboxFile, 'utf8');
    const doc = JSON.parse(text);
    expect(text).toBe(`${JSON.stringify(doc)}\n`);
    const inputs = await Promise.all(chunks.map(async (chunk) => ({ chunk, result: await readChunkPickle(chunk.resultPath) })));
    const merged = mergeChunks(inputs, TOTAL);
    expect(doc.tracks).toEqual(merged.tracks);
    expect(doc.frames.map((f: { index: number; persons: unknown }) => ({ index: f.index, persons: f.persons }))).toEqual(JSON.parse(JSON.stringify(merged.frames)));
    expect(readdirSync(jobDir).sort()).toEqual(['chunks', 'merge.json']);
  });
});

describe('output schema', () => {
  const good = {
    schema: 'posepipe/1',
    source: { name: 'a.mp4', sha256: '0'.repeat(64), bytes: 1, width: 2, height: 2, fps: 25, frameCount: 1, durationSeconds: 0.04, codec: 'h264' },
    tracker: { backend: 'phalp', version: '1', device: 'cuda:0', precision: 'bf16' },
    chunks: [{ index: 0, firstFrame: 0, frameCount: 1, overlapFrames: 0 }],
    tracks: [{ id: 1, firstFrame: 0, lastFrame: 0, frames: 1 }],
    frames: [{ index: 0, time: 0, persons: [{ track: 1, bbox: [1, 2, 3, 4], score: 0.5, joints3d: [[0, 1, 2]], smpl: [[[1]]], camera: [1, 2, 3], conf: 0.9 }] }],
  };
  const broken: Array<[string, (doc: any) => void]> = [
    ['no frames', (d) => delete d.frames],
    ['bbox of 3 numbers', (d) => d.frames[0].persons[0].bbox.pop()],
    ['track id 0', (d) => (d.frames[0].persons[0].track = 0)],
    ['fractional frame index', (d) => (d.frames[0].index = 0.5)],
    ['a string extra', (d) => (d.frames[0].persons[0].note = 'hi')],
    ['an unknown top-level key', (d) => (d.createdAt = '2026-11-01')],
    ['another schema version', (d) => (d.schema = 'posepipe/2')],
    ['a bad hash', (d) => (d.source.sha256 = 'xyz')],
  ];

  it('accepts a document with backend extras', () => {
    expect(validate(good), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(broken)('rejects %s', (_label, breakIt) => {
    const doc = structuredClone(good);
    breakIt(doc);
    expect(validate(doc)).toBe(false);
  });
});
