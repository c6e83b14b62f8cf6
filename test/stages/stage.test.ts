import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFreeSpace, DiskSpaceError, formatBytes, freeBytes } from '../../src/disk.ts';
import { classify } from '../../src/errors.ts';
import { hashFile, stage } from '../../src/stages/stage.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { tmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.ts';

const NO_TMPFS = tmpfsUnavailable();
if (NO_TMPFS) console.warn(`tmpfs cannot be mounted here (${NO_TMPFS}): the full-disk cases are skipped`);

let ws: Workspace | undefined;
const mounts: string[] = [];
afterEach(() => {
  for (const dir of mounts.splice(0)) unmount(dir);
  ws?.cleanup();
  ws = undefined;
});

/** A job folder on a fresh tmpfs of `size`. */
function jobOnTmpfs(size: string): string {
  ws = makeWorkspace('stage-disk');
  const jobDir = join(ws.home, 'jobs', '1');
  mkdirSync(jobDir, { recursive: true });
  tmpfs(jobDir, size);
  mounts.push(jobDir);
  return jobDir;
}

describe('free-space check', () => {
  it('formats sizes for people', () => {
    expect([0, 1023, 1536, 300 * 1024 * 1024, 1.2 * 1024 ** 3, 95.4 * 1024 ** 4].map(formatBytes)).toEqual(['0 bytes', '1023 bytes', '1.5 KB', '300 MB', '1.2 GB', '95 TB']);
  });

  it('passes with room to spare and fails, naming folder, need, margin setting and free space, without it', async () => {
    ws = makeWorkspace('disk-check');
    const free = await freeBytes(ws.home);
    expect(free).toBeGreaterThan(0);
    await checkFreeSpace({ dir: ws.home, what: 'staging "clip.mp4"', bytes: 1, minFreeMb: 0 });
    const error = await checkFreeSpace({ dir: ws.home, what: 'staging "clip.mp4"', bytes: 1, minFreeMb: 100_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskSpaceError);
    expect(classify(error)).toMatchObject({ kind: 'disk', retry: false });
    const escaped = ws.home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect((error as Error).message).toMatch(
      new RegExp(`^Not enough disk space in ${escaped}: staging "clip\\.mp4" needs 95 TB \\(1 bytes \\+ 100000000 MB kept free, POSEPIPE_MIN_FREE_MB\\), [\\d.]+ (bytes|KB|MB|GB|TB) free; free some space, then resume the job$`),
    );
  });
});

describe('stage: disk space', () => {
  it('refuses before copying when the margin cannot be kept, and leaves the job folder empty', async () => {
    ws = makeWorkspace('stage-disk');
    const jobDir = join(ws.home, 'jobs', '1');
    const source = fixture('small.mp4');
    const error = await stage({ jobDir, sourcePath: source, displayName: 'clip.mp4', sha256: await hashFile(source), minFreeMb: 100_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskSpaceError);
    expect((error as Error).message).toContain(`Not enough disk space in ${jobDir}: staging "clip.mp4" needs 95 TB`);
    expect(readdirSync(jobDir)).toEqual([]);
  });

  it.skipIf(NO_TMPFS)('a real filesystem too small for the source: disk error, nothing written; once it grows, the copy completes', async () => {
    const jobDir = jobOnTmpfs('128k');
    const source = fixture('small.mp4'); // 200 KB
    const sha256 = await hashFile(source);
    const error = await stage({ jobDir, sourcePath: source, displayName: 'clip.mp4', sha256, minFreeMb: 0 }).catch((e: unknown) => e);
    expect(classify(error).kind).toBe('disk');
    // The fixture is made by x264 on this machine: its exact size varies, so it is read, not assumed.
    const size = statSync(source).size;
    expect((error as Error).message).toContain(`: staging "clip.mp4" needs ${formatBytes(size)}, `);
    expect((error as Error).message).toMatch(/^Not enough disk space in .*: staging "clip\.mp4" needs \d+ KB, \d+ KB free; free some space, then resume the job$/);
    expect(readdirSync(jobDir)).toEqual([]);
    tmpfs(jobDir, '16m', true);
    expect(await stage({ jobDir, sourcePath: source, displayName: 'clip.mp4', sha256, minFreeMb: 0 })).toEqual({ file: 'source.mp4', bytes: size, sha256 });
    expect(readFileSync(join(jobDir, 'source.mp4'))).toEqual(readFileSync(source));
  });

  it('a write that fails with ENOSPC (the kernel\'s, from /dev/full) is a disk error and leaves no partial file', async () => {
    ws = makeWorkspace('stage-enospc');
    const jobDir = join(ws.home, 'jobs', '1');
    mkdirSync(jobDir, { recursive: true });
    // The stage's temp name for this process: pointing it at /dev/full makes the copy's first write fail.
    symlinkSync('/dev/full', join(jobDir, `.source.mp4.tmp-${process.pid}`));
    const source = fixture('small.mp4');
    const sha256 = await hashFile(source);
    const error = await stage({ jobDir, sourcePath: source, displayName: 'clip.mp4', sha256, minFreeMb: 0 }).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: 'disk', retry: false });
    expect((error as Error).message).toMatch(/^Not enough disk space in .*: staging "clip\.mp4" failed, the disk is full \(.* free\); free some space, then resume the job$/);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(readdirSync(jobDir)).toEqual([]);
  });
});

describe('stage: the source changes under it', () => {
  it('fails clearly when the source was deleted before the copy, leaving nothing behind', async () => {
    ws = makeWorkspace('stage-gone');
    const jobDir = join(ws.home, 'jobs', '1');
    const error = await stage({ jobDir, sourcePath: join(ws.inbox, 'clip.mp4'), displayName: 'clip.mp4', sha256: 'f'.repeat(64) }).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: 'input', retry: false, message: 'Cannot stage "clip.mp4": the file was removed from the inbox before it could be copied' });
    expect(readdirSync(jobDir)).toEqual([]);
  });

  it('refuses content that changed after it was picked up (the new content becomes its own job)', async () => {
    ws = makeWorkspace('stage-changed');
    const jobDir = join(ws.home, 'jobs', '1');
    const error = await stage({ jobDir, sourcePath: fixture('small.mp4'), displayName: 'clip.mp4', sha256: '0'.repeat(64) }).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: 'input', message: 'Cannot stage "clip.mp4": its content changed after it was picked up; the new content becomes a job of its own' });
    expect(readdirSync(jobDir)).toEqual([]);
  });
});
