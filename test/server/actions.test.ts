import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { expectInert } from './inert.ts';
import { chunkDone, chunkedJob, chunkFailed, doneJob, failAtTrack, failedJob, queuedJob } from './seed.ts';

let h: Harness;
let failed: number;
let retryable: number;
const form = { accept: 'text/html,application/xhtml+xml', 'content-type': 'application/x-www-form-urlencoded' };

beforeEach(async () => {
  h = await startHarness();
  failed = failedJob(h.db, 'broken.mp4', { kind: 'input', text: 'Cannot probe "broken.mp4": no video stream found' });
  retryable = chunkedJob(h.db, { chunks: 3 });
  chunkDone(h.db, retryable, 0);
  chunkFailed(h.db, retryable, 1, { kind: 'crash', text: 'worker exited with code 1', exitCode: 1 });
  failAtTrack(h.db, retryable, { kind: 'crash', text: 'chunk 1 failed after 3 attempts' });
});
afterEach(() => h.stop());

const post = (path: string, headers: Record<string, string> = {}, body?: string) => h.send(path, { method: 'POST', headers: { origin: h.origin, ...headers }, body });

describe('actions', () => {
  it('refuses cross-site POSTs on every action route, whatever the content type, with or without a body', async () => {
    const paused = h.db.intakePaused();
    const routes = [`/api/jobs/${failed}/resume`, `/api/jobs/${failed}/cancel`, `/api/jobs/${failed}/priority`, `/api/jobs/${retryable}/chunks/1/retry`, '/api/intake/pause', '/api/intake/unpause'];
    const attacks: { headers: Record<string, string>; body?: string }[] = [
      { headers: { origin: 'http://evil.example' } },
      { headers: { origin: 'null' } },
      { headers: { origin: `https://127.0.0.1:${h.server.port}` } },
      { headers: { 'sec-fetch-site': 'cross-site' } },
      { headers: { 'sec-fetch-site': 'same-site' } },
      { headers: { origin: h.origin, 'sec-fetch-site': 'cross-site' } },
      { headers: { origin: 'http://evil.example', 'content-type': 'text/plain' }, body: 'x' },
      { headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'back=%2F' },
      { headers: { origin: 'http://evil.example', 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' },
      { headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' },
    ];
    for (const path of routes) {
      for (const attack of attacks) {
        const r = await h.send(path, { method: 'POST', headers: attack.headers, body: attack.body });
        expect(r.status, `${path} ${JSON.stringify(attack)}`).toBe(403);
        expect(JSON.parse(r.body)).toEqual({ error: 'Cross-site request refused' });
      }
    }
    expect([h.db.getJob(failed)!.state, h.db.getJob(retryable)!.state, h.db.getChunk(retryable, 1)!.state, h.db.intakePaused()]).toEqual(['failed', 'failed', 'failed', paused]);
    expect(h.actions).toEqual([]);
  });

  it('resumes a same-origin request exactly once, then answers 409 with the reason', async () => {
    const first = await post(`/api/jobs/${failed}/resume`, { 'sec-fetch-site': 'same-origin' });
    expect([first.status, JSON.parse(first.body)]).toEqual([200, { id: failed, state: 'queued' }]);
    const second = await post(`/api/jobs/${failed}/resume`);
    expect([second.status, JSON.parse(second.body)]).toEqual([409, { error: `job ${failed} is not failed or cancelled (it is queued)` }]);
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(h.actions).toEqual([{ type: 'resume', jobId: failed }]);
  });

  it('answers two resumes sent at once with one transition and one 409', async () => {
    const both = await Promise.all([1, 2].map(() => post(`/api/jobs/${failed}/resume`)));
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(h.actions).toEqual([{ type: 'resume', jobId: failed }]);
    expect(h.db.getJob(failed)!.state).toBe('queued');
  });

  it('sets a priority from JSON, moves a job to the front from a form or an empty body, and refuses bad values and finished jobs', async () => {
    const queued = queuedJob(h.db);
    const done = doneJob(h.db, h.config, { chunks: 1 });
    const json = { 'content-type': 'application/json' };
    const a = await post(`/api/jobs/${queued}/priority`, json, JSON.stringify({ priority: -3 }));
    expect([a.status, JSON.parse(a.body), h.db.getJob(queued)!.priority]).toEqual([200, { id: queued, priority: -3 }, -3]);
    // To the front: one above every unfinished job (the failed ones here are at 0).
    const b = await post(`/api/jobs/${queued}/priority`);
    expect([b.status, JSON.parse(b.body)]).toEqual([200, { id: queued, priority: 1 }]);
    const c = await post(`/api/jobs/${failed}/priority`, form, `back=${encodeURIComponent('/?state=failed')}`);
    expect([c.status, c.headers.location, h.db.getJob(failed)!.priority]).toEqual([303, '/?state=failed', 2]);
    for (const body of ['{"priority": 1.5}', '{"priority": "high"}', '{"priority": 1e12}', '[1', '7']) {
      const r = await post(`/api/jobs/${queued}/priority`, json, body);
      expect(r.status, body).toBe(400);
    }
    expect(h.db.getJob(queued)!.priority).toBe(1);
    const d = await post(`/api/jobs/${done}/priority`, json, '{"priority": 4}');
    expect([d.status, JSON.parse(d.body)]).toEqual([409, { error: `job ${done} is not unfinished (it is done)` }]);
    expect((await post('/api/jobs/999/priority')).status).toBe(404);
    expect(h.actions).toEqual([{ type: 'priority', jobId: queued }, { type: 'priority', jobId: queued }, { type: 'priority', jobId: failed }]);
  });

  it('cancels a queued job at once and asks a running one to stop; refuses a finished one', async () => {
    const queued = queuedJob(h.db);
    const running = chunkedJob(h.db, { chunks: 2 });
    const done = doneJob(h.db, h.config, { chunks: 1 });
    const a = await post(`/api/jobs/${queued}/cancel`);
    expect([a.status, JSON.parse(a.body)]).toEqual([200, { id: queued, state: 'cancelled' }]);
    expect(h.db.getJob(queued)!.state).toBe('cancelled');
    const b = await post(`/api/jobs/${running}/cancel`);
    expect([b.status, JSON.parse(b.body)]).toEqual([202, { id: running, cancel: 'requested' }]);
    expect([h.db.getJob(running)!.state, h.db.cancelRequested(running)]).toEqual(['running', true]);
    const c = await post(`/api/jobs/${done}/cancel`);
    expect([c.status, JSON.parse(c.body)]).toEqual([409, { error: `job ${done} is not queued or running (it is done)` }]);
    // A cancelled job can be resumed.
    const d = await post(`/api/jobs/${queued}/resume`);
    expect([d.status, h.db.getJob(queued)!.state]).toEqual([200, 'queued']);
    expect(h.actions).toEqual([
      { type: 'cancel', jobId: queued },
      { type: 'cancel', jobId: running },
      { type: 'resume', jobId: queued },
    ]);
    // The page shows the request instead of a second Cancel button.
    const page = await h.send(`/jobs/${running}`);
    expect(page.body).toContain('cancel requested');
    expect(page.body).not.toContain('data-action="cancel"');
  });

  it('retries one failed chunk, once; unknown jobs and chunks are 404', async () => {
    const r = await post(`/api/jobs/${retryable}/chunks/1/retry`);
    expect([r.status, JSON.parse(r.body)]).toEqual([200, { id: retryable, chunk: 1, state: 'queued' }]);
    expect([h.db.getJob(retryable)!.state, h.db.getJob(retryable)!.stage, h.db.getChunk(retryable, 1)!.state, h.db.getChunk(retryable, 1)!.attempts]).toEqual(['queued', 'track', 'pending', 0]);
    const again = await post(`/api/jobs/${retryable}/chunks/1/retry`);
    expect([again.status, JSON.parse(again.body)]).toEqual([409, { error: `chunk 2 of job ${retryable} is not failed (it is pending)` }]);
    expect(h.actions).toEqual([{ type: 'retry', jobId: retryable, chunk: 1 }]);
    for (const path of ['/api/jobs/999/resume', '/api/jobs/999/cancel', `/api/jobs/${retryable}/chunks/9/retry`, `/api/jobs/${retryable}/chunks/-1/retry`, '/api/jobs/1.0/resume', '/api/jobs/01/resume']) {
      expect((await post(path)).status, path).toBe(404);
    }
  });

  it('pauses and unpauses intake idempotently, telling the pipeline only of changes', async () => {
    for (const [path, paused] of [['/api/intake/pause', true], ['/api/intake/pause', true], ['/api/intake/unpause', false], ['/api/intake/unpause', false]] as const) {
      const r = await post(path);
      expect([r.status, JSON.parse(r.body)], path).toEqual([200, { intakePaused: paused }]);
      expect(h.db.intakePaused()).toBe(paused);
      const list = await h.send('/');
      expect(list.body).toContain(`data-action="${paused ? 'unpause' : 'pause'}"`);
      expect(list.body).not.toContain(`data-action="${paused ? 'pause' : 'unpause'}"`);
      expect(JSON.parse((await h.send('/api/jobs')).body).intakePaused).toBe(paused);
    }
    expect(h.actions).toEqual([{ type: 'pause' }, { type: 'unpause' }]);
  });

  it('sends a form back where it came from with a 303, and only to our own pages', async () => {
    const r = await post(`/api/jobs/${failed}/resume`, form, 'back=%2F%3Fstate%3Dfailed%26page%3D2');
    expect([r.status, r.headers.location]).toEqual([303, '/?state=failed&page=2']);
    const p = await post('/api/intake/pause', form, '');
    expect([p.status, p.headers.location]).toEqual([303, '/']);
    for (const back of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/jobs/1/../../x', '/%0d%0aSet-Cookie:x']) {
      const again = await post(`/api/jobs/${retryable}/cancel`, form, `back=${encodeURIComponent(back)}`);
      // Refused (the job is failed) or not, the way back is never elsewhere.
      expect([again.status, again.headers.location], back).toEqual([303, `/jobs/${retryable}`]);
    }
    const q = queuedJob(h.db);
    const c = await post(`/api/jobs/${q}/cancel`, form, 'back=%2F%2Fevil.example%2F');
    expect([c.status, c.headers.location]).toEqual([303, `/jobs/${q}`]);
  });

  it('explains a refused form action on the page it came from, once, and a bare page only to a form without one', async () => {
    const done = doneJob(h.db, h.config, { chunks: 1 });
    const r = await post(`/api/jobs/${done}/resume`, form, `back=%2Fjobs%2F${done}%3FchunkPage%3D2`);
    expect([r.status, r.headers.location]).toEqual([303, `/jobs/${done}?chunkPage=2`]);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^posepipe_notice=[^;]+; Max-Age=60; Path=\/; HttpOnly; SameSite=Strict$/);
    const back = await h.send(`/jobs/${done}?chunkPage=2`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(back.status).toBe(200);
    expect(back.body).toContain(`<div id="notice" role="alert">`);
    expect(back.body).toContain(`Resume did not apply: job ${done} is not failed or cancelled (it is done). The page shows the job as it is now.`);
    expect(back.body.indexOf('id="notice"')).toBeLessThan(back.body.indexOf('<main'));
    // Shown once: the same answer clears it; a live-update fragment neither shows nor clears it.
    expect(String(back.headers['set-cookie'])).toMatch(/^posepipe_notice=; Max-Age=0; Path=\//);
    const fragment = await h.send(`/jobs/${done}`, { headers: { cookie: cookie.split(';')[0]!, 'x-posepipe-fragment': '1' } });
    expect([fragment.body.includes('did not apply'), fragment.headers['set-cookie']]).toEqual([false, undefined]);
    // A notice is text, whatever a cookie says: escaped, and a bad encoding is ignored.
    const planted = await h.send('/', { headers: { cookie: `posepipe_notice=${encodeURIComponent('<script>alert(1)</script>')}` } });
    expect(planted.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expectInert(planted.body, 'list with a notice');
    expect((await h.send('/', { headers: { cookie: 'posepipe_notice=%E0%A4%A' } })).body).not.toContain('id="notice"');
    // An API client still gets the 409 and its reason as JSON.
    const api = await post(`/api/jobs/${done}/resume`);
    expect([api.status, JSON.parse(api.body)]).toEqual([409, { error: `job ${done} is not failed or cancelled (it is done)` }]);
    expect(h.actions).toEqual([]);
  });

  it('asks before cancelling: the cancel button is a confirmation box holding the real one', async () => {
    const queued = queuedJob(h.db, 'notes.mp4');
    for (const path of ['/', `/jobs/${queued}`]) {
      const html = (await h.send(path)).body;
      const box = html.slice(html.indexOf(`<details class="confirm" id="confirm-api-jobs-${queued}-cancel"`), html.indexOf('</details>', html.indexOf(`id="confirm-api-jobs-${queued}-cancel"`)));
      expect(box, path).toContain('data-confirm="cancel"><summary>Cancel</summary>');
      expect(box, path).toContain(`Cancel job ${queued} (notes.mp4)? It leaves the queue; Resume puts it back.`);
      expect(box, path).toContain(`<form class="inline" method="post" action="/api/jobs/${queued}/cancel">`);
      expect(box, path).toContain('<button type="submit" data-action="cancel">Yes, cancel</button>');
    }
  });

  it('puts the right buttons on the page for each state', async () => {
    const queued = queuedJob(h.db);
    const crashed = failedJob(h.db, 'crashed.mp4', { kind: 'crash', text: 'The tracker worker exited with code 1' });
    const list = (await h.send('/')).body;
    const row = (id: number) => list.slice(list.indexOf(`<tr data-job="${id}"`), list.indexOf('</tr>', list.indexOf(`<tr data-job="${id}"`)));
    expect(row(crashed)).toContain('data-action="resume"');
    // Bad input resumed would read the same bytes: no Resume for it.
    expect(row(failed)).not.toContain('data-action="resume"');
    expect(row(queued)).toContain('data-action="cancel"');
    expect(row(queued)).not.toContain('data-action="resume"');
    const job = (await h.send(`/jobs/${retryable}`)).body;
    expect(job).toContain(`action="/api/jobs/${retryable}/resume"`);
    expect(job).toContain(`action="/api/jobs/${retryable}/chunks/1/retry"`);
    expect(job.match(/data-action="retry"/g)).toHaveLength(1);
    expect(job).not.toContain('data-action="cancel"');
  });
});
