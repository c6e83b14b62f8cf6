/**
 * The after-done step on real folders: what `start` does with an inbox file once its job is done
 * (afterDone keep / move / delete), and what it must never touch.
 */
import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAfterDone, type AfterDoneMode, type ReadyFile } from '../../src/watcher/index.ts';
import { versionKey } from '../../src/watcher/readiness.ts';
import { workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

/** What the watcher hands over for the file as it is now (raw bytes for a name that is not valid UTF-8). */
function handed(path: string | Buffer): ReadyFile {
  const st = lstatSync(path);
  const text = path.toString();
  const file: ReadyFile = { path: text, name: text.split('/').at(-1)!, size: st.size, mtimeMs: st.mtimeMs, sha256: 'not checked here', version: versionKey(st) };
  if (typeof path !== 'string') file.pathBytes = path;
  return file;
}

/** An after-done step over `ws` whose jobs are done (with their output in the outbox) once listed in `done`. */
function setUp(ws: Workspace, mode: AfterDoneMode) {
  const done = new Map<number, string>();
  const lines: string[] = [];
  const step = createAfterDone({ mode, inbox: ws.inbox, outputOf: (id) => done.get(id), log: (line) => lines.push(line) });
  const finish = async (id: number, output: string, write = true): Promise<void> => {
    const path = join(ws.outbox, output);
    if (write) writeFileSync(path, '{}');
    done.set(id, path);
    step.jobDone(id);
    await step.close();
  };
  return { step, lines, finish };
}

const inboxNames = (ws: Workspace) => readdirSync(ws.inbox).sort();

describe('after a job is done (afterDone)', () => {
  it('keep: leaves the file where it is', async () => {
    const ws = workspace('after-keep');
    writeFileSync(join(ws.inbox, 'clip.mp4'), 'video');
    const { step, lines, finish } = setUp(ws, 'keep');
    step.taken(1, handed(join(ws.inbox, 'clip.mp4')));
    await finish(1, 'clip.json');
    expect(inboxNames(ws)).toEqual(['clip.mp4']);
    expect(lines).toEqual([]);
  });

  it('move: only once the job is done, into inbox/done/, a taken name getting -2 and the file there kept', async () => {
    const ws = workspace('after-move');
    mkdirSync(join(ws.inbox, 'done'));
    writeFileSync(join(ws.inbox, 'done', 'clip.mp4'), 'an earlier clip');
    writeFileSync(join(ws.inbox, 'clip.mp4'), 'video');
    writeFileSync(join(ws.inbox, 'notes'), 'no extension');
    const { step, lines, finish } = setUp(ws, 'move');
    step.taken(1, handed(join(ws.inbox, 'clip.mp4')));
    step.taken(2, handed(join(ws.inbox, 'notes')));
    await step.close();
    expect(inboxNames(ws)).toEqual(['clip.mp4', 'done', 'notes']); // not done yet
    await finish(1, 'clip.json');
    await finish(2, 'notes.json');
    expect(inboxNames(ws)).toEqual(['done']);
    expect(readdirSync(join(ws.inbox, 'done')).sort()).toEqual(['clip-2.mp4', 'clip.mp4', 'notes']);
    expect(readFileSync(join(ws.inbox, 'done', 'clip.mp4'), 'utf8')).toBe('an earlier clip');
    expect(readFileSync(join(ws.inbox, 'done', 'clip-2.mp4'), 'utf8')).toBe('video');
    expect(lines).toEqual([`job 1: "clip.mp4" moved to ${join(ws.inbox, 'done', 'clip-2.mp4')}`, `job 2: "notes" moved to ${join(ws.inbox, 'done', 'notes')}`]);
  });

  it('move: a move cut short (the file already linked into inbox/done/) only removes the inbox name', async () => {
    const ws = workspace('after-move-cut');
    mkdirSync(join(ws.inbox, 'done'));
    writeFileSync(join(ws.inbox, 'clip.mp4'), 'video');
    linkSync(join(ws.inbox, 'clip.mp4'), join(ws.inbox, 'done', 'clip.mp4'));
    const { step, finish } = setUp(ws, 'move');
    step.taken(1, handed(join(ws.inbox, 'clip.mp4')));
    await finish(1, 'clip.json');
    expect(inboxNames(ws)).toEqual(['done']);
    expect(readdirSync(join(ws.inbox, 'done'))).toEqual(['clip.mp4']);
  });

  it('move: a name that is not valid UTF-8 keeps its bytes, and its number goes before the extension', async () => {
    const ws = workspace('after-move-bytes');
    const name = Buffer.concat([Buffer.from('clip-'), Buffer.from([0xff]), Buffer.from('.mp4')]);
    const inboxPath = Buffer.concat([Buffer.from(`${ws.inbox}/`), name]);
    mkdirSync(join(ws.inbox, 'done'));
    writeFileSync(Buffer.concat([Buffer.from(`${ws.inbox}/done/`), name]), 'an earlier clip');
    writeFileSync(inboxPath, 'video');
    const { step, finish } = setUp(ws, 'move');
    step.taken(1, handed(inboxPath));
    await finish(1, 'clip.json');
    expect(readdirSync(ws.inbox, { encoding: 'buffer' }).map((n) => n.toString('hex'))).toEqual([Buffer.from('done').toString('hex')]);
    const done = readdirSync(join(ws.inbox, 'done'), { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort();
    expect(done).toEqual(['clip-\xff-2.mp4', 'clip-\xff.mp4']);
  });

  it('delete: only once the JSON is in the outbox, and never a file replaced or changed since its job took it', async () => {
    const ws = workspace('after-delete');
    for (const name of ['a.mp4', 'b.mp4', 'c.mp4', 'd.mp4']) writeFileSync(join(ws.inbox, name), name);
    const { step, lines, finish } = setUp(ws, 'delete');
    const taken = ['a.mp4', 'b.mp4', 'c.mp4', 'd.mp4'].map((name) => handed(join(ws.inbox, name)));
    taken.forEach((file, i) => step.taken(i + 1, file));
    // b: replaced by another file of the same name and size, with its own older mtime (cp -p); c: written again in place.
    rmSync(join(ws.inbox, 'b.mp4'));
    writeFileSync(join(ws.inbox, 'b.mp4'), 'B.mp4');
    utimesSync(join(ws.inbox, 'b.mp4'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    writeFileSync(join(ws.inbox, 'c.mp4'), 'c.mp4 and more');
    await finish(1, 'a.json');
    await finish(2, 'b.json');
    await finish(3, 'c.json');
    await finish(4, 'd.json', false); // done, but its JSON is not there
    expect(inboxNames(ws)).toEqual(['b.mp4', 'c.mp4', 'd.mp4']);
    expect(lines).toEqual([
      `job 1: "a.mp4" deleted from the inbox (its result: ${join(ws.outbox, 'a.json')})`,
      'job 2: "b.mp4" is left in the inbox: it was replaced or changed after the job took it',
      'job 3: "c.mp4" is left in the inbox: it was replaced or changed after the job took it',
      `job 4: "d.mp4" is left in the inbox: its output ${join(ws.outbox, 'd.json')} is missing`,
    ]);
  });

  it('touches nothing of a job the watcher did not hand over (posepipe run), nor a file already gone', async () => {
    const ws = workspace('after-other');
    writeFileSync(join(ws.inbox, 'run.mp4'), 'given to posepipe run');
    writeFileSync(join(ws.inbox, 'gone.mp4'), 'gone');
    const { step, lines, finish } = setUp(ws, 'delete');
    step.taken(2, handed(join(ws.inbox, 'gone.mp4')));
    rmSync(join(ws.inbox, 'gone.mp4'));
    await finish(1, 'run.json');
    await finish(2, 'gone.json');
    expect(inboxNames(ws)).toEqual(['run.mp4']);
    expect(lines).toEqual([]);
  });
});
