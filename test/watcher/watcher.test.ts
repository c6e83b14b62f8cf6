import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it, type OnTestFinishedHandler } from 'vitest';
import { createInboxWatcher, type InboxWatcher, type InboxWatcherOptions, type ReadyFile } from '../../src/watcher/index.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

const READY_MS = 400;
const CHECK_MS = 50;

/** Shapes a scenario (a writer pausing); never used to wait for the watcher. */
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface Harness {
  ws: Workspace;
  watcher: InboxWatcher;
  ready: Array<ReadyFile & { at: number }>;
  warnings: string[];
  /** onReady calls for one name. */
  readyFor(name: string): Array<ReadyFile & { at: number }>;
  /** Wait until `count` onReady calls arrived for `name`. */
  waitReady(name: string, count?: number): Promise<Array<ReadyFile & { at: number }>>;
  /**
   * Drop a fresh file and wait for it: anything an earlier file could still produce would have
   * become ready by then, so "exactly N" assertions after settle() are meaningful.
   */
  settle(): Promise<void>;
  warningsAbout(name: string): string[];
}

/** The test's own `onTestFinished` (the tests of this file run concurrently: each cleans up after itself only). */
type OnFinished = (fn: OnTestFinishedHandler) => void;

/** Close `watcher` and its servers and remove its workspace once the test is over. */
function cleanUpAfter(onFinished: OnFinished, watcher: InboxWatcher, ws: Workspace, servers: Server[]): void {
  onFinished(async () => {
    await watcher.close();
    for (const server of servers) server.close();
    ws.cleanup();
  });
}

async function startWatcher(onFinished: OnFinished, polling: InboxWatcherOptions['polling'], options: Partial<InboxWatcherOptions> & { removeInbox?: boolean; before?: (ws: Workspace) => void | Promise<void> } = {}): Promise<Harness & { servers: Server[] }> {
  const { removeInbox, before, ...overrides } = options;
  const ws = makeWorkspace('watcher');
  if (removeInbox) rmSync(ws.inbox, { recursive: true });
  await before?.(ws);
  const ready: Harness['ready'] = [];
  const warnings: string[] = [];
  const watcher = createInboxWatcher({
    inbox: ws.inbox,
    readyMs: READY_MS,
    checkEveryMs: CHECK_MS,
    rescanMs: 60_000, // long: the tests see chokidar's events, not the periodic rescan
    polling,
    pollIntervalMs: 50,
    onReady: (file) => {
      ready.push({ ...file, at: performance.now() });
    },
    onWarning: (message) => warnings.push(message),
    ...overrides,
  });
  const servers: Server[] = [];
  cleanUpAfter(onFinished, watcher, ws, servers);
  await watcher.start();
  let sentinels = 0;
  const harness: Harness & { servers: Server[] } = {
    ws,
    watcher,
    ready,
    warnings,
    servers,
    readyFor: (name) => ready.filter((f) => f.name === name),
    waitReady: (name, count = 1) =>
      waitFor(`${count} onReady for ${JSON.stringify(name)}`, () => {
        const got = harness.readyFor(name);
        return got.length >= count ? got : undefined;
      }, 20_000),
    settle: async () => {
      const name = `zz-sentinel-${++sentinels}.mp4`;
      writeFileSync(join(ws.inbox, name), `sentinel ${sentinels}`);
      await harness.waitReady(name);
    },
    warningsAbout: (name) => warnings.filter((w) => w.includes(`"${name}"`)),
  };
  return harness;
}

const withoutSentinels = (files: ReadyFile[]) => files.filter((f) => !f.name.startsWith('zz-sentinel-'));

