import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listModels, pullModels, type ModelFile } from '../../src/models/index.ts';
import { makeWorkspace, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';
import type { Route } from './file-server.ts';
import { fast, fileServersPerTest, HOST, manifestOf, output, sha256 } from './pull-helpers.ts';

const A = randomBytes(200 * 1024);
const B = randomBytes(1024 * 1024);
const CKPT = randomBytes(64 * 1024);
const NOTES = Buffer.from('notes that ship with the checkpoint\n');
let ARCHIVE: Buffer;
let built: Workspace;

beforeAll(() => {
  built = makeWorkspace('models-archive');
  const src = join(built.root, 'src');
  mkdirSync(join(src, 'logs', 'phalp'), { recursive: true });
  writeFileSync(join(src, 'logs', 'phalp', 'model.ckpt'), CKPT);
  writeFileSync(join(src, 'notes.txt'), NOTES);
  const archive = join(built.root, 'data.tar.gz');
  const tar = spawnSync('tar', ['-czf', archive, '-C', src, 'logs', 'notes.txt'], { encoding: 'utf8' });
  expect(tar.status, tar.stderr).toBe(0);
  ARCHIVE = readFileSync(archive);
});
afterAll(() => built.cleanup());

const workspace = workspacesPerTest();
const serve = fileServersPerTest();

/** The three files of these tests, under `root` (a folder name with quotes and `$(…)` in it). */
function entries(root: string) {
  const dir = join(root, `it's "models" $(touch pwned)`);
  const a: ModelFile = { name: 'a.bin', url: `https://${HOST}/files/a.bin`, dest: join(dir, 'a.bin'), size: A.length, sha256: sha256(A) };
  const b: ModelFile = { name: 'b -x.bin', url: `https://${HOST}/files/b.bin`, dest: join(dir, 'nested', '-b.bin'), sha256Prefix: sha256(B).slice(0, 8) };
  const into = join(dir, 'data');
  const archive: ModelFile = {
    name: 'data.tar.gz',
    url: `https://${HOST}/files/data.tar.gz`,
    dest: join(dir, 'data.tar.gz'),
    size: ARCHIVE.length,
    unpack: { into, provides: [join(into, 'logs', 'phalp', 'model.ckpt'), join(into, 'notes.txt')] },
  };
  return { dir, a, b, archive };
}

const routes = (extra: Partial<Record<'a' | 'b' | 'archive', Partial<Route>>> = {}): Record<string, Route> => ({
  [`/${HOST}/files/a.bin`]: { body: A, ...extra.a },
  [`/${HOST}/files/b.bin`]: { body: B, ...extra.b },
  [`/${HOST}/files/data.tar.gz`]: { body: ARCHIVE, ...extra.archive },
});

describe('posepipe models pull', () => {
  it('puts every file in place with the right bytes, then finds them there on a second run', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const { dir, a, b, archive } = entries(ws.root);
    const manual = [{ name: 'SMPL_NEUTRAL.pkl', dest: join(dir, 'smpl', 'SMPL_NEUTRAL.pkl'), how: 'download from https://smpl.is.tue.mpg.de (licence) and copy it here' }];
    const out = output();
    const report = await pullModels({ manifest: manifestOf([a, b, archive], manual), mirror: s.base, out, ...fast });
    expect(report.failed).toEqual([]);
    expect([report.exitCode, report.fetched.length, report.present.length]).toEqual([0, 3, 0]);
    expect(readFileSync(a.dest).equals(A)).toBe(true);
    expect(readFileSync(b.dest).equals(B)).toBe(true);
    expect(readFileSync(archive.unpack!.provides[0]!).equals(CKPT)).toBe(true);
    expect(readFileSync(archive.unpack!.provides[1]!).equals(NOTES)).toBe(true);
    expect(existsSync(archive.dest)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(existsSync(join(ws.root, 'pwned')) || existsSync('pwned')).toBe(false);
    expect(report.manualMissing.map((m) => m.name)).toEqual(['SMPL_NEUTRAL.pkl']);
    expect(out.text).toContain('models for phalp: 3 fetched, 0 already there, 0 failed');
    expect(out.text).toContain('how:  download from https://smpl.is.tue.mpg.de (licence) and copy it here');
    expect(out.text).toContain('`posepipe doctor` checks everything the phalp backend needs.');
    expect(out.text).not.toContain('\x1b');

    const requests = s.requests.length;
    const again = output();
    const second = await pullModels({ manifest: manifestOf([a, b, archive], manual), mirror: s.base, out: again, ...fast });
    expect([second.exitCode, second.fetched.length, second.present.length]).toEqual([0, 0, 3]);
    expect(again.text.match(/ok \(already there\)/g)).toHaveLength(3);
    expect(s.requests.length).toBe(requests);
  });

  it('resumes with a Range request when the connection drops halfway through the body', async () => {
    const ws = workspace('models');
    const s = await serve(routes({ b: { dropAt: 300_000 } }));
    const { b } = entries(ws.root);
    const out = output();
    const report = await pullModels({ manifest: manifestOf([b]), mirror: s.base, out, ...fast });
    expect(report.exitCode).toBe(0);
    expect(s.seen(`/${HOST}/files/b.bin`).map((r) => r.range)).toEqual([undefined, 'bytes=300000-']);
    expect(readFileSync(b.dest).equals(B)).toBe(true);
    expect(out.text).toMatch(/b -x\.bin: connection lost after 293 KB of 1\.0 MB: .*; trying again in 10 ms \(try 2 of 5\)/);
  });

  it('follows a redirect, and resumes a download whose connection stalls', async () => {
    const ws = workspace('models');
    const s = await serve({ '/cdn/b.bin': { body: B, stallAt: 400_000 } }, { [`/${HOST}/files/b.bin`]: '/cdn/b.bin' });
    const { b } = entries(ws.root);
    const out = output();
    const report = await pullModels({ manifest: manifestOf([b]), mirror: s.base, out, retryDelayMs: 10, idleTimeoutMs: 300 });
    expect(report.exitCode).toBe(0);
    expect(s.seen(`/${HOST}/files/b.bin`).map((r) => r.range)).toEqual([undefined, 'bytes=400000-']);
    expect(s.seen('/cdn/b.bin').map((r) => r.range)).toEqual([undefined, 'bytes=400000-']);
    expect(readFileSync(b.dest).equals(B)).toBe(true);
    expect(out.text).toContain('nothing received for 0.3 s');
  });

  it('fetches again a destination of the wrong size, and one of the right size with the wrong sha256', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const { a } = entries(ws.root);
    mkdirSync(dirname(a.dest), { recursive: true });
    writeFileSync(a.dest, A.subarray(0, 1000));
    const out = output();
    expect((await pullModels({ manifest: manifestOf([a]), mirror: s.base, out, ...fast })).fetched).toHaveLength(1);
    expect(readFileSync(a.dest).equals(A)).toBe(true);
    expect(out.text).toContain(`is corrupt (size mismatch: expected ${A.length} bytes, got 1000); fetching it again`);

    const flipped = Buffer.from(A);
    flipped[5000] = flipped[5000]! ^ 0xff;
    writeFileSync(a.dest, flipped);
    const again = output();
    expect((await pullModels({ manifest: manifestOf([a]), mirror: s.base, out: again, ...fast })).fetched).toHaveLength(1);
    expect(readFileSync(a.dest).equals(A)).toBe(true);
    expect(again.text).toContain(`is corrupt (sha256 mismatch: expected ${sha256(A)}, got ${sha256(flipped)}); fetching it again`);
    expect(s.seen(`/${HOST}/files/a.bin`).map((r) => r.range)).toEqual([undefined, undefined]);
  });

  it('resumes a .part left by an interrupted run, and starts over when the server ignores the range or the part is wrong', async () => {
    const ws = workspace('models');
    const s = await serve(routes({ b: { ignoreRange: true } }));
    const { a, b } = entries(ws.root);
    mkdirSync(dirname(a.dest), { recursive: true });
    writeFileSync(`${a.dest}.part`, A.subarray(0, 12_345));
    mkdirSync(dirname(b.dest), { recursive: true });
    writeFileSync(`${b.dest}.part`, B.subarray(0, 50_000));
    const report = await pullModels({ manifest: manifestOf([a, b]), mirror: s.base, out: output(), ...fast });
    expect(report.exitCode).toBe(0);
    expect(s.seen(`/${HOST}/files/a.bin`).map((r) => r.range)).toEqual(['bytes=12345-']);
    expect(s.seen(`/${HOST}/files/b.bin`).map((r) => r.range)).toEqual(['bytes=50000-']);
    expect(readFileSync(a.dest).equals(A)).toBe(true);
    expect(readFileSync(b.dest).equals(B)).toBe(true);
    expect(existsSync(`${a.dest}.part`) || existsSync(`${b.dest}.part`)).toBe(false);

    // A part from another file: the resumed whole fails its hash, is deleted and fetched afresh.
    rmSync(a.dest);
    writeFileSync(`${a.dest}.part`, randomBytes(4096));
    const out = output();
    expect((await pullModels({ manifest: manifestOf([a]), mirror: s.base, out, ...fast })).exitCode).toBe(0);
    expect(readFileSync(a.dest).equals(A)).toBe(true);
    expect(s.seen(`/${HOST}/files/a.bin`).map((r) => r.range).slice(1)).toEqual(['bytes=4096-', undefined]);
    expect(out.text).toContain('a.bin: sha256 mismatch: expected');
    expect(out.text).toContain('fetching it once more from scratch');

    // A part that already holds the whole file (stopped just before the rename): the server's 416
    // says so, and the part is checked and moved into place.
    rmSync(a.dest);
    writeFileSync(`${a.dest}.part`, A);
    expect((await pullModels({ manifest: manifestOf([a]), mirror: s.base, out: output(), ...fast })).fetched).toHaveLength(1);
    expect(s.seen(`/${HOST}/files/a.bin`).at(-1)!.range).toBe(`bytes=${A.length}-`);
    expect(readFileSync(a.dest).equals(A)).toBe(true);
  });

  it('reports a 404 naming the file, URL and destination; the other files still arrive; exit 2', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const { dir, a, b } = entries(ws.root);
    const gone: ModelFile = { name: 'gone.pth', url: `https://${HOST}/files/gone.pth`, dest: join(dir, 'gone.pth') };
    const out = output();
    const report = await pullModels({ manifest: manifestOf([a, gone, b]), mirror: s.base, out, ...fast });
    expect(report.exitCode).toBe(2);
    expect(report.failed).toEqual([{ name: 'gone.pth', url: `${s.base}/${HOST}/files/gone.pth`, dest: gone.dest, cause: 'HTTP 404 Not Found' }]);
    expect(readFileSync(a.dest).equals(A) && readFileSync(b.dest).equals(B)).toBe(true);
    expect(existsSync(gone.dest) || existsSync(`${gone.dest}.part`)).toBe(false);
    expect(s.seen(`/${HOST}/files/gone.pth`)).toHaveLength(1);
    expect(out.text).toContain('models for phalp: 2 fetched, 0 already there, 1 failed');
    expect(out.text).toContain(`FAILED gone.pth: HTTP 404 Not Found\n  url:  ${s.base}/${HOST}/files/gone.pth\n  dest: ${JSON.stringify(gone.dest)}\n`);
  });

  it('names the cause of every other failure: size mismatch with both numbers, refused connection', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const { a } = entries(ws.root);
    const wrong = { ...a, size: 100, sha256: undefined };
    const out = output();
    const report = await pullModels({ manifest: manifestOf([wrong]), mirror: s.base, out, ...fast });
    expect(report.failed.map((f) => f.cause)).toEqual([`size mismatch: expected 100 bytes, got ${A.length}`]);
    expect(s.seen(`/${HOST}/files/a.bin`)).toHaveLength(2);
    await s.close();
    const refused = await pullModels({ manifest: manifestOf([a]), mirror: s.base, out: output(), ...fast, tries: 2 });
    expect(refused.failed[0]!.cause).toMatch(/^cannot connect: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it('--list prints the mirror-mapped URL and destination of each file and downloads nothing', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const { dir, a, b, archive } = entries(ws.root);
    const manual = [{ name: 'SMPL_NEUTRAL.pkl', dest: join(dir, 'SMPL_NEUTRAL.pkl'), how: 'register, download, copy here' }];
    const out = output();
    listModels({ manifest: manifestOf([a, b, archive], manual), mirror: `${s.base}/`, out });
    for (const f of [a, b, archive]) {
      expect(out.text).toContain(`  url:  ${s.base}/${HOST}${new URL(f.url).pathname}\n  dest: ${JSON.stringify(f.dest)}\n`);
    }
    expect(out.text).toContain(`unpacks into: ${JSON.stringify(archive.unpack!.into)} (2 file(s) checked)`);
    expect(out.text).toContain('SMPL_NEUTRAL.pkl  (missing)\n');
    expect(out.text).toContain('  how:  register, download, copy here\n');
    expect(s.requests).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('extracts archives, checks what they provide, and unpacks an archive already there without fetching it', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const { archive } = entries(ws.root);
    const [ckpt, notes] = archive.unpack!.provides as [string, string];
    expect((await pullModels({ manifest: manifestOf([archive]), mirror: s.base, out: output(), ...fast })).fetched).toHaveLength(1);
    expect(readFileSync(ckpt).equals(CKPT) && readFileSync(notes).equals(NOTES)).toBe(true);

    rmSync(ckpt);
    const out = output();
    const again = await pullModels({ manifest: manifestOf([archive]), mirror: s.base, out, ...fast });
    expect(again.present).toHaveLength(1);
    expect(readFileSync(ckpt).equals(CKPT)).toBe(true);
    expect(out.text).toContain('ok (archive already there, unpacked into');
    expect(s.seen(`/${HOST}/files/data.tar.gz`)).toHaveLength(1);

    const missing = join(archive.unpack!.into, 'logs', 'hmar_v2_weights.pth');
    const wanting = { ...archive, unpack: { into: archive.unpack!.into, provides: [ckpt, missing] } };
    const failed = await pullModels({ manifest: manifestOf([wanting]), mirror: s.base, out: output(), ...fast });
    expect(failed.failed.map((f) => f.cause)).toEqual([`the archive was extracted into ${archive.unpack!.into}, but ${missing} is not in it`]);
    expect(s.seen(`/${HOST}/files/data.tar.gz`)).toHaveLength(1);

    // An archive tar cannot read (truncated by an earlier, non-atomic download) is fetched again.
    rmSync(archive.unpack!.into, { recursive: true });
    writeFileSync(archive.dest, ARCHIVE.subarray(0, 1000));
    const truncated = output();
    const refetched = await pullModels({ manifest: manifestOf([{ ...archive, size: undefined }]), mirror: s.base, out: truncated, ...fast });
    expect(refetched.fetched).toHaveLength(1);
    expect(truncated.text).toMatch(/does not unpack \(tar exited \d+: .*\); fetching it again/);
    expect(readFileSync(ckpt).equals(CKPT) && readFileSync(notes).equals(NOTES)).toBe(true);
  });

  it('draws a progress bar per file on a terminal, and fetches without a mirror from the URL itself', async () => {
    const ws = workspace('models');
    const s = await serve({ '/b.bin': { body: B } });
    const b: ModelFile = { name: 'b.bin', url: `${s.base}/b.bin`, dest: join(ws.root, 'b.bin') };
    const out = output(true);
    expect((await pullModels({ manifest: manifestOf([b]), out, ...fast })).exitCode).toBe(0);
    expect(out.text).toMatch(/b\.bin \[#+-*\] [\d.]+ (KB|MB) \/ 1\.0 MB/);
    expect(out.text).toMatch(/\r\x1b\[2Kb\.bin: fetched 1\.0 MB in [\d.]+ s/);
    expect(readFileSync(b.dest).equals(B)).toBe(true);
  });
});
