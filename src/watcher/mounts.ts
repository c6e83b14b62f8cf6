import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';

/** One line of a mount table: where a filesystem is mounted and its type. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
}

/** Whether to poll the inbox, and why (shown in logs and `posepipe doctor`). */
export interface PollDecision {
  poll: boolean;
  reason: string;
}

/**
 * Filesystem types on which inotify does not report changes made by someone else, so the inbox
 * must be polled. The common cause: the writer is not this kernel.
 */
export const POLLED_FS_TYPES: ReadonlySet<string> = new Set([
  // WSL2 drive mounts (/mnt/c) and VM shares over Plan 9: writes from the Windows/host side raise no
  // inotify event in the guest. `v9fs` is the driver's name, seen in some tables.
  '9p', 'v9fs',
  // WSL1 drive mounts: same situation, different driver.
  'drvfs',
  // virtio-fs shares (Kata, Docker/Podman machines, libvirt): host-side writes are invisible to
  // inotify in the guest, exactly like 9p. Polling a shared folder costs little; missing every
  // drop costs the whole feature.
  'virtiofs',
  // Hypervisor shared folders (VirtualBox, VMware, Parallels): host writes raise no event.
  'vboxsf', 'vmhgfs', 'fuse.vmhgfs-fuse', 'prl_fs',
  // Network filesystems: another client's writes are never notified to this kernel.
  'cifs', 'smb3', 'smbfs', 'nfs', 'nfs4', 'afs', 'ceph', 'glusterfs', 'lustre', 'gpfs', 'beegfs',
  // FUSE front-ends to remote storage: the FUSE daemon sees remote changes, the kernel does not.
  'fuse.sshfs', 'fuse.rclone', 'fuse.s3fs', 'fuse.gcsfuse', 'fuse.glusterfs', 'fuse.cephfs',
  'davfs', 'fuse.davfs2',
]);
// Deliberately not polled: ext4, xfs, btrfs, zfs, tmpfs, overlay (a container's own layer: files
// arrive through this kernel, so inotify sees them), fuseblk (ntfs-3g on a local disk).

/** Undo mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Parse /proc/self/mountinfo (or, as a fallback, /proc/mounts) text. Lines that fit neither
 * format are skipped: a half-understood table must not stop the watcher.
 */
export function parseMountTable(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0] === '') continue;
    const dash = fields.indexOf('-', 6);
    if (dash >= 6 && /^\d+$/.test(fields[0] ?? '')) {
      // mountinfo: id parent major:minor root mount-point options [optional...] - type source super-options
      const [mountPoint, fsType] = [fields[4], fields[dash + 1]];
      if (mountPoint === undefined || fsType === undefined) continue;
      entries.push({
        mountPoint: unescapeMountField(mountPoint),
        fsType,
        source: unescapeMountField(fields[dash + 2] ?? ''),
        options: `${fields[5] ?? ''},${fields[dash + 3] ?? ''}`,
      });
    } else if (fields[1]?.startsWith('/')) {
      // /proc/mounts: source mount-point type options dump pass
      entries.push({
        mountPoint: unescapeMountField(fields[1]),
        fsType: fields[2] ?? '',
        source: unescapeMountField(fields[0] ?? ''),
        options: fields[3] ?? '',
      });
    }
  }
  return entries;
}

/** The mount that holds `path`: the longest mount point that is a prefix; the later line wins a tie (it is mounted on top). */
export function findMount(path: string, entries: readonly MountEntry[]): MountEntry | undefined {
  const target = posix.resolve(path);
  let best: MountEntry | undefined;
  for (const entry of entries) {
    const point = entry.mountPoint.length > 1 ? entry.mountPoint.replace(/\/+$/, '') : entry.mountPoint;
    const inside = point === '/' || target === point || target.startsWith(`${point}/`);
    if (inside && (best === undefined || point.length >= best.mountPoint.replace(/\/+$/, '').length)) best = entry;
  }
  return best;
}

/** True for WSL's Windows drive paths: `/mnt/c`, `/mnt/d/videos`; decided from the path alone, not from /proc/version. */
export function isWslDrivePath(path: string): boolean {
  return /^\/mnt\/[a-zA-Z](\/|$)/.test(posix.resolve(path));
}

/** Decide from a mount table whether `path` must be polled; the reason names the mount and its type. */
export function shouldPoll(path: string, mountTableText: string): PollDecision {
  const mount = findMount(path, parseMountTable(mountTableText));
  if (mount === undefined) {
    // No usable table (unreadable, empty, foreign format): only WSL's drive paths are known to need polling.
    if (isWslDrivePath(path)) return { poll: true, reason: `${path} looks like a WSL drive path and the mount table does not say otherwise` };
    return { poll: false, reason: `no mount found for ${path}; assuming a local filesystem` };
  }
  const where = `${mount.mountPoint} (${mount.fsType})`;
  const wslDrive = isWslDrivePath(path) && (mount.fsType === '9p' || mount.fsType === 'drvfs' || /aname=drvfs/.test(mount.options));
  if (wslDrive) return { poll: true, reason: `${path} is on the WSL drive mount ${where}: Windows-side writes raise no inotify events` };
  if (POLLED_FS_TYPES.has(mount.fsType)) return { poll: true, reason: `${path} is on ${where}, where inotify misses writes made elsewhere` };
  return { poll: false, reason: `${path} is on ${where}; inotify works there` };
}

/** The decision for a configured `polling` mode; `auto` reads the mount table (unreadable: judged by the path alone). */
export async function decidePolling(mode: 'auto' | 'always' | 'never', path: string, mountTable = '/proc/self/mountinfo'): Promise<PollDecision> {
  if (mode === 'always') return { poll: true, reason: "polling: 'always' was configured" };
  if (mode === 'never') return { poll: false, reason: "polling: 'never' was configured" };
  return shouldPoll(path, await readFile(mountTable, 'utf8').catch(() => ''));
}
