import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, DatabaseTooNewError, InstanceLockedError, JOB_STATES, openDb, STAGE_NAMES, STEP_STATES, StateConflictError } from '../../src/db/index.ts';
import { FAILURE_KINDS } from '../../src/errors.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const job = (sha: string, name = 'clip.mov') => ({ sourceName: name, sourcePath: `/in/${name}`, sha256: sha.padEnd(64, '0'), bytes: 10 });

describe('database', () => {
  it('matches the committed schema snapshot', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const snapshot = readFileSync('test/db/schema.sql', 'utf8');
    expect(db.schemaSql()).toBe(snapshot);
    db.close();
  });

  it('lists in its CHECK constraints exactly the states and names the code uses', () => {
    ws = makeWorkspace('db');
    const sql = openDb(ws.home).schemaSql();
    const checks = (table: string, column: string) => {
      const body = sql.split(';').find((s) => s.includes(`CREATE TABLE ${table} `))!;
      const m = new RegExp(`\\b${column} TEXT[^,]*CHECK \\(${column} IN \\(([^)]*)\\)\\)`).exec(body);
      return m![1]!.split(',').map((s) => s.trim().replace(/'/g, ''));
    };
    expect(checks('jobs', 'state')).toEqual([...JOB_STATES]);
    expect(checks('jobs', 'stage')).toEqual([...STAGE_NAMES]);
    expect(checks('stages', 'name')).toEqual([...STAGE_NAMES]);
    expect(checks('stages', 'state')).toEqual([...STEP_STATES]);
    expect(checks('chunks', 'state')).toEqual([...STEP_STATES]);
    for (const t of ['jobs', 'stages', 'chunks']) expect(checks(t, 'error_kind')).toEqual([...FAILURE_KINDS]);
  });

  it('uses WAL with synchronous=FULL and passes the integrity check', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    db.close();
    const raw = new Database(join(ws.home, 'posepipe.db'));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const again = openDb(ws.home);
    expect(again.integrityCheck()).toBe('ok');
    again.close();
  });

  it('refuses a database newer than the code, naming both versions', () => {
    ws = makeWorkspace('db');
    openDb(ws.home).close();
    const raw = new Database(join(ws.home, 'posepipe.db'));
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (999, ?, 0)').run('future');
    raw.close();
    expect(() => openDb(ws.home)).toThrow(DatabaseTooNewError);
    expect(() => openDb(ws.home)).toThrow(/schema version 999, but this posepipe knows only up to 3/);
  });

  it('makes one job per content hash and never reuses an output name', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const a = db.createJob(job('a'));
    expect(a.created).toBe(true);
    expect(a.job.output_name).toBe('clip.json');
    expect(db.createJob(job('a', 'renamed.mp4'))).toMatchObject({ created: false, job: { id: a.job.id } });
    const b = db.createJob(job('b'));
    expect(b.job.output_name).toBe(`clip-${'b'.padEnd(12, '0')}.json`);
    const hostile = db.createJob(job('c', 'evil\n\u202Egpj.mp4'));
    expect(hostile.job.output_name).toBe('evil__gpj.json');
    expect(hostile.job.source_path_bytes).toBeNull();
    // A name that was not valid UTF-8: lossy name, real bytes kept, U+FFFD never in the output name.
    const bytes = Buffer.from([0x2f, 0x69, 0x6e, 0x2f, 0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x6d, 0x70, 0x34]);
    const lossy = db.createJob({ ...job('d', 'bad\uFFFD\uFFFD.mp4'), pathBytes: bytes });
    expect(lossy.job.output_name).toBe('bad__.json');
    expect(lossy.job.source_path_bytes).toEqual(bytes);
    expect(db.listStages(a.job.id).map((s) => s.name)).toEqual([...STAGE_NAMES]);
    db.close();
  });

  it('checks every transition: a second claim or resume finds the row in another state', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const { job: j } = db.createJob(job('a'));
    expect(db.claimNextJob()?.id).toBe(j.id);
    expect(db.claimNextJob()).toBeUndefined();
    expect(() => db.claimJob(j.id)).toThrow(StateConflictError);
    db.startStage(j.id, 'stage');
    expect(() => db.startStage(j.id, 'stage')).toThrow(/stage stage of job 1 is not pending/);
    db.failStage(j.id, 'stage', { kind: 'input', text: 'bad' });
    db.failJob(j.id, { kind: 'input', text: 'bad' });
    expect(db.getJob(j.id)).toMatchObject({ state: 'failed', error_kind: 'input', error_text: 'bad' });
    db.resumeJob(j.id);
    expect(() => db.resumeJob(j.id)).toThrow(/job 1 \(queued\) is not failed/);
    expect(db.getJob(j.id)!.state).toBe('queued');
    expect(db.listStages(j.id)[0]).toMatchObject({ state: 'pending', attempts: 0 });
    db.close();
  });

  it('splits a chunk row into two halves of its file range, moving later rows up', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const { job: j } = db.createJob(job('a'));
    db.replaceChunks(j.id, [
      { idx: 0, file: 'chunks/0000.mp4', firstFrame: 0, frameCount: 50, overlapFrames: 0 },
      { idx: 1, file: 'chunks/0001.mp4', firstFrame: 50, frameCount: 51, overlapFrames: 16 },
      { idx: 2, file: 'chunks/0002.mp4', firstFrame: 101, frameCount: 7, overlapFrames: 16 },
    ]);
    db.splitChunk(j.id, 1, 16);
    db.splitChunk(j.id, 2, 16);
    const rows = db.listChunks(j.id).map((c) => [c.idx, c.file, c.file_start, c.first_frame, c.frame_count, c.overlap_frames, c.splits]);
    expect(rows).toEqual([
      [0, 'chunks/0000.mp4', 0, 0, 50, 0, 0],
      [1, 'chunks/0001.mp4', 0, 50, 25, 16, 1],
      [2, 'chunks/0001.mp4', 25, 75, 13, 16, 2],
      [3, 'chunks/0001.mp4', 38, 88, 13, 13, 2],
      [4, 'chunks/0002.mp4', 0, 101, 7, 13, 0],
    ]);
    // Frames stay contiguous and complete: no gap or duplicate at a split point.
    const all = db.listChunks(j.id).flatMap((c) => Array.from({ length: c.frame_count }, (_, k) => c.first_frame + k));
    expect(all).toEqual([...Array(108).keys()]);
    db.close();
  });

  it('requeues rows left running by a dead process', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const { job: j } = db.createJob(job('a'));
    db.claimJob(j.id);
    db.startStage(j.id, 'stage');
    db.finishStage(j.id, 'stage', {}, () => db.replaceChunks(j.id, [{ idx: 0, file: 'chunks/0000.mp4', firstFrame: 0, frameCount: 5, overlapFrames: 0 }]));
    db.startChunk(j.id, 0);
    expect(db.requeueStale()).toBe(1);
    expect(db.getJob(j.id)!.state).toBe('queued');
    expect(db.listChunks(j.id)[0]!.state).toBe('pending');
    db.close();
  });
});

describe('instance lock', () => {
  it('refuses a second holder while the first lives, naming its pid', async () => {
    ws = makeWorkspace('lock');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(ws.home, 'posepipe.lock'), `${child.pid}\n`);
      expect(() => acquireLock(ws.home)).toThrow(InstanceLockedError);
      expect(() => acquireLock(ws.home)).toThrow(new RegExp(`pid ${child.pid}`));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // Its holder is dead now: the stale lock is taken over, and released cleanly.
    const lock = acquireLock(ws.home);
    expect(readFileSync(join(ws.home, 'posepipe.lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(ws.home, 'posepipe.lock'))).toBe(false);
  });
});
