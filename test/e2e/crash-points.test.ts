/**
 * RELIABILITY.md "Crash points inside each stage" and "A done chunk whose output is deleted or
 * truncated": posepipe kills itself with SIGKILL at each crash point (POSEPIPE_CRASHPOINT), the
 * same command runs again, and the work finished before the kill is not redone; files damaged
 * while posepipe was stopped are made again, and the output is always the uninterrupted bytes.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace, workspacesPerTest } from '../helpers/workspace.ts';

// 150 frames at 25 fps: six chunks of one second. Copied once into this file's own folder, so a
// global setup run by someone else in the same tree (which remakes test-output/fixtures) cannot
// pull it away mid-test.
const VIDEO_DIR = mkdtempSync(join(tmpdir(), 'posepipe-crash-video-'));
const VIDEO = join(VIDEO_DIR, 'small.mp4');
const ARGS = ['run', VIDEO, '--chunk-seconds', '1', '--overlap-frames', '5'];
const OUTPUT = 'small.json';

const workspace = workspacesPerTest();

const env = (ws: Workspace, extra: Record<string, string> = {}) => cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', ...extra });

interface StageRow {
  name: string;
  state: string;
  attempts: number;
  output_json: string | null;
}
interface ChunkRow {
  idx: number;
  state: string;
  attempts: number;
  finished_ms: number | null;
  error_text: string | null;
  result_file: string | null;
  result_sha256: string | null;
}

function query<T>(ws: Workspace, sql: string): T[] {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
const stages = (ws: Workspace) => Object.fromEntries(query<StageRow>(ws, 'SELECT * FROM stages WHERE job_id = 1').map((s) => [s.name, s]));
const chunks = (ws: Workspace) => query<ChunkRow>(ws, 'SELECT * FROM chunks WHERE job_id = 1 ORDER BY idx');
const attempts = (ws: Workspace) => Object.fromEntries(Object.values(stages(ws)).map((s) => [s.name, s.attempts]));

function integrity(ws: Workspace): string {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** Every path under `dir` (relative), folders included. */
function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix + e.name;
    return e.isDirectory() ? [rel, ...walk(join(dir, e.name), `${rel}/`)] : [rel];
  });
}
const temps = (paths: string[]) => paths.filter((p) => /\.tmp/.test(p));

/** A pid no process has now (one that has just exited and been reaped). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  expect(() => process.kill(pid, 0)).toThrow();
  return pid;
}

/** Leave the temp names each stage writes, as a kill in the middle of writing them would. */
function plantTemps(ws: Workspace): void {
  const job = join(ws.home, 'jobs', '1');
  const pid = deadPid();
  writeFileSync(join(job, `.source.mp4.tmp-${pid}`), 'half a copy');
  mkdirSync(join(job, `chunks.tmp-${pid}-0badf00d`));
  writeFileSync(join(job, `chunks.tmp-${pid}-0badf00d`, '0000.mp4'), 'half a chunk');
  mkdirSync(join(job, 'results'), { recursive: true });
  writeFileSync(join(job, 'results', '0000000+25.pkl.tmp-999999'), 'half a pickle');
  writeFileSync(join(job, `.merge.json.tmp-${pid}-0badf00d`), '{"chunks":[');
  mkdirSync(join(job, `.player.tmp-${pid}`));
  writeFileSync(join(job, `.player.tmp-${pid}`, 'frames-0.json'), '[{"index":0');
  writeFileSync(join(ws.outbox, `.${OUTPUT}.tmp-${pid}-0badf00d`), '{"schema":');
  // The status page's thumbnails and pictures cache, written by a server killed mid-write.
  mkdirSync(join(job, 'thumbs'), { recursive: true });
  writeFileSync(join(job, 'thumbs', `.12.jpg.tmp-${pid}-0badf00d`), 'half a jpeg');
  writeFileSync(join(job, `.pictures.json.tmp-${pid}-0badf00d`), '{"frames":');
}

let reference: Buffer;
beforeAll(async () => {
  copyFileSync(fixture('small.mp4'), VIDEO);
  const ws = makeWorkspace('crash-reference');
  const r = await runCli(ARGS, env(ws));
  expect(r.code, r.stderr).toBe(0);
  reference = readFileSync(join(ws.outbox, OUTPUT));
  ws.cleanup();
});
afterAll(() => rmSync(VIDEO_DIR, { recursive: true, force: true }));

/** Run to a crash point; posepipe must die there by SIGKILL. */
async function crashAt(ws: Workspace, point: string): Promise<void> {
  const r = await runCli(ARGS, env(ws, { POSEPIPE_CRASHPOINT: point }));
  expect(r.signal, `posepipe should have killed itself at ${point}: exit ${r.code}\n${r.stderr}`).toBe('SIGKILL');
}

