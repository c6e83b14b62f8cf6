/**
 * A copy is a copy only of the same work, through the real CLI: the same bytes under the same
 * settings are one tracked job and a copy; under another backend setting, a second job with its own
 * output. Then `rerun` queues a job again as a new job and `delete` removes jobs, refusing a queued one
 * (the page's test tracks a re-run's source; test/db the rows).
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterAll(() => ws?.cleanup());

interface JobJson {
  id: number;
  state: string;
  copyOf: number | null;
  rerunOf: number | null;
  outputPath: string;
  settings: { backend: string; backendSettings: Record<string, string> } | null;
}

describe('copies, rerun and delete', () => {
  it('answers a copy only under the same settings, tracks again on request, and deletes what is finished', async () => {
    ws = makeWorkspace('copies');
    // The exports setting: each job (a copy too) writes its own mot beside its JSON.
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '60', POSEPIPE_EXPORTS: 'mot,coco' });
    const two = { ...env, POSEPIPE_TEST_FIXTURE_PEOPLE: '2' };
    const video = (name: string) => {
      const path = join(ws!.root, name);
      copyFileSync(fixture('small.mp4'), path);
      return path;
    };
    const run = async (name: string, e: NodeJS.ProcessEnv) => {
      const r = await runCli(['run', video(name)], e);
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    const jobs = async () => (JSON.parse((await runCli(['status', '--json'], env)).stdout) as { jobs: JobJson[] }).jobs.sort((x, y) => x.id - y.id);
    const tracks = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { tracks: unknown[] }).tracks.length;

    await run('a.mp4', env);
    await run('b.mp4', env);
    await run('c.mp4', two);
    const [a, b, c] = await jobs();
    expect([a!.copyOf, b!.copyOf, c!.copyOf]).toEqual([null, 1, null]);
    expect(c!.settings).toMatchObject({ backend: 'test-fixture', backendSettings: { POSEPIPE_TEST_FIXTURE_PEOPLE: '2' } });
    expect([tracks(a!.outputPath), tracks(b!.outputPath), tracks(c!.outputPath)]).toEqual([1, 1, 2]);
    const mot = (name: string) => readFileSync(join(ws!.outbox, `${name}.mot.txt`), 'utf8');
    const boxes = (JSON.parse(readFileSync(a!.outputPath, 'utf8')) as { frames: { index: number; persons: { track: number; bbox: number[]; score: number }[] }[] }).frames;
    expect(mot('a')).toBe(boxes.map((f) => f.persons.map((p) => `${f.index + 1},${p.track},${p.bbox.join(',')},${p.score},-1,-1,-1\n`).join('')).join(''));
    expect([mot('b'), mot('c').split('\n').length - 1]).toEqual([mot('a'), 300]);
    // coco needs keypoints, which the test fixture gives only with its phalp extras: skipped.
    expect(existsSync(join(ws.outbox, 'a.coco.json'))).toBe(false);
    const detail = await runCli(['status', '3'], env);
    expect(detail.stdout).toMatch(/^ {2}backend: test-fixture \(posepipe [^)]+\) · chunks 60 s, overlap 16 frames · extras all · json · POSEPIPE_TEST_FIXTURE_PEOPLE=2$/m);

    // Tracked again with today's settings (two people): a new job, queued; the first one is kept.
    const rerun = await runCli(['rerun', '1'], two);
    expect([rerun.code, rerun.stdout]).toEqual([0, expect.stringMatching(/^job 4: a\.mp4 queued to be tracked again \(test-fixture .*POSEPIPE_TEST_FIXTURE_PEOPLE=2\); job 1 is kept\n$/)]);

    // Refused: a queued job (cancel first) and an original whose copy stays; nothing goes.
    const refused = await runCli(['delete', '1', '4'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('posepipe: not deleted: job 1 is not deletable while job 2 is a copy answered from its files (delete it too)');
    expect(refused.stderr).toContain('posepipe: not deleted: job 4 is not finished, failed or cancelled (cancel it first) (it is queued)');
    const deleted = await runCli(['delete', '1', '2', '--output'], env);
    expect([deleted.code, deleted.stderr]).toEqual([0, '']);
    expect(deleted.stdout).toBe(`job 1 deleted (a.mp4); its output ${a!.outputPath} removed\njob 2 deleted (b.mp4); its output ${b!.outputPath} removed\n`);
    expect([a!.outputPath, b!.outputPath, c!.outputPath].map(existsSync)).toEqual([false, false, true]);
    expect([1, 2, 3].map((id) => existsSync(join(ws!.home, 'jobs', String(id))))).toEqual([false, false, true]);
  });
});
