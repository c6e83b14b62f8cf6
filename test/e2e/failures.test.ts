/**
 * Failures carry their cause: a tracker backend's exception is a `tracker` error naming the backend,
 * with its traceback in the chunk's log, on the job page and in `status <job>`; a file that is not a
 * video gets the same advice from `run` and from the page, no Resume, no promised output, and
 * `resume --all-failed` leaves it alone until the file changes. One real `run` per workspace (the
 * two side by side); then the page, `status` and `resume` in-process on the same data folders (the
 * commands' own functions, as the CLI calls them, without a process start each).
 */
import { appendFileSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resumeCommand } from '../../src/commands/actions.ts';
import { statusCommand } from '../../src/commands/status.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDb } from '../../src/db/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { escapeHtml } from '../../src/server/page.ts';
import { cliEnv, runCli, type CliResult } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { rawRequest } from '../server/harness.ts';

interface Side {
  ws: Workspace;
  config: Config;
  run: CliResult;
  /** The status page on this data folder, started after the run. */
  page: (path: string) => Promise<{ status: number; body: string }>;
  close: () => Promise<void>;
}

const sides: Side[] = [];
let tracker: Side; // small.mp4, the backend raising at its first frame
let input: Side; // text.mp4, not a video

async function side(label: string, video: string, extra: Record<string, string>): Promise<Side> {
  const ws = makeWorkspace(label);
  const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_MAX_ATTEMPTS: '1', POSEPIPE_CHUNK_SECONDS: '60', ...extra });
  const source = join(ws.root, video);
  copyFileSync(fixture(video), source);
  const run = await runCli(['run', source], env);
  const db = openDb(ws.home);
  const config = loadConfig({ env: env as Record<string, string>, cwd: ws.root, wsl: false });
  let server: RunningServer;
  try {
    server = await startServer({ db, config, onAction: () => {} });
  } catch (error) {
    db.close();
    throw error;
  }
  const s: Side = {
    ws,
    config,
    run,
    page: (path) => rawRequest(server.port, path),
    close: async () => {
      await server.close();
      db.close();
      ws.cleanup();
    },
  };
  sides.push(s);
  return s;
}