/** Run again without a crash point: it completes with the uninterrupted bytes and leaves nothing behind. */
async function resumeAndCheck(ws: Workspace): Promise<string> {
  const r = await runCli(ARGS, env(ws));
  expect(r.code, r.stderr).toBe(0);
  expect(readFileSync(join(ws.outbox, OUTPUT)).equals(reference), 'output differs from the uninterrupted run').toBe(true);
  expect(temps(walk(join(ws.home, 'jobs')))).toEqual([]);
  expect(readdirSync(ws.outbox)).toEqual([OUTPUT]);
  expect(integrity(ws)).toBe('ok');
  expect(query<{ state: string }>(ws, 'SELECT state FROM jobs').map((j) => j.state)).toEqual(['done']);
  expect(chunks(ws).every((c) => c.state === 'done')).toBe(true);
  return r.stderr;
}

describe('a kill at each crash point loses only the step in progress', () => {
  it('staged: the copy is made again, nothing after it ran twice', async () => {
    const ws = workspace('crash-staged');
    await crashAt(ws, 'staged:1');
    expect(stages(ws).stage!.state).toBe('running');
    plantTemps(ws);
    await resumeAndCheck(ws);
    expect(attempts(ws)).toEqual({ stage: 2, probe: 1, chunk: 1, track: 1, merge: 1, emit: 1, preview: 1 });
    expect(chunks(ws).map((c) => c.attempts)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('chunked: staging and probing are kept, chunking is done again', async () => {
    const ws = workspace('crash-chunked');
    await crashAt(ws, 'chunked:1');
    const before = stages(ws);
    expect(before.chunk!.state).toBe('running');
    expect(chunks(ws)).toEqual([]);
    plantTemps(ws);
    await resumeAndCheck(ws);
    const after = stages(ws);
    expect(attempts(ws)).toEqual({ stage: 1, probe: 1, chunk: 2, track: 1, merge: 1, emit: 1, preview: 1 });
    expect([after.stage!.output_json, after.probe!.output_json]).toEqual([before.stage!.output_json, before.probe!.output_json]);
    expect(chunks(ws).map((c) => c.attempts)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('chunk-done: the finished chunk is not tracked again', async () => {
    const ws = workspace('crash-chunk-done');
    await crashAt(ws, 'chunk-done:1');
    const before = chunks(ws);
    expect(before.map((c) => c.state)).toEqual(['done', 'pending', 'pending', 'pending', 'pending', 'pending']);
    plantTemps(ws);
    await resumeAndCheck(ws);
    const after = chunks(ws);
    expect(after[0]).toEqual(before[0]); // attempts 1, same result sha, same finish time
    expect(after.map((c) => c.attempts)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(attempts(ws)).toEqual({ stage: 1, probe: 1, chunk: 1, track: 2, merge: 1, emit: 1, preview: 1 });
  });

  it('merged: no chunk is tracked again, only the merge is redone', async () => {
    const ws = workspace('crash-merged');
    await crashAt(ws, 'merged:1');
    const before = chunks(ws);
    expect(stages(ws).merge!.state).toBe('running');
    expect(before.every((c) => c.state === 'done')).toBe(true);
    plantTemps(ws);
    await resumeAndCheck(ws);
    expect(chunks(ws)).toEqual(before);
    expect(attempts(ws)).toEqual({ stage: 1, probe: 1, chunk: 1, track: 1, merge: 2, emit: 1, preview: 1 });
  });

  it('emitted: neither chunks nor merge are redone, the outbox file is written again with the same bytes', async () => {
    const ws = workspace('crash-emitted');
    await crashAt(ws, 'emitted:1');
    const before = chunks(ws);
    const merge = stages(ws).merge!;
    expect(stages(ws).emit!.state).toBe('running');
    plantTemps(ws);
    await resumeAndCheck(ws);
    expect(chunks(ws)).toEqual(before);
    expect(stages(ws).merge).toEqual(merge);
    expect(attempts(ws)).toEqual({ stage: 1, probe: 1, chunk: 1, track: 1, merge: 1, emit: 2, preview: 1 });
  });
});

describe('files damaged while posepipe is stopped are made again', () => {
  it('a done chunk result deleted, truncated or altered is tracked again; merge never uses the bad data', async () => {
    const ws = workspace('damaged-results');
    await crashAt(ws, 'chunk-done:3');
    const before = chunks(ws);
    expect(before.map((c) => c.state)).toEqual(['done', 'done', 'done', 'pending', 'pending', 'pending']);
    const result = (i: number) => join(ws.home, 'jobs', '1', before[i]!.result_file!);
    rmSync(result(0));
    truncateSync(result(1), Math.floor(readFileSync(result(1)).length / 2));
    // Same size, other bytes: only the recorded hash, checked as the merge reads it (before parsing), can tell.
    const altered = readFileSync(result(2));
    const at = altered.length - 20;
    altered[at] = altered[at]! ^ 0xff;
    writeFileSync(result(2), altered);

    const stderr = await resumeAndCheck(ws);
    expect(stderr).toMatch(/chunk 1: result file \S+ is missing/);
    expect(stderr).toMatch(/chunk 2: result file \S+ has \d+ bytes, \d+ recorded/);
    expect(stderr).toMatch(/chunk 3: the result file does not match its recorded hash \(sha256 [0-9a-f]{12}, recorded [0-9a-f]{12}\) in \S+/);
    const after = chunks(ws);
    for (const i of [0, 1, 2]) {
      expect(after[i]!.result_sha256, `chunk ${i}`).toBe(before[i]!.result_sha256);
      expect(after[i]!.finished_ms!, `chunk ${i} was tracked again`).toBeGreaterThan(before[i]!.finished_ms!);
    }
  });

  it('the staged source deleted after a kill: staged again, and the job completes', async () => {
    const ws = workspace('lost-source');
    await crashAt(ws, 'chunked:1');
    rmSync(join(ws.home, 'jobs', '1', 'source.mp4'));
    const stderr = await resumeAndCheck(ws);
    expect(stderr).toContain('staged source source.mp4 is missing; redoing it from stage stage');
    expect(attempts(ws)).toMatchObject({ stage: 2, chunk: 2 });
  });

  it('the staged source truncated after a kill: staged again, and the job completes', async () => {
    const ws = workspace('short-source');
    await crashAt(ws, 'chunk-done:2');
    const source = join(ws.home, 'jobs', '1', 'source.mp4');
    truncateSync(source, 1000);
    const stderr = await resumeAndCheck(ws);
    expect(stderr).toMatch(/staged source source\.mp4 has 1000 bytes, \d+ recorded; redoing it from stage stage/);
    expect(attempts(ws)).toMatchObject({ stage: 2, probe: 2, chunk: 2 });
  });

  it('the chunks folder deleted after a kill: chunked again, every chunk tracked once more, the job completes', async () => {
    const ws = workspace('lost-chunks');
    await crashAt(ws, 'chunk-done:2');
    rmSync(join(ws.home, 'jobs', '1', 'chunks'), { recursive: true });
    const stderr = await resumeAndCheck(ws);
    expect(stderr).toMatch(/chunk file chunks\/0000\.mp4 is missing; redoing it from stage chunk/);
    expect(attempts(ws)).toMatchObject({ stage: 1, probe: 1, chunk: 2 });
    // The chunk rows were replaced when chunking finished again: one attempt each.
    expect(chunks(ws).map((c) => c.attempts)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('a chunk result altered after the merge (same size): emit, streaming from it, finds the hash changed and has it tracked again', async () => {
    const ws = workspace('altered-after-merge');
    await crashAt(ws, 'emitted:1');
    const before = chunks(ws);
    const result = join(ws.home, 'jobs', '1', before[4]!.result_file!);
    const altered = readFileSync(result);
    const at = altered.length - 20;
    altered[at] = altered[at]! ^ 0xff;
    writeFileSync(result, altered);
    const stderr = await resumeAndCheck(ws);
    expect(stderr).toMatch(/chunk 5: chunk 5: the chunk result changed since it was merged \(\d+ bytes, sha256 [0-9a-f]{12}; merged: \d+ bytes, [0-9a-f]{12}\) in \S+; it will be tracked again/);
    const after = chunks(ws);
    expect(after[4]!.finished_ms!).toBeGreaterThan(before[4]!.finished_ms!);
    expect(attempts(ws)).toMatchObject({ track: 2, merge: 2, emit: 3 });
  });

  it('merge.json deleted after a kill during emit: merged again from the kept chunk results', async () => {
    const ws = workspace('lost-merged');
    await crashAt(ws, 'emitted:1');
    const before = chunks(ws);
    rmSync(join(ws.home, 'jobs', '1', 'merge.json'));
    const stderr = await resumeAndCheck(ws);
    expect(stderr).toContain('merge.json is missing; redoing it from stage merge');
    expect(chunks(ws)).toEqual(before);
    expect(attempts(ws)).toMatchObject({ track: 1, merge: 2, emit: 2 });
  });
});

describe('startup cleanup in a shared outbox', () => {
  it('removes only posepipe\'s own temp names of processes that are gone', async () => {
    const ws = workspace('outbox-temps');
    await crashAt(ws, 'merged:1');
    const dead = deadPid();
    const foreign = [
      `.${OUTPUT}.tmp-${process.pid}-0badf00d`, // a live process may still be writing it
      `.other.json.tmp-${dead}-0badf00d`, // not one of this home's outputs: another posepipe's
      `.${OUTPUT}.partial`,
      'notes.tmp',
    ];
    for (const name of foreign) writeFileSync(join(ws.outbox, name), 'not ours');
    writeFileSync(join(ws.outbox, `.${OUTPUT}.tmp-${dead}-0badf00d`), '{"schema":');
    const r = await runCli(ARGS, env(ws));
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(ws.outbox).sort()).toEqual([...foreign, OUTPUT].sort());
    expect(readFileSync(join(ws.outbox, OUTPUT)).equals(reference)).toBe(true);
  });
});