// Each test has its own inbox and watcher, and mostly waits: they run side by side.
describe.concurrent.each(['never', 'always'] as const)('inbox watcher, polling %s', (polling) => {
  it('uses the polling mode it was given', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling);
    expect(h.watcher.usingPolling).toBe(polling === 'always');
  });

  it('hands over a file written slowly in pieces exactly once, after the last write, with its real hash', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling, { readyMs: 600 });
    const path = join(h.ws.inbox, 'slow.mp4');
    const file = await open(path, 'w');
    let lastWrite = 0;
    for (let i = 0; i < 6; i++) {
      await file.write(Buffer.alloc(64 * 1024, i + 1));
      lastWrite = performance.now();
      await pause(250); // longer than checkEveryMs, shorter than readyMs
    }
    await file.close();
    const [got] = await h.waitReady('slow.mp4');
    await h.settle();
    expect(withoutSentinels(h.ready)).toHaveLength(1);
    expect(got?.at).toBeGreaterThanOrEqual(lastWrite + 600);
    expect(got).toMatchObject({ path, name: 'slow.mp4', size: 6 * 64 * 1024, sha256: sha256(readFileSync(path)) });
  });

  it('hands over a file whose copy was already under way at start once, after its last write', async ({ onTestFinished }) => {
    let file: Awaited<ReturnType<typeof open>> | undefined;
    const h = await startWatcher(onTestFinished, polling, {
      readyMs: 600,
      before: async (ws) => {
        file = await open(join(ws.inbox, 'midway.mov'), 'w');
        await file.write(Buffer.alloc(128 * 1024, 7));
      },
    });
    let lastWrite = 0;
    for (let i = 0; i < 4; i++) {
      await pause(250); // longer than checkEveryMs, shorter than readyMs
      await file?.write(Buffer.alloc(64 * 1024, i));
      lastWrite = performance.now();
    }
    await file?.close();
    const [got] = await h.waitReady('midway.mov');
    await h.settle();
    expect(withoutSentinels(h.ready)).toHaveLength(1);
    expect(got?.at).toBeGreaterThanOrEqual(lastWrite + 600);
    expect(got).toMatchObject({ size: 128 * 1024 + 4 * 64 * 1024, sha256: sha256(readFileSync(join(h.ws.inbox, 'midway.mov'))) });
  });

  it('hands over a file present before start once, and not again on rescans', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling, { before: (ws) => writeFileSync(join(ws.inbox, 'early.mkv'), 'early bytes') });
    const [got] = await h.waitReady('early.mkv');
    expect(got?.sha256).toBe(sha256('early bytes'));
    await h.watcher.rescan();
    await h.watcher.rescan();
    await h.settle();
    expect(h.readyFor('early.mkv')).toHaveLength(1);
  });

  it('gives one event for a temporary name renamed into place, none for the temporary name', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling);
    const part = join(h.ws.inbox, 'clip.mp4.part');
    writeFileSync(part, 'first half ');
    await pause(150);
    writeFileSync(part, 'first half second half');
    renameSync(part, join(h.ws.inbox, 'clip.mp4'));
    await h.waitReady('clip.mp4');
    await h.settle();
    expect(withoutSentinels(h.ready).map((f) => f.name)).toEqual(['clip.mp4']);
    expect(h.warnings).toEqual([]);
  });

  it('ignores hidden, temporary and non-video names, saying so once per other file; accepts upper-case extensions; never looks into inbox/done/', async ({ onTestFinished }) => {
    const ignoredLines: string[] = [];
    const h = await startWatcher(onTestFinished, polling, { onIgnored: (line) => ignoredLines.push(line) });
    const ignored = ['.hidden.mp4', 'notes.txt', 'x.crdownload', 'y.mp4.partial', '~$lock.mp4', 'backup.mp4~', 'a.MP4.TMP', 'noext', 'z.mp4.download', 'w.mov.filepart', 'v.avi.!ut'];
    for (const name of ignored) writeFileSync(join(h.ws.inbox, name), name);
    mkdirSync(join(h.ws.inbox, 'done'));
    writeFileSync(join(h.ws.inbox, 'done', 'finished.mp4'), 'moved here after its job');
    writeFileSync(join(h.ws.inbox, 'good.MOV'), 'good');
    await h.waitReady('good.MOV');
    await h.watcher.rescan();
    await h.watcher.rescan();
    await h.settle();
    expect(withoutSentinels(h.ready).map((f) => f.name)).toEqual(['good.MOV']);
    expect(h.warnings).toEqual([]);
    expect(ignoredLines.sort()).toEqual([
      expect.stringMatching(/^Ignoring "noext" in the inbox: it has no extension \(videos: \.mp4 \.mov /),
      expect.stringMatching(/^Ignoring "notes.txt" in the inbox: \.txt is not a video extension \(videos: \.mp4 /),
    ]);
    // Gone and back: said again.
    rmSync(join(h.ws.inbox, 'notes.txt'));
    await h.watcher.rescan();
    writeFileSync(join(h.ws.inbox, 'notes.txt'), 'again');
    await h.watcher.rescan();
    expect(ignoredLines.filter((l) => l.includes('"notes.txt"'))).toHaveLength(2);
  });

  it('warns once per symlink, FIFO, socket or folder, never reads through them, and keeps working', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling);
    const inbox = h.ws.inbox;
    writeFileSync(join(h.ws.root, 'outside.mp4'), 'outside');
    const odd: Record<string, () => void | Promise<void>> = {
      'link.mp4': () => symlinkSync(join(h.ws.root, 'outside.mp4'), join(inbox, 'link.mp4')),
      'dangling.mp4': () => symlinkSync(join(h.ws.root, 'missing.mp4'), join(inbox, 'dangling.mp4')),
      'loop-a.mp4': () => symlinkSync(join(inbox, 'loop-b.mp4'), join(inbox, 'loop-a.mp4')),
      'loop-b.mp4': () => symlinkSync(join(inbox, 'loop-a.mp4'), join(inbox, 'loop-b.mp4')),
      'zero.mp4': () => symlinkSync('/dev/zero', join(inbox, 'zero.mp4')),
      'pipe.mp4': () => {
        expect(spawnSync('mkfifo', [join(inbox, 'pipe.mp4')]).status).toBe(0);
      },
      'folder.mp4': () => mkdirSync(join(inbox, 'folder.mp4')),
      'sock.mp4': () =>
        new Promise<void>((done) => {
          const server = createServer();
          h.servers.push(server);
          server.listen(join(inbox, 'sock.mp4'), done);
        }),
    };
    for (const make of Object.values(odd)) await make();
    await waitFor('a warning for every odd entry', () => (Object.keys(odd).every((name) => h.warningsAbout(name).length > 0) ? true : undefined), 20_000);
    await h.watcher.rescan();
    await h.watcher.rescan();
    writeFileSync(join(inbox, 'normal.mp4'), 'normal');
    await h.waitReady('normal.mp4');
    await h.settle();
    expect(withoutSentinels(h.ready).map((f) => f.name)).toEqual(['normal.mp4']);
    for (const name of Object.keys(odd)) expect(h.warningsAbout(name), name).toHaveLength(1);
    expect(h.warnings).toHaveLength(Object.keys(odd).length);
    // Nobody holds the FIFO open for reading: a non-blocking open for writing finds no reader.
    expect(() => openSync(join(inbox, 'pipe.mp4'), constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(/ENXIO/);
  });

  it('hands a touched file over again (new mtime, same hash)', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling);
    const path = join(h.ws.inbox, 'touched.webm');
    writeFileSync(path, 'same content');
    const [first] = await h.waitReady('touched.webm');
    const later = new Date(Date.now() + 60_000);
    utimesSync(path, later, later);
    const [, second] = await h.waitReady('touched.webm', 2);
    await h.settle();
    expect(h.readyFor('touched.webm')).toHaveLength(2);
    expect(second?.sha256).toBe(first?.sha256);
    expect(second?.mtimeMs).not.toBe(first?.mtimeMs);
  });

  it('hands over 200 files dropped at once, each exactly once', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling, { readyMs: 300 });
    const names = Array.from({ length: 200 }, (_, i) => `burst-${String(i).padStart(3, '0')}.mp4`);
    for (const name of names) writeFileSync(join(h.ws.inbox, name), `content of ${name}`);
    await waitFor('200 files handed over', () => (new Set(withoutSentinels(h.ready).map((f) => f.name)).size === 200 ? true : undefined), 30_000);
    await h.settle();
    const got = withoutSentinels(h.ready);
    expect(got).toHaveLength(200);
    expect(got.map((f) => f.name).sort()).toEqual(names);
    for (const file of got) expect(file.sha256).toBe(sha256(`content of ${file.name}`));
  });

  it('drops a file deleted during the readiness wait, silently', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling, { readyMs: 800 });
    writeFileSync(join(h.ws.inbox, 'doomed.mp4'), 'doomed');
    writeFileSync(join(h.ws.inbox, 'kept.mp4'), 'kept');
    await pause(300); // well inside the readiness wait of both files
    unlinkSync(join(h.ws.inbox, 'doomed.mp4'));
    await h.waitReady('kept.mp4');
    await h.settle();
    expect(h.readyFor('doomed.mp4')).toEqual([]);
    expect(h.warnings).toEqual([]);
  });

  it('hands a zero-byte file over only after readyMs, and one that grows only with its content', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling, { readyMs: 500 });
    const emptyAt = performance.now();
    writeFileSync(join(h.ws.inbox, 'empty.mp4'), '');
    writeFileSync(join(h.ws.inbox, 'filled.mp4'), '');
    await pause(200); // a copy that creates the file empty first
    writeFileSync(join(h.ws.inbox, 'filled.mp4'), 'filled later');
    const [empty] = await h.waitReady('empty.mp4');
    const [filled] = await h.waitReady('filled.mp4');
    await h.settle();
    expect(empty).toMatchObject({ size: 0, sha256: sha256('') });
    expect(empty?.at).toBeGreaterThanOrEqual(emptyAt + 500);
    expect(h.readyFor('filled.mp4')).toHaveLength(1);
    expect(filled).toMatchObject({ size: 12, sha256: sha256('filled later') });
  });

  it('waits for a missing inbox, warns once, then watches it', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling, { removeInbox: true });
    await waitFor('a missing-inbox warning', () => (h.warnings.length > 0 ? true : undefined));
    await h.watcher.rescan();
    mkdirSync(h.ws.inbox);
    writeFileSync(join(h.ws.inbox, 'late.mp4'), 'late');
    await h.waitReady('late.mp4');
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0]).toMatch(/does not exist/);
  });

  it('recovers when the inbox is deleted and recreated while running, warning once', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling);
    writeFileSync(join(h.ws.inbox, 'before.mp4'), 'before');
    await h.waitReady('before.mp4');
    rmSync(h.ws.inbox, { recursive: true });
    await waitFor('an inbox-gone warning', () => (h.warnings.length > 0 ? true : undefined));
    mkdirSync(h.ws.inbox);
    writeFileSync(join(h.ws.inbox, 'after.mp4'), 'after');
    await h.waitReady('after.mp4');
    await h.settle();
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0]).toMatch(/disappeared/);
    expect(withoutSentinels(h.ready).map((f) => f.name)).toEqual(['before.mp4', 'after.mp4']);
  });

  it('hands over hostile names exactly, and nothing else happens', async ({ onTestFinished }) => {
    const h = await startWatcher(onTestFinished, polling);
    const names = [
      `it's "quoted".mp4`, 'a;b.mp4', '$(touch x).mp4', '`touch y`.mp4', '-rf.mp4', '--help.mp4', '  spaced  name .mp4',
      'new\nline.mp4', 'bidi\u202Egpj.mp4', 'tab\there.mp4', 'back\\slash.mp4', 'a\\..\\b.mp4', 'x\\..\\..\\up.mp4', '~tilde.mp4', 'ütf-8 ✓.mp4', `${'n'.repeat(251)}.mp4`,
    ];
    const cwdBefore = readdirSync(process.cwd()).sort();
    for (const name of names) writeFileSync(join(h.ws.inbox, name), `bytes of ${name}`);
    // Not valid UTF-8: no string path names it; handed over with its real bytes in pathBytes.
    const badBytes = Buffer.from([...Buffer.from(join(h.ws.inbox, 'bad-')), 0xff, 0xfe, ...Buffer.from('.mp4')]);
    const badName = 'bad-\uFFFD\uFFFD.mp4';
    writeFileSync(badBytes, 'bad');
    await waitFor('every hostile name handed over', () => ([...names, badName].every((n) => h.readyFor(n).length > 0) ? true : undefined), 20_000);
    await h.watcher.rescan();
    await h.settle();
    const got = withoutSentinels(h.ready);
    expect(got.map((f) => f.name).sort()).toEqual([...names, badName].sort());
    for (const file of got.filter((f) => f.name !== badName)) {
      expect(file.path).toBe(join(h.ws.inbox, file.name));
      expect(file.pathBytes).toBeUndefined();
      expect(file.sha256).toBe(sha256(`bytes of ${file.name}`));
    }
    const bad = h.readyFor(badName);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.path).toBe(join(h.ws.inbox, badName));
    expect(bad[0]!.pathBytes).toEqual(badBytes);
    expect(bad[0]!.sha256).toBe(sha256('bad'));
    expect(h.warnings).toEqual([]);
    expect(readdirSync(h.ws.root).sort()).toEqual(['home', 'inbox', 'outbox']);
    expect(readdirSync(process.cwd()).sort()).toEqual(cwdBefore);
  });

  it('serialises onReady calls and survives one that throws, offering that file again after a rescan', async ({ onTestFinished }) => {
    let active = 0;
    let maxActive = 0;
    let failNext = true;
    const calls: string[] = [];
    const h = await startWatcher(onTestFinished, polling, {
      onReady: async (file) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        calls.push(file.name);
        await pause(30);
        active -= 1;
        if (file.name === 'fails.mp4' && failNext) {
          failNext = false;
          throw new Error('database is locked');
        }
      },
    });
    for (const name of ['fails.mp4', 'a.mp4', 'b.mp4', 'c.mp4']) writeFileSync(join(h.ws.inbox, name), name);
    await waitFor('four onReady calls', () => (calls.length >= 4 ? true : undefined));
    await waitFor('the failure reported', () => (h.warnings.length > 0 ? true : undefined));
    expect(h.warnings[0]).toMatch(/"fails\.mp4".*database is locked/);
    await h.watcher.rescan();
    await waitFor('fails.mp4 offered again', () => (calls.filter((n) => n === 'fails.mp4').length === 2 ? true : undefined));
    expect(maxActive).toBe(1);
    expect(calls.filter((n) => n !== 'fails.mp4').sort()).toEqual(['a.mp4', 'b.mp4', 'c.mp4']);
  });
});

