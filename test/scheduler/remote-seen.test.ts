/**
 * A remote worker's row while it holds an attempt: its last seen moves with every report, a
 * heartbeat that repeats a frame and a hello included (neither renews its lease), and its frames/s
 * is the chunk's rate. The coordinator's side is real (RemoteDispatch, its RemoteRunner, a
 * ChunkFlight, SQLite, a redis-server); the track loop's claim is the few lines it runs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDb, type Db, type WorkerRow } from '../../src/db/index.ts';
import { ChunkFlight, type FlightEnd } from '../../src/scheduler/chunk-flight.ts';
import { RemoteDispatch } from '../../src/scheduler/remote.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { chunkedJob } from '../server/seed.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const at = (ms: number) => vi.setSystemTime(T0 + ms);
const redisFor = redisPerTest();

let ws: Workspace;
let db: Db;
beforeEach(() => {
  ws = makeWorkspace('remote-seen');
  db = openDb(ws.home);
});
afterEach(() => {
  vi.useRealTimers();
  db.close();
  ws.cleanup();
});

describe('a remote worker holding an attempt', () => {
  it('is seen at every report and hello, and shows the chunk’s frames/s', async () => {
    const redis = await redisFor(ws.root);
    const config = loadConfig({ env: { HOME: ws.root, POSEPIPE_HOME: ws.home, POSEPIPE_INBOX: ws.inbox, POSEPIPE_OUTBOX: ws.outbox, POSEPIPE_REDIS_URL: redis.url }, cwd: ws.root, wsl: false });
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    const id = chunkedJob(db, { chunks: 1, perChunk: 100 });
    let flight: ChunkFlight | undefined;
    const dispatch = new RemoteDispatch({
      db,
      config,
      log: () => {},
      tracking: {
        // What TrackLoop.claimRemote does for a pending chunk of a job it tracks.
        claimRemote: (jobId, firstFrame, runner) => {
          flight = new ChunkFlight({ slot: -1, where: runner.where, runner, db, jobId, dir: `${ws.home}/jobs/${jobId}`, firstFrame, hooks: { started: () => {}, progress: () => {} } });
          return Promise.race([runner.started, flight.done.then(() => undefined)]);
        },
        offerable: () => [],
      },
    });
    try {
      const ready = { type: 'ready', backend: 'builtin', version: '1', device: 'cuda:0', pid: 1, loadSeconds: 0 };
      const claim = await dispatch.claim({ jobId: id, firstFrame: 0 }, { name: 'gpu-a', host: 'gpu-a', ready });
      expect(claim.status).toBe(200);
      const attempt = claim.body.attempt as number;
      const row = (): WorkerRow => db.listWorkers().find((w) => w.name === 'worker gpu-a')!;
      expect(row()).toMatchObject({ job_id: id, chunk_idx: 0, frames_per_second: null, last_seen_ms: T0 });
      // Its first report, after downloading the inputs: the rate counts from here.
      at(2000);
      expect(dispatch.progress(attempt, 5).status).toBe(200);
      expect(row()).toMatchObject({ frames_per_second: null, last_seen_ms: T0 + 2000 });
      // A heartbeat repeating the frame (a slow batch): heard from, though its lease is not renewed.
      at(4000);
      dispatch.progress(attempt, 5);
      expect(row().last_seen_ms).toBe(T0 + 4000);
      // Its machine's hello while it holds the attempt: heard from, and it keeps its chunk.
      at(6000);
      expect(dispatch.hello([{ name: 'gpu-a', host: 'gpu-a', device: 'cuda:0', health: 'ready' }]).status).toBe(200);
      expect(row()).toMatchObject({ job_id: id, chunk_idx: 0, last_seen_ms: T0 + 6000 });
      at(7000);
      dispatch.progress(attempt, 45);
      expect(row()).toMatchObject({ frames_per_second: 8, last_seen_ms: T0 + 7000 });
    } finally {
      await dispatch.close();
    }
    // Stopped with the coordinator: the slot is free, and has no rate.
    expect(((await flight!.done) as FlightEnd).type).toBe('failed');
    expect(db.listWorkers().find((w) => w.name === 'worker gpu-a')).toMatchObject({ job_id: null, frames_per_second: null });
  });
});
