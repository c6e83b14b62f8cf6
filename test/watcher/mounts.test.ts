import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findMount, isWslDrivePath, parseMountTable, shouldPoll } from '../../src/watcher/index.ts';

const table = (name: string): string => readFileSync(join(import.meta.dirname, 'mount-tables', name), 'utf8');

describe('shouldPoll on mount-table fixtures', () => {
  it.each([
    // [fixture, path, poll, words the reason must contain]
    ['wsl2.mountinfo', '/mnt/c/Users/pose/Videos/inbox', true, 'WSL drive mount /mnt/c (9p)'],
    ['wsl2.mountinfo', '/mnt/d', true, 'WSL drive mount /mnt/d (9p)'],
    ['wsl2.mountinfo', '/home/pose/inbox', false, '/ (ext4)'],
    ['wsl2.mountinfo', '/mnt/wsl/inbox', false, '/mnt/wsl (tmpfs)'],
    ['wsl2.mountinfo', '/mnt/cd/inbox', false, '/ (ext4)'],
    ['wsl1.mountinfo', '/mnt/c/inbox', true, '/mnt/c (drvfs)'],
    ['wsl1.mountinfo', '/home/pose/inbox', false, '/ (lxfs)'],
    ['network.mountinfo', '/srv/share/inbox', true, '/srv/share (cifs)'],
    ['network.mountinfo', '/srv/share/local/inbox', false, '/srv/share/local (ext4)'],
    ['network.mountinfo', '/srv/shared-not-a-mount', false, '/ (ext4)'],
    ['network.mountinfo', '/mnt/nfs/inbox', true, '/mnt/nfs (nfs4)'],
    ['network.mountinfo', '/mnt/old-nfs', true, '/mnt/old-nfs (nfs)'],
    ['network.mountinfo', '/home/pose/remote/videos', true, '/home/pose/remote (fuse.sshfs)'],
    ['network.mountinfo', '/home/pose/inbox', false, '/ (ext4)'],
    ['network.mountinfo', '/media/My Share/inbox', true, '/media/My Share (smb3)'],
    ['network.mountinfo', '/mnt/rclone/x', true, '/mnt/rclone (fuse.rclone)'],
    ['network.mountinfo', '/mnt/stacked/inbox', true, '/mnt/stacked (nfs4)'],
    ['ext4.mountinfo', '/home/pose/inbox', false, '/home (xfs)'],
    ['ext4.mountinfo', '/tmp/inbox', false, '/tmp (tmpfs)'],
    ['ext4.mountinfo', '/mnt/c/inbox', false, '/mnt/c (ext4)'],
    ['overlay.mountinfo', '/app/inbox', false, '/ (overlay)'],
    ['overlay.mountinfo', '/inbox', false, '/inbox (ext4)'],
    ['overlay.mountinfo', '/shared/inbox', true, '/shared (virtiofs)'],
    ['overlay.mountinfo', '/vbox/inbox', true, '/vbox (vboxsf)'],
    ['proc-mounts.txt', '/mnt/share with spaces/in', true, '/mnt/share with spaces (cifs)'],
    ['proc-mounts.txt', '/data/nfs', true, '/data/nfs (nfs4)'],
    ['proc-mounts.txt', '/data/local', false, '/ (ext4)'],
  ] as const)('%s: %s -> poll %s', (fixture, path, poll, reasonPart) => {
    const decision = shouldPoll(path, table(fixture));
    expect(decision.poll).toBe(poll);
    expect(decision.reason).toContain(reasonPart);
  });

  it('falls back on the path alone when the table is empty or unreadable', () => {
    expect(shouldPoll('/mnt/e/inbox', '')).toMatchObject({ poll: true });
    expect(shouldPoll('/home/pose/inbox', '')).toMatchObject({ poll: false });
    expect(shouldPoll('/home/pose/inbox', 'garbage line\n\n')).toMatchObject({ poll: false });
  });
});

describe('parseMountTable', () => {
  it('reads mountinfo with and without optional fields, and decodes octal escapes', () => {
    const entries = parseMountTable(table('network.mountinfo'));
    expect(entries).toHaveLength(11);
    expect(entries.find((e) => e.fsType === 'smb3')).toMatchObject({ mountPoint: '/media/My Share', source: '//nas/My Share' });
    expect(parseMountTable(table('wsl2.mountinfo')).find((e) => e.mountPoint === '/mnt/c')).toMatchObject({ fsType: '9p', source: 'C:\\' });
  });

  it('decodes tab, newline and backslash escapes in mount points', () => {
    const [entry] = parseMountTable('50 1 0:60 / /mnt/a\\011b\\012c\\134d rw - ext4 /dev/x rw\n');
    expect(entry?.mountPoint).toBe('/mnt/a\tb\nc\\d');
  });

  it('picks the longest mount point that is a whole-component prefix', () => {
    const entries = parseMountTable(table('network.mountinfo'));
    expect(findMount('/srv/share', entries)?.fsType).toBe('cifs');
    expect(findMount('/srv/share/', entries)?.fsType).toBe('cifs');
    expect(findMount('/srv/sharedx', entries)?.mountPoint).toBe('/');
  });
});

describe('isWslDrivePath', () => {
  it.each([
    ['/mnt/c', true],
    ['/mnt/C/videos', true],
    ['/mnt/cd', false],
    ['/mnt/wsl', false],
    ['/home/mnt/c', false],
  ] as const)('%s -> %s', (path, expected) => {
    expect(isWslDrivePath(path)).toBe(expected);
  });
});
