/**
 * Bounded requests against a real `posepipe start`: a 400 MB JSON body, a thousand live-update
 * streams, five uploads at once, a slow upload and a stalled one, hostile upload names, and uploads
 * that do not fit the inbox's disk (the real one, and a full tmpfs). Each probe once got through:
 * the body was read whole (RSS 119 MB → 1.65 GB), 4,551 streams were opened in 8 s, uploads were
 * unlimited, a full disk was a 400 and left its temporary file.
 */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/index.ts';
import { cliEnv, spawnCli } from '../helpers/cli.ts';
import { Cut, paced, sendPieces } from '../helpers/http-send.ts';
import { tmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';
import { rawRequest } from '../server/harness.ts';
import { queuedJob } from '../server/seed.ts';

const NO_TMPFS = tmpfsUnavailable();
if (NO_TMPFS) console.warn(`tmpfs cannot be mounted here (${NO_TMPFS}): the full-disk upload case is skipped`);

const MIB = 1024 * 1024;
const IDLE_SECONDS = 2;
const MAX_STREAMS = 50;

type App = ReturnType<typeof spawnCli>;

/** A `posepipe start` on `ws` (intake paused: seeded jobs stay queued), and its port. */
async function start(ws: Workspace, extra: Record<string, string>): Promise<{ app: App; port: number }> {
  const db = openDb(ws.home);
  try {
    queuedJob(db, 'one.mp4');
    queuedJob(db, 'two.mp4');
    db.setIntakePaused(true);
  } finally {
    db.close();
  }
  const app = spawnCli(['start'], cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', ...extra }));
  const url = await waitFor('posepipe start to print its status page address', () => /posepipe: status page at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(app.output())?.[1], 30_000);
  return { app, port: Number(new URL(url).port) };
}

async function stop(app: App | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.child.kill('SIGTERM');
  const kill = setTimeout(() => app.child.kill('SIGKILL'), 15_000);
  await app.done;
  clearTimeout(kill);
}

/** Resident memory of a process (bytes), from /proc. */
function rss(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

/** A JSON object `{"priority": 7, "pad": "xxx…"}` of `mib` MiB and a little more, made piece by piece. */
function* hugeJson(mib: number): Generator<Buffer> {
  yield Buffer.from('{"priority": 7, "pad": "');
  const piece = Buffer.alloc(MIB, 'x');
  for (let i = 0; i < mib; i++) yield piece;
  yield Buffer.from('"}');
}
const hugeJsonBytes = (mib: number) => 24 + mib * MIB + 2;

/** Upload pieces to /api/upload?name=…, chunked unless `length` is given. */
function upload(port: number, name: string, pieces: Iterable<Buffer> | AsyncIterable<Buffer>, length?: number) {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (length !== undefined) headers['content-length'] = String(length);
  return sendPieces(port, `/api/upload?name=${encodeURIComponent(name)}`, { headers, pieces });
}

/** What is in the inbox, hidden temporary files included. */
const inboxFiles = (ws: Workspace) => readdirSync(ws.inbox).sort();

/** An open live-update stream (or its refusal). */
interface Stream {
  status: number;
  retryAfter: string | undefined;
  body: () => string;
  close: () => void;
}

function openStream(port: number): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let body = '';
    const req: ClientRequest = request({ host: '127.0.0.1', port, path: '/api/events', agent: false, headers: { host: `127.0.0.1:${port}`, accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('error', () => {});
      resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: () => body, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bounded requests (one posepipe start)', () => {
  let ws: Workspace;
  let app: App | undefined;
  let port: number;
  beforeAll(async () => {
    ws = makeWorkspace('bounds');
    ({ app, port } = await start(ws, {
      POSEPIPE_MAX_LIVE_STREAMS: String(MAX_STREAMS),
      POSEPIPE_MAX_UPLOADS: '4',
      POSEPIPE_IDLE_SECONDS: String(IDLE_SECONDS),
      POSEPIPE_UPLOAD_MAX_MB: '100000000',
    }));
  });
  afterAll(async () => {
    await stop(app);
    ws.cleanup();
  });
  const send = (path: string, o?: Parameters<typeof rawRequest>[2]) => rawRequest(port, path, o);

  it('refuses a 400 MB JSON body with 413 before reading it, announced or chunked, and stays at the same size', async () => {
    await send('/');
    const pid = app!.child.pid!;
    const before = rss(pid);
    const announced = await sendPieces(port, '/api/jobs/2/priority', { headers: { 'content-type': 'application/json', 'content-length': String(hugeJsonBytes(400)) }, pieces: hugeJson(400) });
    expect([announced.status, JSON.parse(announced.body).error]).toEqual([413, 'The body of POST /api/jobs/2/priority is over 64 KiB, the most it may be']);
    const chunked = await sendPieces(port, '/api/jobs/2/priority', { headers: { 'content-type': 'application/json' }, pieces: hugeJson(400) });
    expect(chunked.status).toBe(413);
    // Stopped early: the sender got no further than what sockets buffer, not 400 MB.
    expect(chunked.written).toBeLessThan(64 * MIB);
    const growth = rss(pid) - before;
    expect(growth, `RSS grew ${(growth / MIB).toFixed(1)} MiB`).toBeLessThan(50 * MIB);
    // Nothing was applied, and a body of a sensible size still is.
    expect(JSON.parse((await send('/api/jobs/2')).body).priority).toBe(0);
    const small = await send('/api/jobs/2/priority', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"priority": 7}' });
    expect([small.status, JSON.parse(small.body)]).toEqual([200, { id: 2, priority: 7 }]);
    // A page form too: 100 KiB of form fields to a button's action.
    const form = await send('/api/intake/unpause', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: `back=/&pad=${'y'.repeat(100 * 1024)}` });
    expect(form.status).toBe(413);
    expect(form.body).toContain('is over 64 KiB');
    expect(JSON.parse((await send('/api/jobs')).body).intakePaused).toBe(true);
  });

  it('serves at most maxLiveStreams live-update streams: 1,000 asked, the rest 503, the page answers, and closed ones free their places', async () => {
    const asked = await Promise.all(Array.from({ length: 1000 }, () => openStream(port)));
    const open = asked.filter((s) => s.status === 200);
    const refused = asked.filter((s) => s.status !== 200);
    try {
      expect(open.length).toBe(MAX_STREAMS);
      expect(new Set(refused.map((s) => `${s.status} ${s.retryAfter}`))).toEqual(new Set(['503 30']));
      const t0 = Date.now();
      const page = await send('/');
      expect(page.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await send('/metrics')).body).toMatch(new RegExp(`^posepipe_live_clients ${MAX_STREAMS}$`, 'm'));
      await waitFor('the open streams to say hello', () => (open.every((s) => s.body().includes('event: hello')) ? true : undefined));
    } finally {
      for (const s of asked) s.close();
    }
    await waitFor('the live-update streams to be forgotten', async () => (/^posepipe_live_clients 0$/m.test((await send('/metrics')).body) ? true : undefined), 10_000);
    const again = await openStream(port);
    expect(again.status).toBe(200);
    again.close();
  });

  it('takes at most maxUploads uploads at once: of five, one is answered 429 before its body, and the four others complete', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    async function* heldBody(i: number): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1024, 0x30 + i);
      await held;
      yield Buffer.alloc(1024, 0x30 + i);
    }
    const uploads = Array.from({ length: 5 }, (_, i) => upload(port, `five-${i}.mp4`, heldBody(i)));
    const first = await Promise.race(uploads);
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('10');
    expect(JSON.parse(first.body).error).toMatch(/^4 uploads are already arriving \(maxUploads\): send "five-\d\.mp4" when one has finished$/);
    release();
    const all = await Promise.all(uploads);
    expect(all.map((a) => a.status).sort()).toEqual([201, 201, 201, 201, 429]);
    const names = all.filter((a) => a.status === 201).map((a) => JSON.parse(a.body).name as string);
    for (const name of names) expect(readFileSync(join(ws.inbox, name)).length).toBe(2048);
    expect(inboxFiles(ws).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('cuts an upload idle for idleSeconds, leaving nothing, while a slower one that keeps moving completes', async () => {
    // 14 pieces half a second apart: 6.5 s, three times the idle limit.
    const slow = upload(port, 'slow.mp4', paced(14, 4096, 500));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    async function* stalled(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(4096, 0x73);
      await held;
    }
    const t0 = Date.now();
    const cut = await upload(port, 'stalled.mp4', stalled()).then(
      (a) => a,
      (e: unknown) => e,
    );
    release();
    expect(cut).toBeInstanceOf(Cut);
    const after = Date.now() - t0;
    expect(after).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 200);
    expect(after).toBeLessThan(IDLE_SECONDS * 1000 + 5000);
    const done = await slow;
    expect([done.status, JSON.parse(done.body)]).toEqual([201, { name: 'slow.mp4', bytes: 14 * 4096 }]);
    expect(readFileSync(join(ws.inbox, 'slow.mp4')).subarray(4096 * 13, 4096 * 13 + 1).toString()).toBe('n');
    await waitFor('the stalled upload\'s temporary file to go', () => (inboxFiles(ws).some((f) => f.startsWith('.')) ? undefined : true), 5000);
    expect(inboxFiles(ws)).not.toContain('stalled.mp4');
  });

  it('refuses file names with control or bidi characters (400), writing nothing', async () => {
    const before = inboxFiles(ws);
    const names = ['nul\u0000.mp4', 'bell\u0007.mp4', 'new\nline.mp4', 'del\u007f.mp4', 'c1\u0085.mp4', 'c1\u009b.mp4', 'clip\u202egnp.mp4', 'clip\u202a.mp4', 'iso\u2066late.mp4', 'pdi\u2069.mp4', 'lrm\u200e.mp4', 'rlm\u200f.mp4', 'alm\u061c.mp4'];
    for (const name of names) {
      const a = await upload(port, name, [Buffer.from('video')]);
      const error = JSON.parse(a.body).error as string;
      expect([name, a.status]).toEqual([name, 400]);
      const code = name.match(/[^\x20-\x7e]/)![0].codePointAt(0)!;
      expect(error).toContain(`holds a control or bidi character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`);
      // The name is shown with the character written out, never the character itself.
      expect(error).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    }
    expect(inboxFiles(ws)).toEqual(before);
  });

  it('answers 507 before any byte when the announced size would leave less than minFreeMb free', async () => {
    const before = inboxFiles(ws);
    // The default minFreeMb is 256: 16 MiB less than what is free fits the disk but not the margin.
    const declared = Math.max(1, statfsSync(ws.inbox).bavail * statfsSync(ws.inbox).bsize - 16 * MIB);
    const a = await upload(port, 'margin.mp4', (function* () {})(), declared);
    expect(a.status).toBe(507);
    expect(a.written).toBe(0);
    expect(JSON.parse(a.body).error).toMatch(/^Not enough disk space in .*: "margin\.mp4" needs .*, .* is free and 256 MiB must stay free \(minFreeMb\); nothing was kept$/);
    expect(inboxFiles(ws)).toEqual(before);
  });
});

describe.skipIf(NO_TMPFS)('uploads onto a full disk (a 1 MiB tmpfs inbox)', () => {
  let ws: Workspace;
  let app: App | undefined;
  let port: number;
  beforeAll(async () => {
    ws = makeWorkspace('bounds-tmpfs');
    tmpfs(ws.inbox, '1m');
    ({ app, port } = await start(ws, { POSEPIPE_MIN_FREE_MB: '0' }));
  });
  afterAll(async () => {
    await stop(app);
    unmount(ws.inbox);
    ws.cleanup();
  });

  it('answers 507 when the disk fills mid-way (nothing left), 507 before any byte when the announced size does not fit, and takes what fits', async () => {
    const full = await upload(port, 'big.mp4', paced(48, 64 * 1024, 0));
    expect(full.status).toBe(507);
    expect(JSON.parse(full.body).error).toMatch(/^Not enough disk space in .*: the disk filled up after .* of "big\.mp4" \(full, .* free\); nothing was kept$/);
    await waitFor('the inbox to be empty again', () => (readdirSync(ws.inbox).length === 0 ? true : undefined), 5000);

    const announced = await upload(port, 'big.mp4', (function* () {})(), 3 * MIB);
    expect([announced.status, announced.written]).toEqual([507, 0]);
    expect(JSON.parse(announced.body).error).toMatch(/^Not enough disk space in .*: "big\.mp4" needs 3\.0 MB, .* is free; nothing was kept$/);
    expect(readdirSync(ws.inbox)).toEqual([]);

    // The space the refused uploads took is back: a file of half the disk fits.
    const fits = await upload(port, 'fits.mp4', paced(8, 64 * 1024, 0), 8 * 64 * 1024);
    expect([fits.status, JSON.parse(fits.body)]).toEqual([201, { name: 'fits.mp4', bytes: 512 * 1024 }]);
  });
});
