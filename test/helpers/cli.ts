import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Workspace } from './workspace.ts';

/** The interpreter tests run the worker with: the venv `npm run setup` makes, else Debian's python3. */
export const TEST_PYTHON = existsSync(resolve('python/.venv/bin/python')) ? resolve('python/.venv/bin/python') : '/usr/bin/python3';

const BIN = resolve('bin/posepipe.js');

/** Environment for a CLI run in a workspace: nothing inherited from the developer's own POSEPIPE_*. */
export function cliEnv(ws: Workspace, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('POSEPIPE_')) env[k] = v;
  return {
    ...env,
    POSEPIPE_HOME: ws.home,
    POSEPIPE_INBOX: ws.inbox,
    POSEPIPE_OUTBOX: ws.outbox,
    POSEPIPE_PYTHON: TEST_PYTHON,
    POSEPIPE_PORT: '0',
    POSEPIPE_READY_SECONDS: '0.5',
    POSEPIPE_RESCAN_SECONDS: '5',
    // The pipeline tests run builtin with its HOG detector (a fraction of CenterNet's time a frame,
    // and the same bytes on any machine), on 320x240 fixtures searched as they are (not upscaled
    // for small people, which is 13x slower). The default detector, CenterNet, has its own tests
    // (test/detector, test/tracker/builtin-centernet.test.ts, the street video's second test).
    POSEPIPE_BUILTIN_DETECTOR: 'hog',
    POSEPIPE_BUILTIN_MIN_PERSON: '0',
    // No preview video (a transcode of every video, ~0.4 s each): the preview stage still writes
    // the player's frames. test/stages/preview.test.ts and the player's page test make previews.
    POSEPIPE_PREVIEW_SIZE: '0',
    ...extra,
  };
}

/** A finished CLI run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `posepipe <args>` as a real process; collect its output. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: resolve('.') });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, output: () => stdout + stderr, done };
}

/** Run `posepipe <args>` to the end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return spawnCli(args, env).done;
}
