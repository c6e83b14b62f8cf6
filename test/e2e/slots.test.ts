/**
 * Several tracker slots on one machine (`--workers`): a slot whose backend cannot load gets no
 * chunks while the others finish the job; out of memory on one slot splits its chunk while the
 * other slots go on. (Side by side on 3 slots with the bytes of 1: test/e2e/queue.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

interface Row { idx: number; state: string; attempts: number; started_ms: number; finished_ms: number; first_frame: number; frame_count: number; splits: number }

function rows(ws: Workspace): { chunks: Row[]; loads: { pid: number }[] } {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    return {
      chunks: db.prepare('SELECT idx, state, attempts, started_ms, finished_ms, first_frame, frame_count, splits FROM chunks ORDER BY idx').all() as Row[],
      loads: db.prepare('SELECT pid FROM tracker_loads ORDER BY id').all() as { pid: number }[],
    };
  } finally {
    db.close();
  }
}

async function runWith(label: string, workers: string, extra: Record<string, string> = {}, args: string[] = []) {
  const ws = workspace(label);
  // 6 chunks of 1 s; 40 ms a frame stands in for a GPU's work, so the slots' chunks overlap in time.
  const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.04', ...extra });
  const r = await runCli(['run', fixture('small.mp4'), '--chunk-seconds', '1', '--overlap-frames', '5', '--workers', workers, ...args], env);
  return { ws, r, out: () => readFileSync(join(ws.outbox, 'small.json')) };
}

describe('tracker slots (--workers)', () => {
  it('gives no chunks to a slot whose backend cannot load; the other slots finish the job', async () => {
    const run = await runWith('slots-unready', 'cpu,cuda:1,cpu', { POSEPIPE_TEST_FIXTURE_FAIL_LOAD_ON: 'cuda:1' });
    expect(run.r.code, run.r.stderr).toBe(0);
    expect(run.r.stderr).toMatch(/tracker slot 2 \(cuda:1\) cannot load its backend: .*no backend on cuda:1/);
    const { chunks, loads } = rows(run.ws);
    expect(chunks.every((c) => c.state === 'done' && c.attempts === 1)).toBe(true);
    expect(loads).toHaveLength(2);
    const worker = readFileSync(join(run.ws.home, 'worker.log'), 'utf8');
    expect(worker).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[slot 2 cuda:1\] .*no backend on cuda:1/m);
    // status --json shows the slots: the one that cannot load as unhealthy, with its error.
    const st = JSON.parse((await runCli(['status', '--json'], cliEnv(run.ws))).stdout) as { workers: { name: string; health: string; error: string | null; device: string | null; current: unknown }[] };
    expect(st.workers.map((w) => [w.name, w.health])).toEqual([
      ['slot 1 (cpu)', 'stopped'],
      ['slot 2 (cuda:1)', 'unhealthy'],
      ['slot 3 (cpu)', 'stopped'],
    ]);
    expect(st.workers[1]!.error).toMatch(/no backend on cuda:1/);
    // The backend's traceback comes with its error, not only in worker.log.
    expect(st.workers[1]!.error).toMatch(/\nTraceback \(most recent call last\):\n[^]*no backend on cuda:1/);
    const text = (await runCli(['status'], cliEnv(run.ws))).stdout;
    expect(text).toMatch(/\nslot 2 \(cuda:1\) cannot load its backend:\n {2}[^\n]*no backend on cuda:1[^\n]*\n {2}Traceback \(most recent call last\):\n/);
    expect(st.workers[0]!.device).toMatch(/^cpu/);
    expect(st.workers.every((w) => w.current === null)).toBe(true);
  }, 120_000);

  it('fails the job with the load error when no slot can load the backend', async () => {
    const run = await runWith('slots-none', 'cuda:1,cuda:1', { POSEPIPE_TEST_FIXTURE_FAIL_LOAD_ON: 'cuda:1' });
    expect(run.r.code).toBe(1);
    expect(run.r.stderr).toMatch(/no backend on cuda:1/);
    expect(rows(run.ws).chunks.every((c) => c.state === 'pending' && c.attempts === 0)).toBe(true);
  }, 120_000);

  it('splits chunks that run out of memory on one slot while the others go on, with the same bytes as on one slot', async () => {
    // The first chunk (25 frames, no overlap) fits; the others (5 overlap + 25) do not and are halved.
    // 10 ms a frame: the halving, not the tracking, is what this looks at.
    const oom = { POSEPIPE_TEST_FIXTURE_OOM_ABOVE: '25', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.01' };
    const split = await runWith('slots-oom', '3', oom, ['--min-chunk-frames', '4']);
    expect(split.r.code, split.r.stderr).toBe(0);
    const single = await runWith('slots-oom-1', '1', oom, ['--min-chunk-frames', '4']);
    expect(single.r.code, single.r.stderr).toBe(0);
    expect(split.out().equals(single.out())).toBe(true);
    const { chunks } = rows(split.ws);
    expect(chunks.every((c) => c.state === 'done')).toBe(true);
    expect(chunks.filter((c) => c.splits > 0).length).toBeGreaterThan(0);
    // Contiguous, no gaps or overlaps between the rows after the splits.
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.first_frame).toBe(chunks[i - 1]!.first_frame + chunks[i - 1]!.frame_count);
    const doc = JSON.parse(split.out().toString('utf8')) as { frames: { index: number }[] };
    expect(split.r.stderr).not.toMatch(/posepipe bug/);
    expect(doc.frames.map((f) => f.index)).toEqual(Array.from({ length: doc.frames.length }, (_, i) => i));
  }, 180_000);

  it('a split that shortens the overlap of a chunk another slot is tracking, or has tracked: that chunk is tracked again', async () => {
    // 16 overlap frames: halves of 12-13 frames shorten the next row's overlap (splitChunk), so an
    // attempt running with the old overlap no longer fits its row and is given back, and a result
    // already done with it is tracked again. Where the splits fall depends on which slot got there
    // first (an overlap shortened before or after its chunk ran out of memory), so the chunk layout,
    // and with it the bytes, may differ from one slot's; every frame is still there once.
    // 10 ms a frame: the halving, not the tracking, is what this looks at.
    const oom = { POSEPIPE_TEST_FIXTURE_OOM_ABOVE: '25', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.01' };
    const run = await runWith('slots-overlap', '3', oom, ['--min-chunk-frames', '4', '--overlap-frames', '16']);
    expect(run.r.code, run.r.stderr).toBe(0);
    const db = new Database(join(run.ws.home, 'posepipe.db'), { readonly: true });
    const chunks = db.prepare('SELECT first_frame, frame_count, overlap_frames, state, error_kind FROM chunks ORDER BY idx').all() as { first_frame: number; frame_count: number; overlap_frames: number; state: string; error_kind: string | null }[];
    db.close();
    expect(chunks.every((c) => c.state === 'done')).toBe(true);
    // No result tracked with a stale overlap reached the merge (it would have been sent back as damaged, kind internal).
    expect(chunks.filter((c) => c.error_kind === 'internal')).toEqual([]);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.first_frame).toBe(chunks[i - 1]!.first_frame + chunks[i - 1]!.frame_count);
      expect(chunks[i]!.overlap_frames).toBeLessThanOrEqual(chunks[i - 1]!.frame_count);
    }
    const doc = JSON.parse(run.out().toString('utf8')) as { frames: { index: number }[] };
    expect(doc.frames.map((f) => f.index)).toEqual(Array.from({ length: doc.frames.length }, (_, i) => i));
  }, 240_000);
});
