import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobDir } from '../../src/paths.ts';
import { chunkLogFile } from '../../src/stages/track.ts';
import { fixture } from '../helpers/fixtures.ts';
import { mergedResult, writeMerged } from '../pictures/merged-fixture.ts';
import { startHarness, type Harness } from './harness.ts';
import { doneJob } from './seed.ts';

const SECRET = 'TOPSECRET-must-never-be-served';
let h: Harness;
let id: number;
let dir: string;
let logOf0: string;

beforeEach(async () => {
  h = await startHarness();
  // 6 chunks of 25 frames: the 150 frames of small.mp4 (320×240, 25 fps).
  id = doneJob(h.db, h.config, { name: 'small.mp4', chunks: 6, size: [320, 240] });
  dir = jobDir(h.config, id);
  copyFileSync(fixture('small.mp4'), join(dir, 'source.mp4'));
  writeMerged(dir, mergedResult(150));
  mkdirSync(join(dir, 'logs'));
  logOf0 = join(dir, chunkLogFile(h.db.getChunk(id, 0)!));
  writeFileSync(logOf0, 'loading model\ntracked 25 frames\n');
  // Secrets at every depth above and beside the job folder.
  for (const d of [h.ws.root, h.ws.home, join(h.ws.home, 'jobs'), dir]) writeFileSync(join(d, 'secret.txt'), SECRET);
  mkdirSync(join(h.ws.root, 'outside', 'logs'), { recursive: true });
  writeFileSync(join(h.ws.root, 'outside', chunkLogFile(h.db.getChunk(id, 0)!)), SECRET);
});
afterEach(() => h.stop());

function expectRefused(r: { status: number; body: string }, where: string): void {
  expect([400, 403, 404], `${where} answered ${r.status}`).toContain(r.status);
  expect(r.body, where).not.toContain(SECRET);
  expect(r.body, where).not.toContain('root:');
}

