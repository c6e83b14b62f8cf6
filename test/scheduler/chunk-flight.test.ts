/**
 * A slot's row while it tracks a chunk: frames/s is that chunk's rate from its progress reports
 * (none before the frames move, none once the slot is free), and its last seen moves with every
 * report, a heartbeat that does not advance included, at most once a second. The flight and the
 * database are real; the runner is driven by hand through the ChunkRunner seam, with a fake clock.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDb, type Db, type WorkerRow } from '../../src/db/index.ts';
import { ChunkFlight } from '../../src/scheduler/chunk-flight.ts';
import type { ChunkAttempt, ChunkRunner } from '../../src/scheduler/types.ts';
import type { ChunkResult } from '../../src/stages/track.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';
import { chunkedJob } from '../server/seed.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const at = (ms: number) => vi.setSystemTime(T0 + ms);

let ws: Workspace;
let db: Db;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  at(0);
  ws = makeWorkspace('flight');
  db = openDb(ws.home);
});
afterEach(() => {
  vi.useRealTimers();
  db.close();
  ws.cleanup();
});

/** A runner whose attempt is in the test's hands: it reports progress and finishes when told. */
function handRunner(where: string): ChunkRunner & { attempt: () => ChunkAttempt | undefined; finish: (r: ChunkResult) => void } {
  let attempt: ChunkAttempt | undefined;
  let finish: (r: ChunkResult) => void = () => {};
  return {
    where,
    ready: async () => ({ type: 'ready', backend: 'builtin', version: '1', device: 'cpu', pid: process.pid, loadSeconds: 0 }),
    run: (a) => {
      attempt = a;
      return new Promise((resolve) => (finish = resolve));
    },
    reset: async () => {},
    stop: async () => {},
    attempt: () => attempt,
    finish: (r) => finish(r),
  };
}

describe('a slot tracking a chunk', () => {
  it('shows the chunk’s own frames/s, nothing while free, and when it was last heard from', async () => {
    const where = 'slot 1';
    db.registerWorkers('here', [where]);
    // What an earlier chunk left must not show as this one's rate.
    db.workerChunk(where, { jobId: 99, idx: 0, framesPerSecond: 19 });
    db.workerChunk(where, undefined);
    expect(db.listWorkers()[0]!.frames_per_second).toBeNull();
    const id = chunkedJob(db, { chunks: 1, perChunk: 100 });
    const runner = handRunner(where);
    const flight = new ChunkFlight({ slot: 1, where, runner, db, jobId: id, dir: join(ws.home, 'jobs', String(id)), firstFrame: 0, hooks: { started: () => {}, progress: () => {} } });
    const attempt = await waitFor('the flight to start its attempt', () => runner.attempt());
    const row = (): WorkerRow => db.listWorkers()[0]!;
    expect(row()).toMatchObject({ job_id: id, chunk_idx: 0, frames_per_second: null, last_seen_ms: T0 });
    // Seeking to the chunk's start: the tracker says it is alive, no frame is tracked yet.
    at(1000);
    attempt.onProgress(0);
    expect(row()).toMatchObject({ frames_per_second: null, last_seen_ms: T0 + 1000 });
    at(3000);
    attempt.onProgress(0);
    expect(row()).toMatchObject({ frames_per_second: null, last_seen_ms: T0 + 3000 });
    // Frames move: the rate counts from the last report before they did, not from the start.
    at(4000);
    attempt.onProgress(20);
    expect(row()).toMatchObject({ frames_per_second: 20, last_seen_ms: T0 + 4000 });
    at(4500);
    attempt.onProgress(30);
    expect(row().last_seen_ms).toBe(T0 + 4000);
    at(6000);
    attempt.onProgress(50);
    expect(row()).toMatchObject({ frames_per_second: 16.7, last_seen_ms: T0 + 6000 });
    // A heartbeat after the last frame (writing the result) keeps it seen; the rate is the chunk's so far.
    at(7500);
    attempt.onProgress(50);
    expect(row()).toMatchObject({ frames_per_second: 11.1, last_seen_ms: T0 + 7500 });
    at(8000);
    runner.finish({ file: 'results/0.pkl', bytes: 1, sha256: 'c'.repeat(64), trackerMs: 7000 });
    expect((await flight.done).type).toBe('done');
    expect(row()).toMatchObject({ job_id: null, chunk_idx: null, frames_per_second: null, last_seen_ms: T0 + 8000 });
  });
});
