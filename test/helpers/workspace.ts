import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, onTestFailed } from 'vitest';

/** A test's own inbox, outbox and home (database + staging) under one temp folder. */
export interface Workspace {
  root: string;
  inbox: string;
  outbox: string;
  home: string;
  /** Delete on success; a failed test keeps it and prints where. */
  cleanup(): void;
}

/** Make a fresh workspace for the current test; kept on failure with its path printed. */
export function makeWorkspace(label = 'test'): Workspace {
  const root = mkdtempSync(join(tmpdir(), `posepipe-${label}-`));
  const ws = {
    root,
    inbox: join(root, 'inbox'),
    outbox: join(root, 'outbox'),
    home: join(root, 'home'),
    failed: false,
    cleanup(): void {
      if (ws.failed) {
        console.error(`kept workspace of failed test: ${root}`);
        return;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (const dir of [ws.inbox, ws.outbox, ws.home]) mkdirSync(dir, { recursive: true });
  try {
    onTestFailed(() => {
      ws.failed = true;
    });
  } catch {
    // Called outside a running test (e.g. in beforeAll): the caller decides what to keep.
  }
  return ws;
}

/** For a test file: a maker of workspaces that are all cleaned up (or kept on failure) after each test. */
export function workspacesPerTest(): (label: string) => Workspace {
  const made: Workspace[] = [];
  // afterEach runs before onTestFailed handlers, so the workspace's own failure flag is not set
  // yet here: the test's result is.
  afterEach((ctx) => {
    const failed = ctx.task.result?.state === 'fail';
    for (const ws of made.splice(0)) {
      if (failed) console.error(`kept workspace of failed test: ${ws.root}`);
      else ws.cleanup();
    }
  });
  return (label) => {
    const ws = makeWorkspace(label);
    made.push(ws);
    return ws;
  };
}

/** Poll `check` until it returns a value other than undefined, or fail saying what was awaited. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
