import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, DatabaseTooNewError, InstanceLockedError, JOB_STATES, listMigrations, openDb, outputFormatOf, STAGE_NAMES, STEP_STATES, StateConflictError } from '../../src/db/index.ts';
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
      // A table rebuilt by a migration (jobs, in 0004) keeps the quoted name SQLite's RENAME writes.
      const body = sql.split(';').find((s) => s.includes(`CREATE TABLE ${table} `) || s.includes(`CREATE TABLE "${table}" `))!;
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
    expect(() => openDb(ws.home)).toThrow(new RegExp(`schema version 999, but this posepipe knows only up to ${listMigrations().at(-1)!.version}:`));
  });

  it('makes one job per content hash and never reuses an output name', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const a = db.createJob(job('a'));
    expect(a.created).toBe(true);
    expect(a.job.output_name).toBe('clip.json');
    expect(db.createJob(job('a'))).toMatchObject({ created: false, job: { id: a.job.id } });
    // The same content under another name is a copy of the first job, made once, with its own output name.
    const copy = db.createJob(job('a', 'renamed.mp4'));
    expect(copy).toMatchObject({ created: true, job: { copy_of: a.job.id, output_name: 'renamed.json', stage: 'emit', state: 'queued' } });
    expect(db.listStages(copy.job.id).map((s) => s.name)).toEqual(['emit']);
    expect(db.createJob(job('a', 'renamed.mp4'))).toMatchObject({ created: false, job: { id: copy.job.id } });
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
    // The jsonl format is in the name, so a job keeps it whatever the setting is later; clip.json does not take clip.jsonl's place.
    const lines = db.createJob({ ...job('e'), format: 'jsonl' });
    expect(lines.job.output_name).toBe('clip.jsonl');
    expect(outputFormatOf(lines.job.output_name)).toBe('jsonl');
    expect(db.createJob({ ...job('f'), format: 'jsonl' }).job.output_name).toBe(`clip-${'f'.padEnd(12, '0')}.jsonl`);
    expect(outputFormatOf(a.job.output_name)).toBe('json');
    expect(outputFormatOf('clip.jsonl.json')).toBe('json');
    db.close();
  });

  it('makes a copy only of the same content under the same settings; a re-run is always a new job; deleting refuses what others need', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const builtin = { json: '{"backend":"builtin"}', key: 'k1'.padEnd(64, '0') };
    const phalp = { json: '{"backend":"phalp"}', key: 'k2'.padEnd(64, '0') };
    const a = db.createJob({ ...job('a'), settings: builtin }).job;
    expect(a).toMatchObject({ settings_json: builtin.json, settings_key: builtin.key, copy_of: null, rerun_of: null });
    // The same bytes under another name: a copy with the same settings, a new job with others.
    expect(db.createJob({ ...job('a', 'again.mov'), settings: builtin }).job).toMatchObject({ copy_of: a.id, stage: 'emit', settings_key: builtin.key });
    const other = db.createJob({ ...job('a', 'other.mov'), settings: phalp });
    expect(other).toMatchObject({ created: true, job: { copy_of: null, stage: 'stage', settings_key: phalp.key, output_name: 'other.json' } });
    // The same file again is the job it is, whatever the settings now (a restart rescans the inbox).
    expect(db.createJob({ ...job('a'), settings: phalp })).toMatchObject({ created: false, job: { id: a.id } });
    // A copy under the second settings is answered from the second original.
    expect(db.createJob({ ...job('a', 'third.mov'), settings: phalp }).job.copy_of).toBe(other.job.id);
    // Tracked again: a new original of the same file, its output numbered beside the earlier ones.
    const rerun = db.createJob({ ...job('a'), settings: builtin, rerunOf: a.id }, (n) => n === 'clip.json').job;
    expect(rerun).toMatchObject({ copy_of: null, rerun_of: a.id, stage: 'stage', output_name: `clip-${'a'.padEnd(12, '0')}.json` });
    expect(db.createJob({ ...job('a'), settings: builtin, rerunOf: a.id }).job.output_name).toBe(`clip-${'a'.padEnd(12, '0')}-2.json`);
    // The newest job of a file is the one it now is.
    expect(db.createJob({ ...job('a'), settings: builtin }).job.id).toBe(rerun.id + 1);

    // Deleting: never a queued or running job, never an original whose copies stay.
    expect(() => db.deleteJob(rerun.id)).toThrow(new StateConflictError(`job ${rerun.id}`, 'finished, failed or cancelled (cancel it first)', 'queued'));
    db.claimJob(a.id);
    db.finishJob(a.id);
    expect(() => db.deleteJob(a.id)).toThrow(/job 1 is not deletable while job 2 is a copy answered from its files \(delete it too\)/);
    db.cancelJob(2);
    expect(db.deleteJob(a.id, new Set([2])).id).toBe(a.id);
    expect(db.deleteJob(2).id).toBe(2);
    expect([db.getJob(a.id), db.getJob(2), db.listStages(a.id)]).toEqual([undefined, undefined, []]);
    expect(db.jobsStagingFrom('/in')).toEqual([3, 4, rerun.id, rerun.id + 1]);
    db.close();
  });

  it('keeps a database made before settings were recorded working: its jobs stay, a new name for their content is tracked anew', () => {
    ws = makeWorkspace('db');
    const file = join(ws.home, 'posepipe.db');
    const raw = new Database(file);
    raw.pragma('foreign_keys = OFF');
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
    for (const m of listMigrations().filter((m) => m.version <= 7)) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, 0)').run(m.version, m.name);
    }
    raw.prepare("INSERT INTO jobs (source_name, source_path, source_sha256, source_bytes, output_name, state, created_ms, updated_ms) VALUES ('clip.mov', '/in/clip.mov', ?, 10, 'clip.json', 'done', 0, 0)").run('a'.padEnd(64, '0'));
    raw.close();
    const db = openDb(ws.home);
    expect(db.getJob(1)).toMatchObject({ state: 'done', settings_json: null, settings_key: null, rerun_of: null });
    const settings = { json: '{}', key: 'k'.padEnd(64, '0') };
    expect(db.createJob({ ...job('a'), settings })).toMatchObject({ created: false, job: { id: 1 } });
    expect(db.createJob({ ...job('a', 'again.mov'), settings }).job).toMatchObject({ id: 2, copy_of: null, stage: 'stage' });
    db.close();
  });

  it('gives a copy its turn only once its original is done; a failed or cancelled original fails its copies, and they follow its resume', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const a = db.createJob(job('a')).job;
    const copy = db.createJob(job('a', 'again.mp4')).job;
    const other = db.createJob(job('b', 'other.mp4')).job;
    db.setPriority(copy.id, 5);
    // The copy ranks first but waits for its original.
    expect(db.claimNextJob()!.id).toBe(a.id);
    expect(db.claimNextJob()!.id).toBe(other.id);
    expect(db.claimNextJob()).toBeUndefined();
    db.failJob(a.id, { kind: 'crash', text: 'the worker died' });
    expect(db.getJob(copy.id)).toMatchObject({ state: 'failed', error_kind: 'crash' });
    expect(db.getJob(copy.id)!.error_text).toMatch(/^same content as job 1, which failed: the worker died \(posepipe resume 1 finishes this copy too\)$/);
    // Resuming the copy resumes its original; the copy still waits for it.
    db.resumeJob(copy.id);
    expect([db.getJob(a.id)!.state, db.getJob(copy.id)!.state]).toEqual(['queued', 'queued']);
    expect(db.claimNextJob()!.id).toBe(a.id);
    db.finishCancel(a.id);
    expect(db.getJob(copy.id)!.error_text).toMatch(/which was cancelled/);
    db.resumeJob(a.id);
    expect(db.getJob(copy.id)!.state).toBe('queued');
    expect(db.claimNextJob()!.id).toBe(a.id);
    db.finishJob(a.id);
    expect(db.claimNextJob()!.id).toBe(copy.id);
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
    expect(() => db.resumeJob(j.id)).toThrow(/job 1 is not failed or cancelled \(it is queued\)/);
    expect(db.getJob(j.id)!.state).toBe('queued');
    // A stage counts every attempt over resumes (its time worked adds up the same way).
    expect(db.listStages(j.id)[0]).toMatchObject({ state: 'pending', attempts: 1 });
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

  it('a split that shortens the overlap of a chunk already done sends that chunk back (its result holds the longer overlap)', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const { job: j } = db.createJob(job('a'));
    db.replaceChunks(j.id, [
      { idx: 0, file: 'chunks/0000.mp4', firstFrame: 0, frameCount: 20, overlapFrames: 0 },
      { idx: 1, file: 'chunks/0001.mp4', firstFrame: 20, frameCount: 20, overlapFrames: 16 },
      { idx: 2, file: 'chunks/0002.mp4', firstFrame: 40, frameCount: 20, overlapFrames: 8 },
    ]);
    // Another slot tracked chunk 1 while chunk 0 ran out of memory.
    db.startChunk(j.id, 1);
    db.finishChunk(j.id, 1, { file: 'results/0000020+20.pkl', bytes: 10, sha256: 'f'.repeat(64), trackerMs: 5 });
    db.startChunk(j.id, 0);
    db.failChunk(j.id, 0, { kind: 'oom', text: 'out of memory' }, true);
    db.splitChunk(j.id, 0, 16);
    const rows = db.listChunks(j.id).map((c) => [c.first_frame, c.frame_count, c.overlap_frames, c.state, c.attempts, c.result_file]);
    expect(rows).toEqual([
      [0, 10, 0, 'pending', 0, null],
      [10, 10, 10, 'pending', 0, null],
      [20, 20, 10, 'pending', 0, null], // was done with 16 overlap frames: tracked again
      [40, 20, 8, 'pending', 0, null],
    ]);
    // A done chunk whose overlap still fits is left alone.
    db.startChunk(j.id, 3);
    db.finishChunk(j.id, 3, { file: 'results/0000040+20.pkl', bytes: 10, sha256: 'f'.repeat(64), trackerMs: 5 });
    db.startChunk(j.id, 2);
    db.failChunk(j.id, 2, { kind: 'oom', text: 'out of memory' }, true);
    db.splitChunk(j.id, 2, 16);
    expect(db.listChunks(j.id).at(-1)).toMatchObject({ first_frame: 40, overlap_frames: 8, state: 'done' });
    db.close();
  });

  it('gives a running chunk back without counting the attempt (posepipe stopped it; it did not fail)', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const { job: j } = db.createJob(job('a'));
    db.replaceChunks(j.id, [{ idx: 0, file: 'chunks/0000.mp4', firstFrame: 0, frameCount: 20, overlapFrames: 0 }]);
    db.startChunk(j.id, 0);
    db.chunkProgress(j.id, 0, 7);
    db.releaseChunk(j.id, 0);
    expect(db.listChunks(j.id)[0]).toMatchObject({ state: 'pending', attempts: 0, frames_done: 0, error_kind: null });
    db.releaseChunk(j.id, 0); // not running: nothing happens
    expect(db.listChunks(j.id)[0]).toMatchObject({ state: 'pending', attempts: 0 });
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

  it('migrates a version-3 database to the newest keeping every job, stage and chunk (jobs and stages are rebuilt, nothing cascades); jobs not done gain a pending preview stage', () => {
    ws = makeWorkspace('db');
    const file = join(ws.home, 'posepipe.db');
    const raw = new Database(file);
    raw.pragma('foreign_keys = OFF');
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
    raw.pragma('foreign_keys = ON');
    for (const m of listMigrations().filter((m) => m.version <= 3)) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    raw.prepare("INSERT INTO jobs (id, source_name, source_path, source_sha256, source_bytes, output_name, state, error_kind, error_text, created_ms, updated_ms) VALUES (7, 'a.mp4', '/in/a.mp4', 'x', 1, 'a.json', 'failed', 'oom', 'boom', 1, 1)").run();
    raw.prepare("INSERT INTO stages (job_id, name, state) VALUES (7, 'track', 'failed')").run();
    raw.prepare("INSERT INTO jobs (id, source_name, source_path, source_sha256, source_bytes, output_name, state, created_ms, updated_ms) VALUES (8, 'b.mp4', '/in/b.mp4', 'y', 1, 'b.json', 'done', 1, 1)").run();
    raw.prepare("INSERT INTO stages (job_id, name, state) VALUES (8, 'emit', 'done')").run();
    raw.prepare("INSERT INTO chunks (job_id, idx, file, first_frame, frame_count, overlap_frames, state, tracker_ms) VALUES (7, 0, 'c0', 0, 5, 0, 'done', 1500), (7, 1, 'c1', 5, 5, 2, 'failed', NULL)").run();
    raw.close();
    const db = openDb(ws.home);
    expect(db.getJob(7)).toMatchObject({ state: 'failed', error_kind: 'oom', cancel_requested_ms: null });
    expect(db.listStages(7).map((s) => [s.name, s.state])).toEqual([['track', 'failed'], ['preview', 'pending']]);
    expect(db.listStages(8).map((s) => [s.name, s.state])).toEqual([['emit', 'done']]);
    expect(db.listChunks(7).map((c) => c.state)).toEqual(['done', 'failed']);
    // Counters start from what the rows already show.
    expect(db.listCounters()).toEqual([
      { name: 'chunks_processed', label: '', value: 1 },
      { name: 'job_failures', label: 'oom', value: 1 },
      { name: 'jobs_done', label: '', value: 1 },
      { name: 'tracker_seconds', label: '', value: 1.5 },
    ]);
    expect(db.integrityCheck()).toBe('ok');
    db.close();
  });

  it('cancels a queued job at once, asks a running one to stop, and refuses the rest', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const a = db.createJob(job('a')).job;
    const b = db.createJob(job('b')).job;
    expect(db.cancelJob(a.id)).toBe('cancelled');
    expect(db.getJob(a.id)!.state).toBe('cancelled');
    expect(() => db.cancelJob(a.id)).toThrow(/job 1 is not queued or running \(it is cancelled\)/);
    db.claimJob(b.id);
    db.startStage(b.id, 'stage');
    expect(db.cancelRequested(b.id)).toBe(false);
    expect(db.cancelJob(b.id)).toBe('requested');
    expect(db.cancelJob(b.id)).toBe('requested');
    expect(db.cancelRequested(b.id)).toBe(true);
    db.replaceChunks(b.id, [{ idx: 0, file: 'c0', firstFrame: 0, frameCount: 5, overlapFrames: 0 }]);
    db.startChunk(b.id, 0);
    db.chunkProgress(b.id, 0, 3);
    db.finishCancel(b.id);
    expect(db.getJob(b.id)).toMatchObject({ state: 'cancelled', cancel_requested_ms: null });
    expect(db.getChunk(b.id, 0)).toMatchObject({ state: 'pending', frames_done: 0 });
    expect(db.listStages(b.id)[0]).toMatchObject({ name: 'stage', state: 'pending' });
    // A cancelled job resumes like a failed one.
    db.resumeJob(b.id);
    expect(db.getJob(b.id)!.state).toBe('queued');
    // A cancel asked for while no posepipe ran is carried out at the next start.
    db.claimJob(b.id);
    db.cancelJob(b.id);
    expect(db.requeueStale()).toBe(0);
    expect(db.getJob(b.id)!.state).toBe('cancelled');
    db.close();
  });

  it('retries one failed chunk of a failed job, and says why when it does not apply', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const { job: j } = db.createJob(job('a'));
    db.claimJob(j.id);
    db.replaceChunks(j.id, [
      { idx: 0, file: 'c0', firstFrame: 0, frameCount: 5, overlapFrames: 0 },
      { idx: 1, file: 'c1', firstFrame: 5, frameCount: 5, overlapFrames: 2 },
    ]);
    db.startChunk(j.id, 0);
    db.finishChunk(j.id, 0, { file: 'r0', bytes: 1, sha256: 'h', trackerMs: 2500 });
    db.startChunk(j.id, 1);
    db.failChunk(j.id, 1, { kind: 'crash', text: 'died' }, false);
    expect(() => db.retryChunk(j.id, 1)).toThrow(/job 1 is not failed \(it is running\)/);
    db.failJob(j.id, { kind: 'crash', text: 'died' });
    expect(() => db.retryChunk(j.id, 0)).toThrow(/chunk 1 of job 1 is not failed \(it is done\)/);
    expect(() => db.retryChunk(j.id, 9)).toThrow(/chunk 10 of job 1 is not known/);
    db.retryChunk(j.id, 1);
    expect(db.getJob(j.id)).toMatchObject({ state: 'queued', stage: 'track' });
    expect(db.getChunk(j.id, 1)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(db.getChunk(j.id, 0)).toMatchObject({ state: 'done', attempts: 1 });
    expect(() => db.retryChunk(j.id, 1)).toThrow(/chunk 2 of job 1 is not failed \(it is pending\)/);
    const counters = Object.fromEntries(db.listCounters().map((c) => [`${c.name}{${c.label}}`, c.value]));
    expect(counters).toMatchObject({ 'chunks_processed{}': 1, 'tracker_seconds{}': 2.5, 'chunk_failures{crash}': 1, 'job_failures{crash}': 1 });
    db.close();
  });

  it('sums up a page of jobs and their chunks in one query, and counts by state', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    for (const h of ['a', 'b', 'c']) db.createJob(job(h));
    db.replaceChunks(2, [
      { idx: 0, file: 'c0', firstFrame: 0, frameCount: 10, overlapFrames: 0 },
      { idx: 1, file: 'c1', firstFrame: 10, frameCount: 7, overlapFrames: 2 },
    ]);
    db.claimJob(2);
    db.startChunk(2, 0);
    db.finishChunk(2, 0, { file: 'r0', bytes: 1, sha256: 'h', trackerMs: 1200 });
    db.startChunk(2, 1);
    db.chunkProgress(2, 1, 3);
    // The running chunk counts its time so far as tracker time: 1200 ms done, 500 ms running.
    const now = db.getChunk(2, 1)!.started_ms! + 500;
    const page = db.listJobSummaries({ limit: 2, offset: 0, now });
    expect(page.map((j) => j.id)).toEqual([3, 2]);
    expect(page[0]).toMatchObject({ chunks: 0, frames: null, frames_done: 0 });
    expect(page[1]).toMatchObject({ chunks: 2, chunks_done: 1, chunks_failed: 0, frames: 17, frames_done: 13, tracker_ms: 1700 });
    expect(db.listJobSummaries({ state: 'running', limit: 10, offset: 0 }).map((j) => j.id)).toEqual([2]);
    expect(db.listJobSummaries({ limit: 10, offset: 2 }).map((j) => j.id)).toEqual([1]);
    expect(db.getJobSummary(2, now + 1000)).toMatchObject({ id: 2, chunks: 2, chunks_done: 1, frames: 17, frames_done: 13, tracker_ms: 2700 });
    expect(db.getJobSummary(99)).toBeUndefined();
    expect(db.countJobsByState()).toEqual({ queued: 2, running: 1, done: 0, failed: 0, cancelled: 0 });
    expect(db.countChunksByState(2)).toEqual({ pending: 0, running: 1, done: 1, failed: 0 });
    expect(db.listChunksPage(2, { state: 'running', limit: 5, offset: 0 }).map((c) => c.idx)).toEqual([1]);
    expect(db.pendingChunkCount()).toBe(1);
    db.close();
  });

  it('keeps the intake switch, and its change stamp moves on every commit from any connection', () => {
    ws = makeWorkspace('db');
    const db = openDb(ws.home);
    const other = openDb(ws.home);
    expect(db.intakePaused()).toBe(false);
    const s0 = db.changeStamp();
    other.setIntakePaused(true);
    const s1 = db.changeStamp();
    expect(s1).not.toBe(s0);
    expect(db.intakePaused()).toBe(true);
    db.setIntakePaused(false);
    expect(db.changeStamp()).not.toBe(s1);
    expect(other.intakePaused()).toBe(false);
    other.close();
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

describe('a new database', () => {
  it('appears whole: a reader polling while another process makes it finds no file or every table', async () => {
    ws = makeWorkspace('db-new');
    const homes = [1, 2, 3, 4, 5].map((i) => join(ws.root, `home-${i}`));
    const script = `const { openDb } = await import('./src/db/index.ts'); for (const h of ${JSON.stringify(homes)}) openDb(h).close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let running = true;
    void exited.then(() => (running = false));
    const seen: string[] = [];
    let found = 0;
    while (running) {
      for (const home of homes) {
        const file = join(home, 'posepipe.db');
        if (!existsSync(file)) continue;
        found++;
        try {
          const db = new Database(file, { readonly: true, fileMustExist: true });
          try {
            db.prepare('SELECT count(*) FROM jobs').get();
          } finally {
            db.close();
          }
        } catch (err) {
          seen.push(`${file}: ${(err as Error).message}`);
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(await exited, stderr).toBe(0);
    expect(found).toBeGreaterThan(0);
    expect(seen).toEqual([]);
    for (const home of homes) expect(readdirSync(home).filter((f) => f.includes('.new-'))).toEqual([]);
  });

  it("clears the drafts of a process killed while it made one, and leaves a living one's alone", async () => {
    ws = makeWorkspace('db-drafts');
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    const dead = [`posepipe.db.new-${gone.pid}`, `posepipe.db.new-${gone.pid}-journal`];
    const living = `posepipe.db.new-${process.ppid}`;
    for (const name of [...dead, living]) writeFileSync(join(ws.home, name), 'half a database');
    openDb(ws.home).close();
    expect(readdirSync(ws.home).filter((f) => f.includes('.new-'))).toEqual([living]);
  });
});
