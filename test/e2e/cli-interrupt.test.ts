/**
 * Ctrl-C in `posepipe start` while a chunk is being tracked: tracking stops at once (the tracker
 * process is gone, no frame is tracked after), posepipe exits 130 within 5 s, the chunk is left to
 * resume rather than failed, and `start` again finishes the job with the bytes of an uninterrupted
 * run (the golden file the output test keeps for the same input and settings).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { expectGolden } from '../helpers/golden.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

interface Chunk {
  idx: number;
  state: string;
  frames_done: number;
}

function read<T>(home: string, sql: string): T[] {
  const file = join(home, 'posepipe.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

const alive = (pid: number) => spawnSync('ps', ['-p', String(pid)]).status === 0;

describe('Ctrl-C in posepipe start', () => {
  it('stops tracking within 5 s with exit 130, and the next start finishes the job with the same bytes', async () => {
    ws = makeWorkspace('cli-interrupt');
    // The settings of the golden with-audio output (two people a frame with phalp's extras, 1 s chunks).
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_PEOPLE: '2', POSEPIPE_TEST_FIXTURE_EXTRAS: 'phalp', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5' });
    const home = ws.home;
    // Slow frames, so that the stop lands in the middle of a chunk.
    const first = spawnCli(['start'], { ...env, POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.1' });
    copyFileSync(fixture('with-audio.mp4'), join(ws.inbox, 'with-audio.mp4'));
    const tracking = await waitFor('a chunk to be tracked part way (frames_done > 0 on a running chunk)', () => read<Chunk>(home, "SELECT idx, state, frames_done FROM chunks WHERE state = 'running' AND frames_done > 0")[0], 60_000);
    const [load] = read<{ pid: number }>(home, 'SELECT pid FROM tracker_loads ORDER BY id DESC LIMIT 1');

    const sent = Date.now();
    first.child.kill('SIGINT');
    const stopped = await first.done;
    const seconds = (Date.now() - sent) / 1000;
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(130);
    console.log(`Ctrl-C during tracking: posepipe exited ${seconds.toFixed(2)} s after the signal`);
    expect(seconds).toBeLessThan(5);
    expect(stopped.stderr).not.toMatch(/\n\s+at /);
    expect(alive(load!.pid), `tracker pid ${load!.pid} still running after the stop`).toBe(false);
    // Left to resume, not failed: no chunk failed and no failure was recorded.
    const after = read<Chunk & { error_kind: string | null }>(home, 'SELECT idx, state, frames_done, error_kind FROM chunks ORDER BY idx');
    expect(after.find((c) => c.idx === tracking.idx)?.state).toBe('pending');
    expect(after.every((c) => c.state !== 'failed' && c.error_kind === null)).toBe(true);
    expect(read<{ state: string }>(home, 'SELECT state FROM jobs')).toEqual([{ state: 'queued' }]);
    expect(existsSync(join(ws.outbox, 'with-audio.json'))).toBe(false);

    const again = spawnCli(['start'], env);
    try {
      await waitFor('the resumed job to be done', () => (read<{ state: string }>(home, 'SELECT state FROM jobs')[0]?.state === 'done' ? true : undefined), 60_000);
    } finally {
      again.child.kill('SIGTERM');
    }
    expect((await again.done).code).toBe(0);
    expectGolden('with-audio.phalp-shaped.json', readFileSync(join(ws.outbox, 'with-audio.json')));
  });
});
