/**
 * Managing the queue from the page with a logged-in session: Track again, Delete (refused while
 * queued, or while a re-run stages from the job's folder), the list's bulk actions and "Resume all
 * failed"; a viewer's session is refused every one of them.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobDir } from '../../src/paths.ts';
import { startHarness, type Harness } from './harness.ts';
import { doneJob, failedJob } from './seed.ts';

let h: Harness;
let operator: Record<string, string>;
let viewer: Record<string, string>;

async function session(token: string): Promise<Record<string, string>> {
  const login = await h.send(`/login?token=${token}`);
  expect(login.status).toBe(303);
  return { cookie: String(login.headers['set-cookie']).split(';')[0]!, accept: 'text/html', origin: h.origin, 'content-type': 'application/x-www-form-urlencoded' };
}

beforeAll(async () => {
  h = await startHarness({ env: { POSEPIPE_AUTH: 'on' } });
  operator = await session(h.server.auth!.origins.operator.token);
  viewer = await session(h.server.auth!.origins.viewer.token);
});
afterAll(() => h.stop());

const post = (path: string, headers: Record<string, string>, body = '') => h.send(path, { method: 'POST', headers, body });

describe('queue actions on the page', () => {
  it('tracks a job again as a new job from its staged copy, and deletes only what nobody needs, keeping the output', async () => {
    const done = doneJob(h.db, h.config, { name: 'walk.mp4', chunks: 1 });
    // Its inbox file is gone; the staged copy under home is what a re-run tracks.
    writeFileSync(join(jobDir(h.config, done), 'source.mp4'), Buffer.alloc(123_456));
    const output = join(h.config.outbox, h.db.getJob(done)!.output_name);

    const page = await h.send(`/jobs/${done}`, { headers: operator });
    expect(page.body).toContain(`action="/api/jobs/${done}/rerun"`);
    // Delete asks first: its button is inside the confirmation box with the question.
    expect(page.body).toMatch(new RegExp(`<details class="confirm"[^>]*data-confirm="delete"><summary[^>]*>Delete</summary><span class="ask"[^>]*><p>Delete job ${done} \\(walk.mp4\\) and its files\\? Its output in the outbox is kept.</p><form class="inline" method="post" action="/api/jobs/${done}/delete">`));
    expect(page.body).toContain('Settings not recorded');

    for (const path of [`/api/jobs/${done}/rerun`, `/api/jobs/${done}/delete`, '/api/jobs/resume-failed']) expect((await post(path, viewer)).status, path).toBe(403);
    expect((await post('/api/jobs/bulk', viewer, `action=delete&job=${done}`)).status).toBe(403);
    expect(h.db.listJobs().map((j) => j.id)).toEqual([done]);

    const rerun = await post(`/api/jobs/${done}/rerun`, operator, `back=/jobs/${done}`);
    const again = h.db.listJobs()[0]!;
    expect([rerun.status, rerun.headers.location]).toEqual([303, `/jobs/${again.id}`]);
    expect(again).toMatchObject({ state: 'queued', rerun_of: done, copy_of: null, source_path: join(jobDir(h.config, done), 'source.mp4'), source_name: 'walk.mp4' });
    const rerunPage = (await h.send(`/jobs/${again.id}`, { headers: operator })).body;
    expect(rerunPage).toMatch(/Tracked with <strong>builtin<\/strong>/);
    expect(rerunPage).toContain(`data-rerun-of="${done}"`);
    expect(rerunPage).not.toContain(`action="/api/jobs/${again.id}/delete"`);

    // Queued: cancel first. The done job: its folder feeds the queued re-run.
    const queued = await post(`/api/jobs/${again.id}/delete`, { ...operator, accept: 'application/json' });
    expect([queued.status, JSON.parse(queued.body).error]).toEqual([409, expect.stringContaining(`job ${again.id} is not finished, failed or cancelled (cancel it first) (it is queued)`)]);
    // From the page (a form), the refusal comes back as a notice on the page it came from.
    const fromPage = await post(`/api/jobs/${again.id}/delete`, operator, `back=/jobs/${again.id}`);
    expect([fromPage.status, fromPage.headers.location]).toEqual([303, `/jobs/${again.id}`]);
    const shown = await h.send(`/jobs/${again.id}`, { headers: { ...operator, cookie: `${operator.cookie}; ${String(fromPage.headers['set-cookie']).split(';')[0]}` } });
    expect(shown.body).toMatch(/<div id="notice" role="alert">[^]*cancel it first/);
    const needed = await post(`/api/jobs/${done}/delete`, { ...operator, accept: 'application/json' });
    expect([needed.status, JSON.parse(needed.body).error]).toEqual([409, `job ${done}: job ${again.id} tracks its video again from its folder: delete it after that one is done`]);

    // Ticked together: cancel the re-run, then delete both; the output stays in the outbox.
    // Sent by a page whose script is off (no answer along): a page asks first, and nothing is done yet.
    const asked = await post('/api/jobs/bulk', operator, `back=%2F&action=cancel&job=${again.id}&job=999999`);
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('<h1>Cancel 1 job?</h1>');
    expect(asked.body).toContain(`<li>job ${again.id} <span class="name">walk.mp4</span></li>`);
    expect(asked.body).toContain(`<input type="hidden" name="confirmed" value="1"><input type="hidden" name="job" value="${again.id}">`);
    expect(asked.body).toContain('<a href="/" data-keep>No, go back</a>');
    expect(h.db.getJob(again.id)!.state).toBe('queued');
    expect((await post('/api/jobs/bulk', operator, `back=%2F&action=cancel&confirmed=1&job=${again.id}`)).headers.location).toBe('/');
    expect(h.db.getJob(again.id)!.state).toBe('cancelled');
    const gone = await post('/api/jobs/bulk', { ...operator, accept: 'application/json' }, `action=delete&job=${done}&job=${again.id}`);
    expect([gone.status, JSON.parse(gone.body)]).toEqual([200, { action: 'delete', jobs: [done, again.id] }]);
    expect([h.db.getJob(done), existsSync(jobDir(h.config, done)), existsSync(output)]).toEqual([undefined, false, true]);
    expect(h.actions.filter((a) => a.type === 'delete' || a.type === 'rerun' || a.type === 'cancel')).toEqual([
      { type: 'rerun', jobId: again.id },
      { type: 'cancel', jobId: again.id },
      { type: 'delete', jobId: done },
      { type: 'delete', jobId: again.id },
    ]);
  });

  it('resumes the ticked jobs or every failed one, and says which did not apply', async () => {
    const fail = { kind: 'crash' as const, text: 'the worker died' };
    const [a, b, c] = ['a.mp4', 'b.mp4', 'c.mp4'].map((n) => failedJob(h.db, n, fail)) as [number, number, number];
    const list = (await h.send('/', { headers: operator })).body;
    expect(list).toContain(`<input type="checkbox" form="bulk" name="job" value="${a}" data-select`);
    expect(list).toMatch(/data-action="resume-failed"[^>]*>Resume all failed \(3\)</);
    expect(list).toMatch(/<form id="bulk"[^>]*action="\/api\/jobs\/bulk"/);

    const ticked = await post('/api/jobs/bulk', { ...operator, accept: 'application/json' }, `action=resume&job=${a}&job=${b}`);
    expect([ticked.status, JSON.parse(ticked.body)]).toEqual([200, { action: 'resume', jobs: [a, b] }]);
    const twice = await post('/api/jobs/bulk', { ...operator, accept: 'application/json' }, `action=resume&job=${a}&job=${c}`);
    expect([twice.status, JSON.parse(twice.body).error]).toEqual([409, expect.stringContaining(`resume: done for job ${c}; not for the others: job ${a} is not failed or cancelled (it is queued)`)]);
    expect((await post('/api/jobs/bulk', operator, 'action=resume')).status).toBe(400);
    expect((await post('/api/jobs/bulk', operator, `action=explode&job=${a}`)).status).toBe(400);

    const d = failedJob(h.db, 'd.mp4', fail);
    const all = await post('/api/jobs/resume-failed', { ...operator, accept: 'application/json' });
    expect([all.status, JSON.parse(all.body)]).toEqual([200, { resumed: [d] }]);
    expect([a, b, c, d].map((id) => h.db.getJob(id)!.state)).toEqual(['queued', 'queued', 'queued', 'queued']);
  });
});
