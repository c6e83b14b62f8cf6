/**
 * merge and emit keep their bytes (issue 13): the chunk results of a builtin run of
 * street-people.avi in 1 s chunks, committed under test/golden/street-people.builtin/ with what
 * the pipeline recorded about them (layout.json says how they were made), go through the merge and
 * emit stages; the output must be byte for byte the one that run wrote
 * (test/golden/street-people.builtin.json.gz). Fixed inputs rather than a new tracking run: HOG's
 * scores may differ in their last bits on another CPU, and this is about merge and emit.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emit, type SourceFacts } from '../../src/stages/emit.ts';
import { closeMergePool, merge } from '../../src/stages/merge.ts';
import { expectGolden, readGolden } from '../helpers/golden.ts';
import { makeWorkspace } from '../helpers/workspace.ts';

const INPUTS = resolve('test/golden/street-people.builtin');

interface Layout {
  source: SourceFacts;
  tracker: { backend: string; version: string; device: string };
  chunks: { index: number; result: string; firstFrame: number; frameCount: number; overlapFrames: number }[];
  frameTimes: number[];
}

afterAll(() => closeMergePool());

describe('merge and emit of committed chunk results', () => {
  it('street-people.avi, builtin, 1 s chunks: the bytes its run wrote', async () => {
    const layout = JSON.parse(readFileSync(join(INPUTS, 'layout.json'), 'utf8')) as Layout;
    const ws = makeWorkspace('golden-merge');
    try {
      const jobDir = join(ws.home, 'jobs', '1');
      mkdirSync(join(jobDir, 'results'), { recursive: true });
      for (const c of layout.chunks) copyFileSync(join(INPUTS, c.result), join(jobDir, 'results', c.result));
      const chunks = layout.chunks.map((c) => ({ index: c.index, resultPath: join(jobDir, 'results', c.result), firstFrame: c.firstFrame, frameCount: c.frameCount, overlapFrames: c.overlapFrames }));
      await merge({ jobDir, chunks, totalFrames: layout.source.frameCount });
      const outboxFile = join(ws.outbox, 'street-people.json');
      await emit({ jobDir, outboxFile, source: layout.source, tracker: layout.tracker, chunks, frameTimes: layout.frameTimes });
      const bytes = readFileSync(outboxFile);
      expect(bytes.length).toBeGreaterThan(10_000);
      expectGolden('street-people.builtin.json', bytes);

      // The jsonl form of the same merge: the document without its frames, then a frame a line, each the document's own JSON.
      const linesFile = join(ws.outbox, 'street-people.jsonl');
      await emit({ jobDir, outboxFile: linesFile, source: layout.source, tracker: layout.tracker, chunks, frameTimes: layout.frameTimes, format: 'jsonl' });
      const golden = readGolden('street-people.builtin.json').toString('utf8');
      const { frames, ...header } = JSON.parse(golden) as { frames: unknown[] };
      expect(`${JSON.stringify({ ...header, frames })}\n`).toBe(golden);
      const lines = readFileSync(linesFile, 'utf8');
      expect(lines).toBe([header, ...frames].map((x) => `${JSON.stringify(x)}\n`).join(''));
      expect(lines.split('\n')).toHaveLength(frames.length + 2);
    } finally {
      ws.cleanup();
    }
  });
});