describe('files', () => {
  it('serves a chunk log as text/plain, and says clearly when there is none yet', async () => {
    const r = await h.send(`/jobs/${id}/chunks/0/log`);
    expect([r.status, r.headers['content-type'], r.body]).toEqual([200, 'text/plain; charset=utf-8', 'loading model\ntracked 25 frames\n']);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    const none = await h.send(`/jobs/${id}/chunks/1/log`);
    expect([none.status, JSON.parse(none.body)]).toEqual([404, { error: `The log of chunk 2 of job ${id} does not exist (yet)` }]);
    expect((await h.send(`/jobs/${id}/chunks/6/log`)).status).toBe(404);
    // The page links every attempted chunk's log.
    expect((await h.send(`/jobs/${id}`)).body).toContain(`<a data-log="0" href="/jobs/${id}/chunks/0/log">`);
  });

  it('serves a done job output as application/json', async () => {
    const r = await h.send(`/api/jobs/${id}/output`);
    expect([r.status, r.headers['content-type'], JSON.parse(r.body)]).toEqual([200, 'application/json', { schema: 'test', job: id }]);
    expect((await h.send(`/jobs/${id}`)).body).toContain(`<a data-output href="/api/jobs/${id}/output">`);
  });

  it('draws the pictures of a done job and serves its thumbnails as JPEG', async () => {
    const page = (await h.send(`/jobs/${id}`)).body;
    expect(page).toContain('<section id="pictures">');
    expect(page).toContain('id="track-timeline"');
    const frames = [...page.matchAll(new RegExp(`<img src="/jobs/${id}/thumbs/(\\d+)\\.jpg"`, 'g'))].map((m) => Number(m[1]));
    expect(frames.length).toBeGreaterThan(0);
    const thumb = await h.send(`/jobs/${id}/thumbs/${frames[0]}.jpg`);
    expect([thumb.status, thumb.headers['content-type']]).toEqual([200, 'image/jpeg']);
    expect([...thumb.raw.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    const notPicked = [...Array(150).keys()].find((f) => !frames.includes(f))!;
    expect((await h.send(`/jobs/${id}/thumbs/${notPicked}.jpg`)).status).toBe(404);
    // A thumbnail swapped for a link outside is refused.
    const made = join(dir, 'thumbs', `${frames[0]}.jpg`);
    rmSync(made);
    symlinkSync(join(h.ws.root, 'secret.txt'), made);
    expectRefused(await h.send(`/jobs/${id}/thumbs/${frames[0]}.jpg`), 'thumb symlink');
  });

  it('never serves anything outside the job folder: traversal fuzz on every file route', async () => {
    const segments = [
      '..', '.', '%2e%2e', '%2E%2E', '.%2e', '%252e%252e', '..%2f..%2f..%2fsecret.txt', '%2e%2e%2f%2e%2e%2fsecret.txt', '%2f', '%2F', '1%2f..%2f..',
      '%2fetc%2fpasswd', '..%5c..%5csecret.txt', '%5c', '1%5c..', `${id}%5c..%5csecret.txt`, '%00', '1%00', `${id}%00`, '0%00.jpg', '99999999999999999999', '9'.repeat(400),
      '1e3', '0x1', '+1', '-1', '%201', '1.', '1.0', '01', `${id}%2f..%2f..%2fsecret.txt`, 'secret.txt', '~', '%7e',
    ];
    const templates = [(s: string) => `/api/jobs/${s}/output`, (s: string) => `/jobs/${s}/chunks/0/log`, (s: string) => `/jobs/${id}/chunks/${s}/log`, (s: string) => `/jobs/${s}/thumbs/10.jpg`, (s: string) => `/jobs/${id}/thumbs/${s}.jpg`, (s: string) => `/jobs/${id}/thumbs/${s}`];
    const paths = templates.flatMap((t) => segments.map(t));
    paths.push(
      `//jobs/${id}/chunks/0/log`, `/jobs//${id}/chunks/0/log`, `/jobs/${id}//chunks/0/log`, `/jobs/${id}/chunks//0/log`, `/jobs/${id}/chunks/0//log`,
      `/jobs/${id}/chunks/0/log/..`, `/jobs/${id}/chunks/0/../../../../secret.txt`, `/api/jobs/${id}/output/../../../secret.txt`, `//api/jobs/${id}/output`,
      `/api/jobs/${id}//output`, `/api/jobs/${id}/output%2f..%2f..%2fsecret.txt`, `/jobs/${id}/thumbs/..%2f..%2f..%2fsecret.txt`, `/jobs/${id}/thumbs//10.jpg`,
      `/jobs/${id}/thumbs/%2e%2e%2fsecret.jpg`, `/jobs/${id}/thumbs/10.jpg%00`, `/jobs/${id}/thumbs/10.jpg%2f..`, `/jobs/${id}/chunks/0/log%00`, `/jobs/${id}/secret.txt`,
      `/jobs/${id}/chunks/0\\..\\..\\secret.txt`, `/jobs/${id}\\..\\secret.txt`, `/api/jobs/${id}\\output`, '/etc/passwd', '/../../../../etc/passwd', '/static/../../../secret.txt',
      '/static/page.js/..%2f..%2fsecret.txt', '/static/%2e%2e%2fapp.ts',
    );
    for (const path of paths) expectRefused(await h.send(path), path);
    // Nothing in the fuzz broke what is legitimately there.
    expect((await h.send(`/jobs/${id}/chunks/0/log`)).status).toBe(200);
  });

  it('refuses a symlink, a linked folder or a FIFO planted in the job folder', async () => {
    const path = `/jobs/${id}/chunks/0/log`;
    rmSync(logOf0);
    symlinkSync(join(h.ws.root, 'secret.txt'), logOf0);
    expectRefused(await h.send(path), 'log symlink');
    expect((await h.send(path)).status).toBe(403);

    // The logs folder itself swapped for a link to a folder outside holding the same name.
    renameSync(join(dir, 'logs'), join(dir, 'logs.real'));
    symlinkSync(join(h.ws.root, 'outside', 'logs'), join(dir, 'logs'));
    const linkedDir = await h.send(path);
    expectRefused(linkedDir, 'linked logs folder');
    expect(linkedDir.status).toBe(403);
    rmSync(join(dir, 'logs'));

    // A FIFO would block a reader forever: refused without opening it for a blocking read.
    mkdirSync(join(dir, 'logs'));
    execFileSync('mkfifo', [logOf0]);
    const fifo = await h.send(path);
    expect([fifo.status, JSON.parse(fifo.body).error]).toEqual([403, `The log of chunk 1 of job ${id} is not a regular file; it is not served`]);
  });

  it('refuses an output file swapped for a symlink', async () => {
    const file = join(h.config.outbox, h.db.getJob(id)!.output_name);
    rmSync(file);
    symlinkSync(join(h.ws.root, 'secret.txt'), file);
    const r = await h.send(`/api/jobs/${id}/output`);
    expectRefused(r, 'output symlink');
    expect(r.status).toBe(403);
  });
});
