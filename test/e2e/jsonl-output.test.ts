/**
 * The jsonl output format (issue 13), through the real CLI, server, Python and Node: a video
 * tracked as JSON, then the same content dropped under another name into `posepipe start
 * --output-format jsonl` (a copy job, written from the first job's chunk results without tracking
 * again) gives `<name>.jsonl`, whose lines are the JSON document's own parts byte for byte; the
 * output route serves it as application/x-ndjson; and the Python and Node snippets of docs/output.md,
 * run as they are written there, read it as a stream. The first job plays one merged by an older posepipe
 * (no merge.json): the copy, and its own JSON written again, merge its chunk results again first.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { readValidOutput } from '../helpers/output.ts';
import { waitFor, workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

/** The code block of `language` in the "Output formats" section of docs/output.md. */
function docsSnippet(language: 'python' | 'js'): string {
  const page = readFileSync('docs/output.md', 'utf8');
  const section = page.slice(page.indexOf('## Output formats'));
  const block = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section);
  expect(block, `docs/output.md has no ${language} block under "Output formats"`).not.toBeNull();
  return block![1]!;
}

describe('the jsonl output format', () => {
  it('writes the document as lines (the header, then a frame a line, each the JSON form\'s own bytes), served as application/x-ndjson and read as a stream by the Python and Node of docs/output.md; a job merged by an older posepipe is merged again when written again', async () => {
    const ws = workspace('jsonl');
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_OVERLAP_FRAMES: '5', POSEPIPE_TEST_FIXTURE_PEOPLE: '2' });
    const json = await runCli(['run', fixture('small.mp4')], env);
    expect(json.code, json.stderr).toBe(0);
    const doc = readValidOutput(join(ws.outbox, 'small.json'));
    const jsonBytes = readFileSync(join(ws.outbox, 'small.json'));
    const mergeIndex = join(ws.home, 'jobs', '1', 'merge.json');

    const app = spawnCli(['start', '--output-format', 'jsonl'], env);
    try {
      const url = await waitFor('the status page', () => /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())?.[1], 30_000);
      copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small lines.mp4'));
      await waitFor('outbox/small lines.jsonl', async () => {
        const st = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { jobs: { id: number; state: string }[] };
        return st.jobs.find((j) => j.id === 2)?.state === 'done' ? true : undefined;
      }, 60_000, 200);
      // Another output format is other work: tracked as a new job, not a copy of job 1.
      expect(app.output()).toContain('job 2: small lines.mp4 queued');
      expect(readdirSync(ws.outbox).sort()).toEqual(['small lines.jsonl', 'small.json']);
      const file = join(ws.outbox, 'small lines.jsonl');
      const lines = readFileSync(file, 'utf8');
      // The same document, its source named as dropped: the header line, then each frame's JSON.
      const { frames, ...header } = doc;
      const expected = [{ ...header, source: { ...header.source, name: 'small lines.mp4' } }, ...frames].map((x) => `${JSON.stringify(x)}\n`).join('');
      expect(lines).toBe(expected);
      expect(lines.split('\n')).toHaveLength(frames.length + 2);

      const served = await fetch(`${url}/api/jobs/2/output`);
      expect(served.headers.get('content-type')).toBe('application/x-ndjson');
      expect(served.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''small%20lines.jsonl");
      expect(await served.text()).toBe(lines);
    } finally {
      app.child.kill('SIGTERM');
      expect((await app.done).code).toBe(0);
    }

    // As an older posepipe left it (no merge.json) and its own JSON deleted, job 1 is written again
    // by posepipe run: merged again, the same bytes.
    rmSync(mergeIndex);
    rmSync(join(ws.outbox, 'small.json'));
    const again = await runCli(['run', fixture('small.mp4')], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toContain('job 1: it has no merge.json (merged by an older posepipe): its chunk results were merged again');
    expect(existsSync(mergeIndex)).toBe(true);
    expect(readFileSync(join(ws.outbox, 'small.json')).equals(jsonBytes)).toBe(true);

    // The snippets of docs/output.md, as written there, on the output: each person's frame, track and box, a line each.
    const wanted = doc.frames.flatMap((f) => f.persons.map((p) => [f.index, p.track, ...p.bbox].join(' '))).join('\n') + '\n';
    expect(doc.frames.filter((f) => f.persons.length === 2).length).toBeGreaterThan(doc.frames.length / 2);
    const file = join(ws.outbox, 'small lines.jsonl');
    writeFileSync(join(ws.root, 'read.py'), docsSnippet('python'));
    writeFileSync(join(ws.root, 'read.mjs'), docsSnippet('js'));
    const python = spawnSync('/usr/bin/python3', [join(ws.root, 'read.py'), file], { encoding: 'utf8' });
    expect(python.stderr).toBe('');
    expect(python.stdout).toBe(wanted);
    const node = spawnSync(process.execPath, [join(ws.root, 'read.mjs'), file], { encoding: 'utf8' });
    expect(node.stderr).toBe('');
    expect(node.stdout).toBe(wanted);
  });
});
