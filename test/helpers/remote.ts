/**
 * Coordinator and worker processes for tests of remote work: real `posepipe start` and `posepipe
 * worker` processes, killed after each test (their output printed when the test failed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect } from 'vitest';
import { cliEnv, runCli, spawnCli } from './cli.ts';
import { fixture } from './fixtures.ts';
import { waitFor, type Workspace } from './workspace.ts';

/** A spawned posepipe process. */
export type App = ReturnType<typeof spawnCli>;

/** The worker token of these tests. */
export const TOKEN = 'test-token-0123456789abcdef';
/** 6 chunks of 25 frames (small.mp4); 20 ms a frame stands in for a GPU. */
export const BASE = { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.02' };

/** For a test file: a spawner of posepipe processes, all SIGKILLed after each test. */
export function appsPerTest(): (args: string[], env: NodeJS.ProcessEnv) => App {
  const apps: App[] = [];
  afterEach(async (ctx) => {
    for (const app of apps.splice(0)) {
      if (app.child.exitCode === null && app.child.signalCode === null) {
        app.child.kill('SIGCONT');
        app.child.kill('SIGKILL');
        await app.done;
      }
      if (ctx.task.result?.state === 'fail') console.error(`--- ${app.child.spawnargs.slice(2).join(' ')}:\n${app.output().slice(-3000)}`);
    }
  });
  return (args, env) => {
    const app = spawnCli(args, env);
    apps.push(app);
    return app;
  };
}

/** The address `posepipe start` prints for this machine, once it listens. */
export function pageUrl(app: App, scheme: 'http' | 'https' = 'http'): Promise<string> {
  const re = new RegExp(`status page at (${scheme}://127\\.0\\.0\\.1:\\d+)/`);
  return waitFor(`the coordinator to listen on ${scheme}`, () => re.exec(app.output())?.[1], 30_000);
}

/** The output of small.mp4 tracked by one local slot in `ws`: the bytes every remote run must equal. */
export async function localReference(ws: Workspace): Promise<Buffer> {
  const r = await runCli(['run', fixture('small.mp4'), '--workers', '1'], cliEnv(ws, BASE));
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(join(ws.outbox, 'small.json'));
}

/** outbox/small.json once it is written. */
export async function outputOf(ws: Workspace, timeoutMs = 120_000): Promise<Buffer> {
  return waitFor('outbox/small.json', () => {
    try {
      return readFileSync(join(ws.outbox, 'small.json'));
    } catch {
      return undefined;
    }
  }, timeoutMs, 200);
}

/** Rows of a read-only query on a workspace's database. */
export function queryDb<T>(ws: Workspace, sql: string, ...args: unknown[]): T[] {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

/** The chunk attempts recorded in the coordinator's database. */
export function attemptsOf(ws: Workspace): { first_frame: number; ran_on: string; outcome: string | null }[] {
  return queryDb(ws, 'SELECT first_frame, ran_on, outcome FROM chunk_attempts ORDER BY id');
}
