import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { tags } from './inert.ts';
import { chunkDone, chunkedJob, doneJob, failedJob, queuedJob } from './seed.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.stop());

/** The list rows as [id, state] in page order. */
const rows = (html: string) => tags(html).filter((t) => t.name === 'tr' && t.attrs.has('data-job')).map((t) => [Number(t.attrs.get('data-job')), t.attrs.get('data-state')]);
const filterCounts = (html: string) => Object.fromEntries([...html.matchAll(/<a data-filter="(\w+)"[^>]*>\w+<span class="n">([\d,]+)<\/span>/g)].map((m) => [m[1], Number(m[2]!.replace(/,/g, ''))]));

describe('jobs list', () => {
  it('shows the tracker slots with their health and error, and since when remote workers wait for Redis', async () => {
    const job = chunkedJob(h.db, { chunks: 2 });
    h.db.registerWorkers('gpu-box', ['slot 1 (cuda:0)', 'slot 2 (cuda:1)']);
    h.db.workerHealth('slot 1 (cuda:0)', 'ready', { device: 'cuda:0 (NVIDIA H200)' });
    h.db.workerChunk('slot 1 (cuda:0)', { jobId: job, idx: 1, framesPerSecond: 12.5 });
    h.db.workerHealth('slot 2 (cuda:1)', 'unhealthy', { error: 'CUDA error: <no device>\nTraceback (most recent call last):\n  File "load.py", line 1' });
    const page = (await h.send('/')).body;
    const slots = tags(page).filter((t) => t.name === 'tr' && t.attrs.has('data-worker')).map((t) => [t.attrs.get('data-worker'), t.attrs.get('data-health')]);
    expect(slots).toEqual([['slot 1 (cuda:0)', 'ready'], ['slot 2 (cuda:1)', 'unhealthy']]);
    expect(page).toContain(`<a href="/jobs/${job}#chunk-1">job ${job}, chunk 2</a>`);
    // The load error's first line, with the backend's traceback folded under it.
    expect(page).toContain('<details class="slot-error"><summary class="muted">CUDA error: &#60;no device&#62;</summary><pre>Traceback (most recent call last):\n  File &#34;load.py&#34;, line 1</pre></details>');
    expect(page).not.toContain('id="redis-down"');
    h.db.setRedisDownSince(Date.UTC(2026, 11, 3, 6, 0, 0));
    expect((await h.send('/')).body).toContain('Redis has not answered since 2026-12-03 06:00:00 UTC');
    const api = JSON.parse((await h.send('/api/jobs')).body) as { workers: { name: string; health: string; error: string | null; current: unknown; framesPerSecond: number | null }[] };
    expect(api.workers[0]).toMatchObject({ name: 'slot 1 (cuda:0)', health: 'ready', current: { jobId: job, chunk: 1 }, framesPerSecond: 12.5 });
    expect(api.workers[1]).toMatchObject({ health: 'unhealthy', error: 'CUDA error: <no device>\nTraceback (most recent call last):\n  File "load.py", line 1', current: null });
  });

  it('pages 50 jobs at a time, newest first, with a pager that knows the totals', async () => {
    for (let i = 0; i < 120; i++) queuedJob(h.db, `clip-${i}.mp4`);
    const first = (await h.send('/')).body;
    expect(rows(first)).toHaveLength(50);
    expect(rows(first)[0]).toEqual([120, 'queued']);
    expect(first).toContain('<nav class="pager">');
    expect(first).toContain('page 1 of 3 · 120 jobs');
    expect(first).toContain('<a href="/?page=2">2</a>');
    expect(first).toContain('<a href="/?page=3">3</a>');
    const last = (await h.send('/?page=3')).body;
    expect(rows(last).map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(last).toContain('page 3 of 3 · 120 jobs');
    // Past the end (or unreadable) pages are clamped, never empty or an error.
    expect(rows((await h.send('/?page=99')).body)[0]).toEqual([20, 'queued']);
    expect(rows((await h.send('/?page=abc')).body)[0]).toEqual([120, 'queued']);
    const api = JSON.parse((await h.send('/api/jobs?page=2&limit=30')).body);
    expect([api.jobs.length, api.jobs[0].id, api.total, api.page, api.pages, api.intakePaused]).toEqual([30, 90, 120, 2, 4, false]);
  });

  it('filters by state with counts on every tab', async () => {
    const failed = [0, 1, 2].map((i) => failedJob(h.db, `bad-${i}.mp4`, { kind: 'input', text: `not a video ${i}` }));
    const queued = [queuedJob(h.db), queuedJob(h.db)];
    const done = doneJob(h.db, h.config, { chunks: 1 });
    const cancelled = queuedJob(h.db);
    h.db.cancelJob(cancelled);
    const all = (await h.send('/')).body;
    expect(filterCounts(all)).toEqual({ all: 7, queued: 2, running: 0, done: 1, failed: 3, cancelled: 1 });
    expect(all).toContain('<a data-filter="all" class="s-all" href="/" aria-current="page">');
    const onlyFailed = (await h.send('/?state=failed')).body;
    expect(rows(onlyFailed)).toEqual(failed.reverse().map((id) => [id, 'failed']));
    expect(onlyFailed).toContain('<a data-filter="failed" class="s-failed" href="/?state=failed" aria-current="page">');
    expect(onlyFailed).toContain('page 1 of 1 · 3 jobs');
    expect(rows((await h.send('/?state=queued')).body)).toEqual(queued.reverse().map((id) => [id, 'queued']));
    expect(rows((await h.send('/?state=done')).body)).toEqual([[done, 'done']]);
    expect(rows((await h.send('/?state=running')).body)).toEqual([]);
    expect((await h.send('/?state=running')).body).toContain('No running jobs.');
    const api = JSON.parse((await h.send('/api/jobs?state=failed')).body);
    expect([api.total, api.counts]).toEqual([3, { queued: 2, running: 0, done: 1, failed: 3, cancelled: 1 }]);
    // The pager keeps the filter.
    for (let i = 0; i < 60; i++) failedJob(h.db, `more-${i}.mp4`, { kind: 'input', text: 'x' });
    expect((await h.send('/?state=failed')).body).toContain('<a href="/?state=failed&#38;page=2">2</a>');
  });

  it('shows the error kind and first line only; the job page has the whole text', async () => {
    const id = failedJob(h.db, 'bad.mp4', { kind: 'environment', text: 'Cannot import torch\nTraceback (most recent call last):\n  line 3' });
    const list = (await h.send('/')).body;
    expect(list).toContain('<span class="kind">environment</span>Cannot import torch</td>');
    expect(list).not.toContain('Traceback');
    const job = (await h.send(`/jobs/${id}`)).body;
    expect(job).toContain('Cannot import torch\nTraceback (most recent call last):\n  line 3');
    expect(job).toContain('Run `posepipe doctor`');
  });

  it('sums 100,000 chunk rows into each row\'s progress', async () => {
    // 50 jobs of 2,000 chunks (the most a job may have by default) and a few chunks done in each.
    const ids: number[] = [];
    for (let j = 0; j < 50; j++) {
      const id = chunkedJob(h.db, { chunks: 2000, perChunk: 10 });
      h.db.transaction(() => {
        for (let i = 0; i < j % 5; i++) chunkDone(h.db, id, i);
      });
      ids.push(id);
    }
    queuedJob(h.db, 'not chunked yet.mp4');
    const page = (await h.send('/?page=1')).body;
    expect(rows(page)).toHaveLength(50);
    for (const [n, id] of ids.entries()) {
      if (id === ids[0]) continue; // the oldest is on page 2
      const row = page.slice(page.indexOf(`<tr data-job="${id}"`), page.indexOf('</tr>', page.indexOf(`<tr data-job="${id}"`)));
      // No chunk of it started yet: it waits for a slot (queued), not running.
      expect(row, `job ${id}`).toContain(`<progress class="s-${n % 5 ? 'running' : 'queued'}" value="${(n % 5) * 10}" max="20000">`);
      expect(row, `job ${id}`).toContain(`${n % 5}/2000 chunks`);
    }
    const api = JSON.parse((await h.send('/api/jobs?state=running&limit=1')).body);
    expect(api.jobs[0]).toMatchObject({ id: ids[49], frames: 20_000, framesDone: 40, chunks: 2000, chunksDone: 4, chunksFailed: 0, state: 'running', stage: 'track' });
    expect(api.total).toBe(40);
  });

  it('shows the intake state and a toggle', async () => {
    expect((await h.send('/')).body).toContain('<button type="submit" data-action="pause"');
    h.db.setIntakePaused(true);
    const paused = (await h.send('/')).body;
    expect(paused).toContain('<button type="submit" data-action="unpause">Unpause intake</button>');
    expect(paused).toContain('Intake is paused.');
  });

  it('answers a fragment request with the <main> element only', async () => {
    queuedJob(h.db);
    const r = await h.send('/?state=queued', { headers: { 'x-posepipe-fragment': '1' } });
    expect(r.body.startsWith('<main data-page="jobs" data-filter="queued">')).toBe(true);
    expect(r.body.endsWith('</main>')).toBe(true);
    expect(r.body).not.toContain('<html');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(rows(r.body)).toHaveLength(1);
  });
});