/** A command's function run here, its exit code and what it printed. */
async function command(fn: () => number | Promise<number>): Promise<{ code: number; stdout: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(`${args.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void out.push(`${args.join(' ')}\n`));
  try {
    return { code: await fn(), stdout: out.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(async () => {
  const root = makeWorkspace('failures-marker');
  const marker = join(root.root, 'fail-while-this-exists');
  writeFileSync(marker, '');
  [tracker, input] = await Promise.all([side('failures-tracker', 'small.mp4', { POSEPIPE_TEST_FIXTURE_FAIL_WHILE: marker, POSEPIPE_MAX_ATTEMPTS: '2' }), side('failures-input', 'text.mp4', {})]);
  root.cleanup();
}, 60_000);

afterAll(async () => {
  for (const s of sides) await s.close();
});

describe('a failure carries its cause', () => {
  it("a backend's exception is a tracker error naming the backend, its traceback in the chunk log, on the page and in status", async () => {
    expect(tracker.run.code, tracker.run.stderr).toBe(1);
    expect(tracker.run.stderr).toContain('job 1 failed (tracker): chunk 1 (frames 0–149), attempt 2: the test-fixture backend raised RuntimeError: test fixture: failing while');
    // The retry ran in a fresh worker (the backend's exception may have left it in any state): two loads, two processes.
    const db = openDb(tracker.ws.home, { readonly: true });
    const pids = db.listTrackerLoads().map((l) => l.pid);
    db.close();
    expect(pids).toHaveLength(2);
    expect(pids[0]).not.toBe(pids[1]);
    expect(tracker.run.stderr).toContain('to resume: posepipe resume 1');

    const status = await command(() => statusCommand(tracker.config, { json: false, jobId: '1' }));
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('error (tracker): chunk 1');
    expect(status.stdout).toMatch(/stderr of chunk 1 \(last lines; all of it: .*logs\/0000000\+150\.log\):\n {2}Traceback \(most recent call last\):/);
    expect(status.stdout).toMatch(/^ {2}RuntimeError: test fixture: failing while .*$/m);
    expect(status.stdout).toContain('output, once done: ');

    // The chunk log: its header, the whole traceback, how the attempt ended.
    const logs = join(tracker.ws.home, 'jobs', '1', 'logs');
    const log = readFileSync(join(logs, readdirSync(logs)[0]!), 'utf8');
    expect(log).toMatch(/^--- chunk 1 \(frames 0-149\), attempt 1, .*---\nTraceback \(most recent call last\):\n/);
    expect(log).toMatch(/\nRuntimeError: test fixture: failing while .*\n\[posepipe\] request "1:0" failed: tracker\n--- attempt failed \(tracker\): .*the test-fixture backend raised RuntimeError/);
    // worker.log: every line with its time, slot, job, chunk and attempt.
    expect(readFileSync(join(tracker.ws.home, 'worker.log'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[slot 1\] job 1 chunk 1 attempt 1 RuntimeError: test fixture: failing while/m);

    // The page: the failed chunk's stderr under the link that promises it, and the same log file.
    const job = (await tracker.page('/jobs/1')).body;
    expect(job).toContain('<span class="kind">tracker</span>');
    expect(job).not.toContain('A bug in posepipe');
    expect(job).toContain('data-action="resume"');
    const failed = (await tracker.page('/jobs/1?chunkState=failed')).body;
    expect(failed).toMatch(/<details id="chunk-0-stderr" open><summary>[^<]*<\/summary><pre>Traceback \(most recent call last\):\n[^<]*RuntimeError: test fixture: failing while/);
    const served = await tracker.page('/jobs/1/chunks/0/log');
    expect([served.status, served.body]).toEqual([200, log]);
  });

  it('a file that is not a video: the same advice from run and the page, no Resume, no output promised', async () => {
    expect(input.run.code).toBe(1);
    const lines = input.run.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith('posepipe: job 1 failed'));
    const [headline, advice, details] = lines.slice(at, at + 3).map((l) => l.trim());
    expect(headline).toMatch(/^posepipe: job 1 failed \(input\): Cannot probe "text\.mp4": /);
    expect(advice).toContain('drop it in the inbox again');
    expect(details).toBe('details: posepipe status 1');
    expect(input.run.stderr).not.toContain('posepipe resume');

    const job = (await input.page('/jobs/1')).body;
    expect(job).toContain(`<div class="advice">${escapeHtml(advice)}</div>`);
    expect(job).not.toContain('data-action="resume"');
    expect((await input.page('/')).body).not.toContain('data-action="resume"');

    const status = await command(() => statusCommand(input.config, { json: false, jobId: '1' }));
    expect(status.stdout).toContain(`  ${advice}\n`);
    expect(status.stdout).toContain('output: none');
    expect(status.stdout).not.toContain('text.json');
    const json = await command(() => statusCommand(input.config, { json: true, jobId: '1' }));
    expect((JSON.parse(json.stdout) as { outputPath: string | null }).outputPath).toBeNull();
  });

  it('resume --all-failed leaves the broken file until it changes', async () => {
    const skipped = await command(() => resumeCommand(input.config, { all: true, jobIds: [] }));
    expect([skipped.code, skipped.stdout.trim()]).toEqual([0, 'job 1 (text.mp4) left failed: its file is unchanged since it failed on its input (`posepipe resume 1` tries anyway)']);
    expect((await input.page('/jobs/1')).body).toContain('<main data-job="1" data-state="failed">');

    appendFileSync(join(input.ws.root, 'text.mp4'), 'still not a video, but other bytes\n');
    const resumed = await command(() => resumeCommand(input.config, { all: true, jobIds: [] }));
    expect([resumed.code, resumed.stdout.trim()]).toEqual([0, 'job 1 queued again at stage probe']);
  });
});