describe.concurrent('inbox watcher, polling auto', () => {
  it.for([
    ['everything under / is NFS', '21 1 0:46 / / rw,relatime - nfs4 nas:/ rw\n', true],
    ['a plain ext4 machine', '21 1 259:2 / / rw,relatime - ext4 /dev/sda1 rw\n', false],
  ] as const)('decides from the mount table (%s)', async ([, text, poll], { onTestFinished }) => {
    const ws = makeWorkspace('watcher-auto');
    const table = join(ws.root, 'mountinfo');
    writeFileSync(table, text);
    const ready: string[] = [];
    const watcher = createInboxWatcher({ inbox: ws.inbox, readyMs: 200, checkEveryMs: 50, rescanMs: 60_000, polling: 'auto', pollIntervalMs: 50, mountTable: table, onReady: (f) => void ready.push(f.name) });
    cleanUpAfter(onTestFinished, watcher, ws, []);
    await watcher.start();
    expect(watcher.usingPolling).toBe(poll);
    expect(watcher.pollingReason).toContain(poll ? 'nfs4' : 'ext4');
    writeFileSync(join(ws.inbox, 'auto.mp4'), 'auto');
    await waitFor('auto.mp4 handed over', () => (ready.includes('auto.mp4') ? true : undefined));
  });

  it('names the bad option', () => {
    const base = { inbox: '/tmp/x', readyMs: 1, checkEveryMs: 1, rescanMs: 1, polling: 'auto' as const, onReady: () => {} };
    expect(() => createInboxWatcher({ ...base, inbox: 'relative/inbox' })).toThrow(/"inbox"/);
    expect(() => createInboxWatcher({ ...base, readyMs: Number.NaN })).toThrow(/"readyMs"/);
    expect(() => createInboxWatcher({ ...base, checkEveryMs: 0 })).toThrow(/"checkEveryMs"/);
    expect(() => createInboxWatcher({ ...base, polling: 'sometimes' as 'auto' })).toThrow(/"polling"/);
  });
});
