/**
 * The command line answers instead of crashing: a reader that goes away, a port in use, a folder
 * that cannot be one, a misspelt option, --version, jobs named by their file, a paused intake. Each
 * through the real CLI; the jobs are made with the real Db, as the watcher makes them.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.ts';
import { openDb } from '../../src/db/index.ts';
import { cliEnv, runCli, spawnCli, type CliResult } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  ws = makeWorkspace('cli-answers');
  env = cliEnv(ws);
  // Three jobs: clip.mp4 twice (two folders, different content), other.mp4 once.
  const db = openDb(ws.home);
  try {
    for (const [name, dir] of [['clip.mp4', 'a'], ['clip.mp4', 'b'], ['other.mp4', 'a']] as const) {
      const sha256 = createHash('sha256').update(`${dir}/${name}`).digest('hex');
      db.createJob({ sourceName: name, sourcePath: join(ws.root, dir, name), sha256, bytes: 1000 });
    }
  } finally {
    db.close();
  }
});
afterAll(() => ws.cleanup());

/** A stack trace's frame lines: never in what a user sees. */
const STACK = /\n\s+at /;

/** One line on stderr, nothing on stdout. */
function oneLine(r: CliResult): string {
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  return r.stderr.trim();
}

describe('the CLI answers in one line and never crashes', () => {
  it('ends quietly with exit 0 when its reader has gone (status | head -1), and start stops on it too', async () => {
    // start gets a home of its own: it would run the queued jobs the other tests name.
    const own = makeWorkspace('cli-epipe');
    for (const args of [['status'], ['start']]) {
      const run = spawnCli(args, args[0] === 'start' ? cliEnv(own) : env);
      // The reading end is closed before posepipe writes a byte: its first write meets EPIPE.
      run.child.stdout!.destroy();
      const r = await run.done;
      expect([args, r.code, r.signal, r.stderr]).toEqual([args, 0, null, '']);
    }
    own.cleanup();
  });

  it('a port in use, or an inbox that is a file, is one line with the fix and exit 2', async () => {
    const busy: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const port = (busy.address() as { port: number }).port;
      const r = await runCli(['start', '--port', String(port)], env);
      expect(r.code).toBe(2);
      expect(oneLine(r)).toBe(`posepipe: Cannot serve the status page on 127.0.0.1:${port} (port from --port): the port is in use (another posepipe, or another program); stop it, or choose another port with --port N (0: any free port)`);
    } finally {
      busy.close();
    }
    const file = join(ws.root, 'not-a-folder');
    writeFileSync(file, 'x');
    const r = await runCli(['start', '--inbox', join(file, 'inbox')], env);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`posepipe: Cannot use the inbox folder ${join(file, 'inbox')} (from --inbox): a part of the path is a file, not a folder; make it a folder this user may read, or choose another with --inbox DIR`);
  });

  it('names an unknown option (checked before its value is read) and prints --version', async () => {
    const r = await runCli(['status', '--jsn'], env);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe('posepipe: Unknown option --jsn (did you mean --json?); posepipe --help lists the commands and options');
    expect(() => parseArgs(['status', '--json=yes'])).toThrow('Option --json takes no value');
    expect(() => parseArgs(['status', '--chunk-secs', '3'])).toThrow('Unknown option --chunk-secs');
    expect(parseArgs(['status', '--json', '-V']).switches).toEqual(new Set(['--json', '--version']));
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const v = await runCli(['--version'], env);
    expect([v.code, v.stdout, v.stderr]).toEqual([0, `posepipe ${version}\n`, '']);
  });

  it('takes a job by its file name or path; a name of several jobs is exit 2 listing their ids', async () => {
    const byName = await runCli(['status', 'other.mp4', '--json'], env);
    expect(byName.code, byName.stderr).toBe(0);
    expect(JSON.parse(byName.stdout)).toMatchObject({ id: 3, name: 'other.mp4' });
    const both = await runCli(['cancel', 'clip.mp4'], env);
    expect(both.code).toBe(2);
    expect(oneLine(both)).toBe(`posepipe: clip.mp4 names 2 jobs: 1 (queued, ${join(ws.root, 'a', 'clip.mp4')}), 2 (queued, ${join(ws.root, 'b', 'clip.mp4')}); give one of these ids`);
    const byPath = await runCli(['cancel', join(ws.root, 'b', 'clip.mp4')], env);
    expect([byPath.code, byPath.stdout.trim()]).toEqual([0, 'job 2 cancelled (posepipe resume 2 continues it)']);
    const priority = await runCli(['priority', 'other.mp4', '4'], env);
    expect([priority.code, priority.stdout.trim()]).toEqual([0, 'job 3: priority 4']);
    const none = await runCli(['resume', 'nothing.mp4'], env);
    expect([none.code, oneLine(none)]).toEqual([2, 'posepipe: no job nothing.mp4: give a job\'s id or its file name (posepipe status lists them)']);
  });

  it('status says when intake is paused, in the table and in --json', async () => {
    const intake = (paused: boolean) => {
      const db = openDb(ws.home);
      db.setIntakePaused(paused);
      db.close();
    };
    intake(true);
    const table = await runCli(['status'], env);
    expect(table.stdout.split('\n')[0]).toBe('intake is paused: no queued job starts until `posepipe unpause` (running jobs go on)');
    expect(JSON.parse((await runCli(['status', '--json'], env)).stdout)).toMatchObject({ intakePaused: true });
    intake(false);
    expect(JSON.parse((await runCli(['status', '--json'], env)).stdout)).toMatchObject({ intakePaused: false });
  });
});
