import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STAGE_NAMES } from '../../src/db/index.ts';
import { startHarness, type Harness } from './harness.ts';
import { tags } from './inert.ts';
import { chunkDone, chunkedJob, chunkFailed, doneJob, failAtTrack, queuedJob } from './seed.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.stop());

const page = async (path: string) => (await h.send(path)).body;
const withAttr = (html: string, attr: string) => tags(html).filter((t) => t.attrs.has(attr));
const chunkRows = (html: string) => {
  const table = html.slice(html.indexOf('<table id="chunks">'));
  return withAttr(table, 'data-chunk').filter((t) => t.name === 'tr').map((t) => [Number(t.attrs.get('data-chunk')), t.attrs.get('data-state')]);
};
const gridCells = (html: string) => {
  const grid = html.slice(html.indexOf('<div id="chunk-grid">'), html.indexOf('</div>', html.indexOf('<div id="chunk-grid">')));
  return withAttr(grid, 'data-chunk').map((t) => [Number(t.attrs.get('data-chunk')), t.attrs.get('data-state')]);
};
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('job page', () => {
  it('shows a running job: state, progress, stages, chunks and live progress', async () => {
    const id = chunkedJob(h.db, { name: 'street.mp4', chunks: 3 });
    chunkDone(h.db, id, 0);
    h.db.startChunk(id, 1);
    h.db.chunkProgress(id, 1, 10);
    const html = await page(`/jobs/${id}`);
    expect(html).toContain(`<main data-job="${id}" data-state="running">`);
    expect(html).toMatch(/<progress id="job-progress" class="big s-running" value="35" max="75">/);
    expect(html).toContain('chunk 2 of 3: frame 10/25');
    expect(html).toContain('1/3 chunks done');
    const stages = withAttr(html, 'data-stage').map((t) => [t.attrs.get('data-stage'), t.attrs.get('data-state')]);
    expect(stages).toEqual([['stage', 'done'], ['probe', 'done'], ['chunk', 'done'], ['track', 'running'], ['merge', 'pending'], ['emit', 'pending'], ['preview', 'pending']]);
    expect(html.indexOf('<section id="stages"')).toBeGreaterThan(0);
    expect(gridCells(html)).toEqual([[0, 'done'], [1, 'running'], [2, 'pending']]);
    expect(chunkRows(html)).toEqual([[0, 'done'], [1, 'running'], [2, 'pending']]);
    expect(html).toContain('title="chunk 1: done · 1 attempt · frames 0–24 (25/25 done) · tracker 1.5 s"');
    expect(html).toContain('<button type="submit" data-action="cancel">');
    expect(html).not.toContain('data-action="resume"');
    expect(html).not.toContain('data-output');
    expect(html).toContain('<script src="/static/page.js" defer></script>');
  });

  it('places each started stage on the timeline by its start and finish', async () => {
    const id = doneJob(h.db, h.config, { chunks: 2 });
    const html = await page(`/jobs/${id}`);
    const segs = [...html.matchAll(/<div data-stage="(\w+)" data-state="done">.*?<span class="seg s-done" style="left:([\d.]+)%;width:([\d.]+)%"><\/span>.*?<span class="t">([^<]+)</g)];
    expect(segs.map((m) => m[1])).toEqual([...STAGE_NAMES]);
    for (const m of segs) {
      const [left, width] = [Number(m[2]), Number(m[3])];
      expect(left + width, m[1]).toBeLessThanOrEqual(100.01);
      expect(m[4], m[1]).toMatch(/^\d+\.\d s$/);
    }
    // Stages run one after another: each starts no earlier than the one before.
    const lefts = segs.map((m) => Number(m[2]));
    expect(lefts).toEqual([...lefts].sort((a, b) => a - b));
    expect(lefts[0]).toBe(0);
  });

  it('shows the source facts once probed, and says when they will come', async () => {
    const id = chunkedJob(h.db, { chunks: 3 });
    const html = await page(`/jobs/${id}`);
    const facts = Object.fromEntries([...html.matchAll(/<div><dt>(\w+)<\/dt><dd[^>]*>([^<]*)<\/dd><\/div>/g)].map((m) => [m[1], m[2]]));
    expect(facts).toEqual({ resolution: '640×360', fps: '25', frames: '75', codec: 'h264', duration: '3.0 s', size: '120.6 KiB', sha256: `${h.db.getJob(id)!.source_sha256.slice(0, 12)}…` });
    const queued = await page(`/jobs/${queuedJob(h.db)}`);
    expect(queued).toContain('appear once the video is probed');
    expect(queued).toMatch(/<progress id="job-progress" class="big s-queued" value="0" max="7">/);
    expect(queued).toContain('Not chunked yet.');
  });

  it('pages the chunk table 100 at a time and filters it by state', async () => {
    const id = chunkedJob(h.db, { chunks: 250, perChunk: 4 });
    h.db.transaction(() => {
      for (const i of range(0, 120)) chunkDone(h.db, id, i);
      for (const i of range(120, 130)) chunkFailed(h.db, id, i, { kind: 'oom', text: `chunk ${i} ran out of memory` });
    });
    const first = await page(`/jobs/${id}`);
    expect(chunkRows(first).map((r) => r[0])).toEqual(range(0, 100));
    expect(gridCells(first)).toHaveLength(250);
    expect(first).toContain('page 1 of 3 · 250 chunks');
    expect(first).toContain(`<a href="/jobs/${id}?chunkPage=2#chunks">2</a>`);
    expect(chunkRows(await page(`/jobs/${id}?chunkPage=3`)).map((r) => r[0])).toEqual(range(200, 250));
    const failed = await page(`/jobs/${id}?chunkState=failed`);
    expect(chunkRows(failed)).toEqual(range(120, 130).map((i) => [i, 'failed']));
    expect(failed).not.toContain('chunk-pager');
    expect(failed).toContain(`<a data-chunk-filter="failed" href="/jobs/${id}?chunkState=failed#chunks" aria-current="page">failed<span class="n">10</span></a>`);
    expect(failed).toContain('chunk 125 ran out of memory');
    expect(chunkRows(await page(`/jobs/${id}?chunkState=done&chunkPage=2`)).map((r) => r[0])).toEqual(range(100, 120));
    const pending = await page(`/jobs/${id}?chunkState=pending`);
    expect(pending).toContain(`<a href="/jobs/${id}?chunkState=pending&#38;chunkPage=2#chunks">2</a>`);
    // The grid and the progress always cover the whole job, whatever the table shows.
    expect(gridCells(pending)).toHaveLength(250);
    expect(pending).toMatch(/<progress id="job-progress" class="big s-running" value="480" max="1000">/);
  });

  it('draws at most 2,000 chunks in the grid and says so', async () => {
    const id = chunkedJob(h.db, { chunks: 2500, perChunk: 2 });
    const html = await page(`/jobs/${id}?chunkPage=25`);
    expect(gridCells(html)).toHaveLength(2000);
    expect(html).toContain('The grid shows the first 2,000 of 2,500 chunks');
    expect(chunkRows(html).map((r) => r[0])).toEqual(range(2400, 2500));
    // Prepared, with no chunk started: it waits for a slot.
    expect(html).toMatch(/<progress id="job-progress" class="big s-queued" value="0" max="5000">/);
  });

  it('shows a failed chunk readably, with its stderr tail, a log link and Retry', async () => {
    const id = chunkedJob(h.db, { chunks: 3 });
    chunkDone(h.db, id, 0);
    chunkFailed(h.db, id, 1, { kind: 'crash', text: 'The tracker worker exited with code 1', exitCode: 1, stderrTail: 'Traceback (most recent call last):\nRuntimeError: boom' });
    failAtTrack(h.db, id, { kind: 'crash', text: 'chunk 1 failed after 3 attempts' });
    const html = await page(`/jobs/${id}`);
    expect(html).toContain(`<main data-job="${id}" data-state="failed">`);
    expect(html).toContain('<span class="kind">crash</span><span class="text">The tracker worker exited with code 1</span> (exit code 1)');
    expect(html).toContain('<details id="chunk-1-stderr"><summary>stderr, last lines</summary><pre>Traceback (most recent call last):\nRuntimeError: boom</pre></details>');
    expect(html).toContain(`<a data-log="1" href="/jobs/${id}/chunks/1/log">log</a>`);
    expect(html).not.toContain('data-log="2"');
    expect(html.match(/data-action="retry"/g)).toHaveLength(1);
    expect(html).toContain('data-action="resume"');
    expect(html).toContain('<div class="card" id="job-error">');
  });

  it('links a done job output and offers no actions', async () => {
    const id = doneJob(h.db, h.config, { chunks: 2 });
    const html = await page(`/jobs/${id}`);
    expect(html).toContain(`<main data-job="${id}" data-state="done">`);
    expect(html).toMatch(/<progress id="job-progress" class="big s-done" value="50" max="50">/);
    expect(html).toContain(`<a data-output href="/api/jobs/${id}/output">`);
    expect(html).not.toMatch(/data-action="(resume|cancel|retry)"/);
    // No merge.json in this job folder: no pictures, and the page still renders.
    expect(html).not.toContain('id="pictures"');
  });

  it('answers a fragment with <main> and its attributes only, and the JSON view with chunks', async () => {
    const id = chunkedJob(h.db, { chunks: 2 });
    const r = await h.send(`/jobs/${id}?chunkState=pending`, { headers: { 'x-posepipe-fragment': '1' } });
    expect(r.body.startsWith(`<main data-job="${id}" data-state="queued">`)).toBe(true);
    expect(r.body.endsWith('</main>')).toBe(true);
    expect(r.headers['x-posepipe-stamp']).toBe(h.db.changeStamp());
    const api = await h.send(`/api/jobs/${id}`);
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    const view = JSON.parse(api.body);
    expect([view.id, view.state, view.phase, view.chunkList.length, view.stages.length, view.frames]).toEqual([id, 'queued', 'ready', 2, 7, 50]);
  });
});
