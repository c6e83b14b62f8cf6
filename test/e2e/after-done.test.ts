/**
 * What `posepipe start` does with an inbox file once its job is done (afterDone): delete (only once
 * the JSON is there), move to inbox/done/ (never over another file); a kill between a job's JSON
 * and its file's turn is caught up at the next start without tracking again; a file given to
 * `posepipe run` is never touched; a file ignored for its extension is said once. keep, the
 * default, is checked by inbox-to-outbox.test.ts. One tracked job (the run's): the inbox files are
 * copies of it, so the three processes cost little more than their start-up.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli, spawnCli, type CliResult } from '../helpers/cli.ts';
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
  it('delete once the JSON is written, a kill before the next one, move at the next start under a free name without tracking again; a posepipe run file never touched', async () => {
    const ws = workspace('after-done');
    const inbox = (name: string) => join(ws.inbox, name);
    const outside = join(ws.root, 'elsewhere', 'clip.mp4');
    mkdirSync(join(ws.root, 'elsewhere'));
    copyFileSync(fixture('small.mp4'), outside);
    const run = await runCli(['run', outside], env(ws, 'delete'));
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(outside)).toBe(true);

    // The same content twice in the inbox: two copies of the run's job, each written from its result.
    mkdirSync(inbox('done'));
    for (const name of ['a', 'b']) {
      writeFileSync(inbox(`done/${name}.mp4`), `an earlier ${name}.mp4`);
      copyFileSync(fixture('small.mp4'), inbox(`${name}.mp4`));
    }
    writeFileSync(inbox('notes.txt'), 'not a video');

    // delete, killed at the second job's step: the first file went only once its JSON was there.
    const first = spawnCli(['start'], env(ws, 'delete', { POSEPIPE_CRASHPOINT: 'finished:2' }));
    const jsonWhenGone = new Map<string, boolean>();
    let crashed: CliResult | undefined;
    void first.done.then((r) => (crashed = r));
    await waitFor('start to kill itself at its second after-done step', () => {
      for (const name of ['a', 'b']) if (!jsonWhenGone.has(name) && !existsSync(inbox(`${name}.mp4`))) jsonWhenGone.set(name, existsSync(join(ws.outbox, `${name}.json`)));
      return crashed;
    }, 60_000, 20);
    expect(crashed!.signal, first.output()).toBe('SIGKILL');
    expect([...jsonWhenGone.values()]).toEqual([true]);
    const [deleted] = [...jsonWhenGone.keys()];
    const kept = deleted === 'a' ? 'b' : 'a';
    expect(first.output()).toMatch(new RegExp(`job \\d: "${deleted}.mp4" deleted from the inbox \\(its result: .*${deleted}\\.json\\)`));
    expect(existsSync(join(ws.outbox, `${kept}.json`))).toBe(true);
    expect(existsSync(inbox(`${kept}.mp4`))).toBe(true);
    expect(first.output().match(/Ignoring "notes.txt" in the inbox: \.txt is not a video extension/g)).toHaveLength(1);

    // move: the file left by the kill goes to inbox/done/ beside the earlier one of its name.
    const out = await startUntil(env(ws, 'move'), `${kept}.mp4 to move to inbox/done/${kept}-2.mp4`, () => !existsSync(inbox(`${kept}.mp4`)) && existsSync(inbox(`done/${kept}-2.mp4`)));
    expect(out).toMatch(new RegExp(`job \\d: "${kept}.mp4" moved to ${inbox(`done/${kept}-2.mp4`)}`));
    expect(readFileSync(inbox(`done/${kept}-2.mp4`)).equals(readFileSync(fixture('small.mp4')))).toBe(true);
    for (const name of ['a', 'b']) expect(readFileSync(inbox(`done/${name}.mp4`), 'utf8')).toBe(`an earlier ${name}.mp4`);
    expect(readdirSync(ws.inbox).sort()).toEqual(['done', 'notes.txt']);
    expect(out.match(/Ignoring "notes.txt"/g)).toHaveLength(1);
    // Three jobs (the run's and two copies), each stage run once: the second start only moved a file.
    expect(rows(ws, 'SELECT id, copy_of FROM jobs ORDER BY id')).toEqual([{ id: 1, copy_of: null }, { id: 2, copy_of: 1 }, { id: 3, copy_of: 1 }]);
    expect(rows<{ attempts: number }>(ws, 'SELECT attempts FROM stages').every((s) => s.attempts === 1)).toBe(true);
    expect(existsSync(outside)).toBe(true);
  });
});
