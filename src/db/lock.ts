import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Another posepipe holds this data folder. The CLI exits 2. */
export class InstanceLockedError extends Error {
  readonly pid: number;
  constructor(home: string, pid: number) {
    super(`Another posepipe (pid ${pid}) is already using ${home}; stop it first or set another POSEPIPE_HOME`);
    this.name = 'InstanceLockedError';
    this.pid = pid;
  }
}

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One instance per data folder: a lock file holding our pid, created exclusively.
 * A lock left by a dead process (kill -9) is taken over.
 */
export function acquireLock(home: string): { release(): void } {
  const file = join(home, 'posepipe.lock');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        release(): void {
          if (released) return;
          released = true;
          try {
            if (Number(readFileSync(file, 'utf8').trim()) === process.pid) unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let pid = NaN;
      try {
        pid = Number(readFileSync(file, 'utf8').trim());
      } catch {
        continue; // Removed between our open and read: try again.
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new InstanceLockedError(home, pid);
      try {
        unlinkSync(file); // Stale: its owner is gone.
      } catch {
        // Someone else removed it first.
      }
    }
  }
  throw new Error(`Could not take the lock ${file}`);
}
