/**
 * Disk full while staging and while writing the outbox, on real filesystems: a tmpfs of a few
 * hundred KB mounted over the jobs folder or the outbox (we run as root here and in CI), grown
 * or emptied afterwards to give the space back. Where mounting is not permitted those cases are
 * skipped with a warning; the margin case runs everywhere against the real filesystem.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { tmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts';
import { formatBytes } from '../../src/disk.ts';

const NO_TMPFS = tmpfsUnavailable();
if (NO_TMPFS) console.warn(`tmpfs cannot be mounted here (${NO_TMPFS}): the real full-disk cases are skipped`);

let ws: Workspace | undefined;
let other: Workspace | undefined;
const mounts: string[] = [];
afterEach(() => {
  // Always unmount before the workspace is deleted (or kept for a failed test).
  for (const dir of mounts.splice(0)) if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
  ws?.cleanup();
  other?.cleanup();
  ws = other = undefined;
});

function mountAt(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  tmpfs(dir, size);
  mounts.push(dir);
}

function jobRow(home: string): { state: string; error_kind: string | null; error_text: string | null } {
  const db = new Database(join(home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare('SELECT state, error_kind, error_text FROM jobs WHERE id = 1').get() as { state: string; error_kind: string | null; error_text: string | null };
  } finally {
    db.close();
  }
}

function chunkAttempts(home: string): number[] {
  const db = new Database(join(home, 'posepipe.db'), { readonly: true });
  try {
    return (db.prepare('SELECT attempts FROM chunks WHERE job_id = 1 ORDER BY idx').all() as { attempts: number }[]).map((r) => r.attempts);
  } finally {
    db.close();
  }
}

const VIDEO = fixture('small.mp4');
const ARGS = ['run', VIDEO, '--chunk-seconds', '2'];

describe('disk full', () => {
  it.skipIf(NO_TMPFS)('while staging: a disk error naming the folder, no partial files; `resume` then `run` completes once space is back', async () => {
    ws = makeWorkspace('disk-full-stage');
    const jobs = join(ws.home, 'jobs');
    mountAt(jobs, '128k'); // the source is 200 KB
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_MIN_FREE_MB: '0' });

    const failed = await runCli(ARGS, env);
    expect(failed.code, failed.stderr).toBe(1);
    const jobDir = join(jobs, '1');
    expect(failed.stderr).toContain(`posepipe: job 1 failed (disk): Not enough disk space in ${jobDir}: staging "small.mp4" needs `);
    expect(jobRow(ws.home)).toMatchObject({ state: 'failed', error_kind: 'disk' });
    expect(jobRow(ws.home).error_text).toMatch(/^Not enough disk space in .*: staging "small\.mp4" needs \d.* free; free some space, then resume the job$/);
    expect(readdirSync(jobDir)).toEqual([]);

    tmpfs(jobs, '2g', true); // tmpfs takes memory only for what is written
    const resumed = await runCli(['resume', '1'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('job 1 queued again at stage stage');
    const done = await runCli(ARGS, env);
    expect(done.code, done.stderr).toBe(0);
    expect(jobRow(ws.home)).toMatchObject({ state: 'done', error_kind: null });
    expect(JSON.parse(readFileSync(join(ws.outbox, 'small.json'), 'utf8')).source.frameCount).toBe(150);
  });

  it.skipIf(NO_TMPFS)('while writing the outbox: a disk error, no partial JSON nor temp file; with space back the job finishes without tracking again, same bytes', async () => {
    ws = makeWorkspace('disk-full-outbox');
    mountAt(ws.outbox, '1m');
    // Leave 8 KB: far less than the document.
    const st = statfsSync(ws.outbox);
    writeFileSync(join(ws.outbox, 'filler'), Buffer.alloc(st.bavail * st.bsize - 8192));
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture' });

    const failed = await runCli(ARGS, env);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`posepipe: job 1 failed \\(disk\\): Not enough disk space in ${ws.outbox}: writing "small\\.json" \\([\\d.]+ (?:bytes|KB|MB) written\\) failed, the disk is full \\([\\d.]+ (bytes|KB) free\\); free some space, then resume the job`));
    expect(jobRow(ws.home)).toMatchObject({ state: 'failed', error_kind: 'disk' });
    expect(readdirSync(ws.outbox)).toEqual(['filler']);
    const attempts = chunkAttempts(ws.home);
    expect(attempts).toEqual([1, 1, 1]);

    rmSync(join(ws.outbox, 'filler'));
    expect((await runCli(['resume', '1'], env)).code).toBe(0);
    const done = await runCli(ARGS, env);
    expect(done.code, done.stderr).toBe(0);
    expect(readdirSync(ws.outbox)).toEqual(['small.json']);
    expect(chunkAttempts(ws.home)).toEqual(attempts);

    other = makeWorkspace('disk-full-straight');
    const straight = await runCli(ARGS, cliEnv(other, { POSEPIPE_TRACKER: 'test-fixture' }));
    expect(straight.code, straight.stderr).toBe(0);
    expect(readFileSync(join(ws.outbox, 'small.json'))).toEqual(readFileSync(join(other.outbox, 'small.json')));
  });

  it.skipIf(NO_TMPFS)('while the worker writes a chunk result: kind disk from the worker, no partial result; with space back the job completes, same bytes', async () => {
    ws = makeWorkspace('disk-full-result');
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture' });
    // Stop after the first chunk, then fill the results folder completely.
    const killed = await runCli(ARGS, { ...env, POSEPIPE_CRASHPOINT: 'chunk-done:1' });
    expect(killed.signal).toBe('SIGKILL');
    const results = join(ws.home, 'jobs', '1', 'results');
    mountAt(results, '64k');
    const st = statfsSync(results);
    writeFileSync(join(results, 'filler'), Buffer.alloc(st.bavail * st.bsize));

    const failed = await runCli(ARGS, env);
    expect(failed.code, failed.stderr).toBe(1);
    expect(jobRow(ws.home)).toMatchObject({ state: 'failed', error_kind: 'disk' });
    expect(jobRow(ws.home).error_text).toMatch(/No space left on device.* — free some disk space, then `posepipe resume`$/);
    expect(readdirSync(results)).toEqual(['filler']);

    rmSync(join(results, 'filler'));
    expect((await runCli(['resume', '1'], env)).code).toBe(0);
    const done = await runCli(ARGS, env);
    expect(done.code, done.stderr).toBe(0);
    other = makeWorkspace('disk-full-result-straight');
    expect((await runCli(ARGS, cliEnv(other, { POSEPIPE_TRACKER: 'test-fixture' }))).code).toBe(0);
    expect(readFileSync(join(ws.outbox, 'small.json'))).toEqual(readFileSync(join(other.outbox, 'small.json')));
  });

  it('POSEPIPE_MIN_FREE_MB larger than the real free space: refused before staging; lowered, `run` again completes', async () => {
    ws = makeWorkspace('disk-margin');
    const failed = await runCli(ARGS, cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_MIN_FREE_MB: '100000000' }));
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain(`posepipe: job 1 failed (disk): Not enough disk space in ${join(ws.home, 'jobs', '1')}: staging "small.mp4" needs 95 TB (${formatBytes(statSync(VIDEO).size)} + 100000000 MB kept free, POSEPIPE_MIN_FREE_MB)`);
    expect(readdirSync(join(ws.home, 'jobs', '1'))).toEqual([]);

    const done = await runCli(ARGS, cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_MIN_FREE_MB: '1' }));
    expect(done.code, done.stderr).toBe(0);
    expect(jobRow(ws.home)).toMatchObject({ state: 'done' });
    expect(readdirSync(ws.outbox)).toEqual(['small.json']);
  });
});
