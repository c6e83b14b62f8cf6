import { appendFileSync, copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { ffprobeFrameCount, readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
afterEach(() => ws?.cleanup());

/** Write a file in pieces with pauses, like a slow copy into the inbox. */
async function slowCopy(from: string, to: string, pieces = 5, pauseMs = 150): Promise<void> {
  const data = readFileSync(from);
  writeFileSync(to, '');
  const step = Math.ceil(data.length / pieces);
  for (let i = 0; i < data.length; i += step) {
    appendFileSync(to, data.subarray(i, i + step));
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

interface StatusJson {
  jobs: { id: number; name: string; state: string; copyOf: number | null; trackerSeconds: number; finishedMs: number | null; error: { kind: string; text: string } | null; chunkList: { trackerSeconds: number | null; state: string }[] }[];
  trackerLoads: number;
}

async function status(env: NodeJS.ProcessEnv): Promise<StatusJson> {
  const r = await runCli(['status', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

describe('posepipe start: drop a video, get tracked people as JSON', () => {
  it('turns one dropped video into exactly one valid outbox JSON, fails a bad file clearly, and keeps going', async () => {
    ws = makeWorkspace('e2e');
    const env = cliEnv(ws, { POSEPIPE_CHUNK_SECONDS: '2', POSEPIPE_OVERLAP_FRAMES: '8' });
    const app = spawnCli(['start'], env);
    try {
      await waitFor('the watcher to start', () => (app.output().includes('watching') ? true : undefined), 30_000);
      await slowCopy(fixture('small.mp4'), join(ws.inbox, 'clip.mov'));
      // The same content dropped under another name while the first runs: a copy, done after it.
      await waitFor('job 1 to run', async () => ((await status(env)).jobs.find((j) => j.id === 1)?.state === 'running' ? true : undefined), 60_000, 100);
      copyFileSync(fixture('small.mp4'), join(ws.inbox, 'clip copy.mov'));
      const out = join(ws.outbox, 'clip.json');
      await waitFor('outbox/clip.json and clip copy.json', () => (['clip.json', 'clip copy.json'].every((f) => readdirSync(ws.outbox).includes(f)) ? true : undefined), 120_000, 200);
      const copyJob = (await status(env)).jobs.find((j) => j.name === 'clip copy.mov')!;
      expect(copyJob).toMatchObject({ copyOf: 1, state: 'done', trackerSeconds: 0 });
      expect(copyJob.finishedMs).toBeGreaterThanOrEqual((await status(env)).jobs.find((j) => j.id === 1)!.finishedMs!);

      const doc = readValidOutput(out);
      expect(doc.frames.length).toBe(ffprobeFrameCount(fixture('small.mp4')));
      expect(doc.frames.map((f) => f.index)).toEqual([...Array(doc.frames.length).keys()]);
      expect(doc.source.name).toBe('clip.mov');
      expect(doc.chunks.length).toBe(3);
      expect(readdirSync(ws.outbox).sort()).toEqual(['clip copy.json', 'clip.json']);

      // A file that is not a video fails with a message naming it; the next good one still completes.
      writeFileSync(join(ws.inbox, 'notes.mp4'), readFileSync(fixture('text.mp4')));
      await slowCopy(fixture('with-audio.mp4'), join(ws.inbox, 'second.mp4'), 2, 50);
      await waitFor('outbox/second.json', () => (readdirSync(ws.outbox).includes('second.json') ? true : undefined), 120_000, 200);
      const st = await waitFor('the bad file to fail', async () => {
        const s = await status(env);
        return s.jobs.find((j) => j.name === 'notes.mp4')?.state === 'failed' ? s : undefined;
      });
      const bad = st.jobs.find((j) => j.name === 'notes.mp4')!;
      expect(bad.error!.kind).toBe('input');
      expect(bad.error!.text).toContain('"notes.mp4"');
      const first = st.jobs.find((j) => j.name === 'clip.mov')!;
      expect(first.state).toBe('done');
      for (const c of first.chunkList) expect(typeof c.trackerSeconds).toBe('number');
      expect(first.chunkList.reduce((n, c) => n + c.trackerSeconds!, 0)).toBeGreaterThan(0);
      // The backend was loaded once and served every chunk of both videos.
      expect(st.trackerLoads).toBe(1);

      // The same content under another name is a copy: its own JSON, from job 1's result, without tracking again.
      copyFileSync(fixture('small.mp4'), join(ws.inbox, 'clip again.mp4'));
      await waitFor('outbox/clip again.json', () => (readdirSync(ws.outbox).includes('clip again.json') ? true : undefined), 30_000, 200);
      expect(app.output()).toContain('same content and settings as job 1');
      const jobs = (await status(env)).jobs;
      expect(jobs).toHaveLength(5);
      const original = JSON.parse(readFileSync(join(ws.outbox, 'clip.json'), 'utf8')) as { source: { name: string } };
      const again = JSON.parse(readFileSync(join(ws.outbox, 'clip again.json'), 'utf8')) as { source: { name: string } };
      expect(again.source.name).toBe('clip again.mp4');
      expect({ ...again, source: { ...again.source, name: 'clip.mov' } }).toEqual(original);
    } finally {
      app.child.kill('SIGTERM');
    }
    const end = await app.done;
    expect(end.code, end.stdout + end.stderr).toBe(0);
    expect(readdirSync(ws.outbox).sort()).toEqual(['clip again.json', 'clip copy.json', 'clip.json', 'second.json']);
    // afterDone keep (the default): every dropped file is still in the inbox, the failed one too.
    expect(readdirSync(ws.inbox).sort()).toEqual(['clip again.mp4', 'clip copy.mov', 'clip.mov', 'notes.mp4', 'second.mp4']);
  });

  it('completes from the staged copy when the source leaves the inbox after staging', async () => {
    ws = makeWorkspace('e2e-gone');
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '2' });
    const first = spawnCli(['start'], { ...env, POSEPIPE_CRASHPOINT: 'chunked:1' });
    await waitFor('the watcher to start', () => (first.output().includes('watching') ? true : undefined), 30_000);
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'clip.mp4'));
    expect((await first.done).signal).toBe('SIGKILL');
    rmSync(join(ws.inbox, 'clip.mp4'));

    const second = spawnCli(['start'], env);
    try {
      await waitFor('outbox/clip.json', () => (readdirSync(ws.outbox).includes('clip.json') ? true : undefined), 60_000, 200);
      expect(readValidOutput(join(ws.outbox, 'clip.json')).frames).toHaveLength(150);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect((await second.done).code).toBe(0);
  });
});
