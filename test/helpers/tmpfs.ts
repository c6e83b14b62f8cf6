import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why a tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN), or undefined when it can. */
export function tmpfsUnavailable(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'posepipe-tmpfs-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) return (r.stderr || r.error?.message || `mount exited ${r.status}`).trim();
    spawnSync('umount', [dir]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** (Re)mount a tmpfs of `size` (e.g. "128k") at `dir`: a real small disk; a remount keeps the files and changes the size. */
export function tmpfs(dir: string, size: string, remount = false): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', remount ? `remount,size=${size}` : `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs at ${dir} failed: ${r.stderr}`);
}

/** Unmount, lazily if it is still busy. */
export function unmount(dir: string): void {
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}
