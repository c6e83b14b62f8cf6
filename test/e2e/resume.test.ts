import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

let a: Workspace;
let b: Workspace;
afterEach(() => {
  a?.cleanup();
  b?.cleanup();
});

function chunkRows(home: string) {
  const db = new Database(join(home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare('SELECT idx, state, attempts, result_sha256 FROM chunks ORDER BY idx').all() as { idx: number; state: string; attempts: number; result_sha256: string | null }[];
  } finally {
    db.close();
  }
}

function trackerPids(home: string): number[] {
  const db = new Database(join(home, 'posepipe.db'), { readonly: true });
  try {
    return (db.prepare('SELECT pid FROM tracker_loads ORDER BY id').all() as { pid: number }[]).map((r) => r.pid);
  } finally {
    db.close();
  }
}

describe('resume after a crash', () => {
  it('continues at the first unfinished chunk after a SIGKILL and gives the same bytes as an uninterrupted run', async () => {
    a = makeWorkspace('resume');
    b = makeWorkspace('straight');
    const video = fixture('small.mp4');
    const args = ['run', video, '--chunk-seconds', '1', '--overlap-frames', '5'];

    const killed = await runCli(args, cliEnv(a, { POSEPIPE_CRASHPOINT: 'chunk-done:2' }));
    expect(killed.signal).toBe('SIGKILL');
    const before = chunkRows(a.home);
    expect(before).toHaveLength(6);
    expect(before.map((c) => c.state)).toEqual(['done', 'done', 'pending', 'pending', 'pending', 'pending']);
    // The worker exits when posepipe's end of its stdin closes: no orphan is left.
    const [orphan] = trackerPids(a.home);
    await waitFor(`worker pid ${orphan} to exit`, () => (spawnSync('ps', ['-p', String(orphan)]).status !== 0 ? true : undefined), 10_000);

    const resumed = await runCli(args, cliEnv(a));
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = chunkRows(a.home);
    expect(after.every((c) => c.state === 'done')).toBe(true);
    // The two chunks finished before the kill were not tracked again.
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    expect(after.slice(2).every((c) => c.attempts === 1)).toBe(true);

    const straight = await runCli(args, cliEnv(b));
    expect(straight.code, straight.stderr).toBe(0);
    expect(readFileSync(join(a.outbox, 'small.json'))).toEqual(readFileSync(join(b.outbox, 'small.json')));
    expect(readdirSync(a.outbox)).toEqual(['small.json']);
  });
});
