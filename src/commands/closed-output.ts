/**
 * A reader that goes away (`posepipe status | head -1`, a closed terminal) must not crash posepipe
 * with an EPIPE stack: what is left to print is dropped, and a command that runs on (start, run)
 * is told, so that it stops as it would on SIGTERM.
 */

const listeners = new Set<() => void>();
let installed = false;
let closed = false;

/** Watch stdout and stderr for a write that fails (EPIPE and the like), once per process. */
export function quietOnClosedOutput(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    // Kept for the life of the process: every later write to a closed stream fails again, each one quietly.
    stream.on('error', () => {
      if (closed) return;
      closed = true;
      for (const listener of listeners) listener();
    });
  }
}

/** Call `listener` when stdout or stderr can no longer be written; returns the call that removes it. */
export function onOutputClosed(listener: () => void): () => void {
  if (closed) queueMicrotask(listener);
  listeners.add(listener);
  return () => listeners.delete(listener);
}
