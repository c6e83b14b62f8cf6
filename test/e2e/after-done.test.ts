/**
 * What `posepipe start` does with an inbox file once its job is done (afterDone): move to
 * inbox/done/ (never over another file; a kill between the JSON and the move is caught up at the
 * next start without tracking again), delete (only once the JSON is there); a file given to
 * `posepipe run` is never touched; a file ignored for its extension is said once. keep, the
 * default, is checked by inbox-to-outbox.test.ts.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

const env = (ws: Workspace, afterDone: string, extra: Record<string, string> = {}) =>
  cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_AFTER_DONE: afterDone, POSEPIPE_RESCAN_SECONDS: '1', ...extra });

function rows<T>(ws: Workspace, sql: string): T[] {
  const db = new Database(join(ws.home, 'posepipe.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** Run `start` until `until` answers, then stop it with SIGTERM; its whole output. */
async function startUntil(runEnv: NodeJS.ProcessEnv, what: string, until: () => boolean | undefined): Promise<string> {
  const app = spawnCli(['start'], runEnv);
  try {
    await waitFor(what, () => (until() ? true : undefined), 60_000, 100);
  } catch (error) {
    throw new Error(`${(error as Error).message}; posepipe start said:\n${app.output()}`);
  } finally {
    app.child.kill('SIGTERM');
  }
  const end = await app.done;
  expect(end.code, end.stdout + end.stderr).toBe(0);
  return end.stdout + end.stderr;
}

describe('posepipe start: the inbox file after its job (afterDone)', () => {
  it('move: into inbox/done/ under a free name, and a kill after the JSON moves it at the next start without tracking again', async () => {
    const ws = workspace('after-move');
    const inbox = (name: string) => join(ws.inbox, name);
    mkdirSync(inbox('done'));
    writeFileSync(inbox('done/clip.mp4'), 'a clip moved here earlier');
    writeFileSync(inbox('notes.txt'), 'not a video');
    copyFileSync(fixture('small.mp4'), inbox('clip.mp4'));

    const first = spawnCli(['start'], env(ws, 'move', { POSEPIPE_CRASHPOINT: 'finished:1' }));
    const crashed = await first.done;
    expect(crashed.signal, crashed.stdout + crashed.stderr).toBe('SIGKILL');
    expect(existsSync(join(ws.outbox, 'clip.json'))).toBe(true);
    expect(existsSync(inbox('clip.mp4'))).toBe(true);
    expect(crashed.stdout.match(/Ignoring "notes.txt" in the inbox: \.txt is not a video extension/g)).toHaveLength(1);

    const out = await startUntil(env(ws, 'move'), 'clip.mp4 to move to inbox/done/clip-2.mp4', () => !existsSync(inbox('clip.mp4')) && existsSync(inbox('done/clip-2.mp4')));
    expect(readFileSync(inbox('done/clip.mp4'), 'utf8')).toBe('a clip moved here earlier');
    expect(readFileSync(inbox('done/clip-2.mp4')).equals(readFileSync(fixture('small.mp4')))).toBe(true);
    expect(out).toContain(`job 1: "clip.mp4" moved to ${inbox('done/clip-2.mp4')}`);
    // One job, each stage run once: the second start found it done and only moved its file.
    expect(rows(ws, 'SELECT id FROM jobs')).toEqual([{ id: 1 }]);
    expect(rows<{ attempts: number }>(ws, 'SELECT attempts FROM stages WHERE job_id = 1').every((s) => s.attempts === 1)).toBe(true);
    expect(out.match(/Ignoring "notes.txt"/g)).toHaveLength(1);
  });

  it('delete: only once its JSON is written; a file given to posepipe run is never touched', async () => {
    const ws = workspace('after-delete');
    const outside = join(ws.root, 'elsewhere', 'clip.mp4');
    mkdirSync(join(ws.root, 'elsewhere'));
    copyFileSync(fixture('small.mp4'), outside);
    const run = await runCli(['run', outside], env(ws, 'delete'));
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(outside)).toBe(true);

    // The same content dropped into the inbox: a copy of the run's job, written from its result, then deleted.
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'fresh.mp4'));
    let jsonWhenDeleted: boolean | undefined;
    const out = await startUntil(env(ws, 'delete'), 'fresh.mp4 to be deleted', () => {
      if (existsSync(join(ws.inbox, 'fresh.mp4'))) return undefined;
      jsonWhenDeleted = existsSync(join(ws.outbox, 'fresh.json'));
      return true;
    });
    expect(jsonWhenDeleted).toBe(true);
    expect(out).toContain(`job 2: "fresh.mp4" deleted from the inbox (its result: ${join(ws.outbox, 'fresh.json')})`);
    expect(existsSync(outside)).toBe(true);
    expect(rows(ws, 'SELECT id, copy_of FROM jobs ORDER BY id')).toEqual([{ id: 1, copy_of: null }, { id: 2, copy_of: 1 }]);
  });
});
