/**
 * Managing the queue from the page: track a job again, delete jobs, act on the jobs ticked in the
 * list (resume, cancel, delete), and resume every failed job. Like the other actions: JSON to API
 * clients, a 303 back to the page to forms, a 409 with the reason when an action does not apply;
 * a viewer is refused (403) before any of them runs.
 */
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { StateConflictError } from '../db/index.ts';
import { ActionRefusedError, deleteJobs, rerunJob } from '../job-admin.ts';
import { bulkConfirmPage } from './admin-markup.ts';
import { wantsHtml } from './api-routes.ts';
import type { AppDeps, ServerEnv } from './deps.ts';
import { jobOr404 } from './page-routes.ts';
import { safeBack } from './params.ts';

/** At most this many jobs in one bulk action (a page shows 50). */
const MAX_BULK = 500;

/** A form's or JSON body's fields; repeated form fields (`job=1&job=2`) as arrays. */
async function fields(c: Context<ServerEnv>): Promise<Record<string, unknown>> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  try {
    if (type.startsWith('application/json')) {
      const body = (await c.req.json()) as unknown;
      return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    }
    if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) return await c.req.parseBody({ all: true });
  } catch {
    throw new HTTPException(400, { message: 'The body is not valid JSON or form data' });
  }
  return {};
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const yes = (v: unknown) => v === true || v === '1' || v === 'on' || v === 'true';

function done(c: Context<ServerEnv>, body: object): Response {
  if (wantsHtml(c)) return c.redirect(c.get('back') ?? '/', 303);
  return c.json(body, 200);
}

/** Refusals as one 409: each job's reason, and what was done beside them. */
function refuse(refused: { id: number; reason: string }[], didText: string): never {
  const reasons = refused.map((r) => r.reason).join('; ');
  throw new HTTPException(409, { message: `${didText}${reasons}` });
}

/** Run an action; an ActionRefusedError becomes a 409 with its reason. */
function refusedAs409<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof ActionRefusedError) throw new HTTPException(409, { message: error.message });
    throw error;
  }
}

/** Register the queue-managing actions. */
export function registerAdminRoutes(app: Hono<ServerEnv>, deps: AppDeps): void {
  const { db, config } = deps;

  // Track again: a new job with today's settings; the browser goes to it.
  app.post('/api/jobs/:id/rerun', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    c.set('back', safeBack((await fields(c)).back, `/jobs/${job.id}`));
    const made = refusedAs409(() => rerunJob(db, config, job.id));
    deps.onAction?.({ type: 'rerun', jobId: made.id });
    c.set('back', `/jobs/${made.id}`);
    return done(c, { id: job.id, rerun: made.id, state: made.state });
  });

  // Delete one job (`output=1`: its output in the outbox too); the browser goes back to the list.
  const deleteOne = async (c: Context<ServerEnv>) => {
    const job = jobOr404(db, c.req.param('id'));
    const f = await fields(c);
    const back = safeBack(f.back, '/');
    // Refused, the page it came from says why; deleted, its own page is gone.
    c.set('back', back);
    const { deleted, refused } = deleteJobs(db, config, [job.id], { output: yes(f.output) });
    if (refused.length) refuse(refused, '');
    if (back === `/jobs/${job.id}` || back.startsWith(`/jobs/${job.id}?`)) c.set('back', '/');
    deps.onAction?.({ type: 'delete', jobId: job.id });
    return done(c, { id: job.id, deleted: true, removedOutput: deleted[0]?.removedOutput ?? null });
  };
  app.post('/api/jobs/:id/delete', deleteOne);
  app.delete('/api/jobs/:id', deleteOne);

  // The jobs ticked in the list: `action` resume, cancel or delete, `job` repeated (JSON: {"action", "jobs": [ids]}).
  app.post('/api/jobs/bulk', async (c) => {
    const f = await fields(c);
    c.set('back', safeBack(f.back, '/'));
    const action = f.action;
    if (action !== 'resume' && action !== 'cancel' && action !== 'delete') throw new HTTPException(400, { message: `A bulk action is resume, cancel or delete, not ${JSON.stringify(action)}` });
    const raw = [...list(f.job), ...list(f.jobs)];
    const texts = raw.map((v) => (typeof v === 'number' ? String(v) : v));
    const bad = texts.find((v) => typeof v !== 'string' || !/^\d{1,15}$/.test(v));
    if (bad !== undefined) throw new HTTPException(400, { message: `A job is named by its number, not ${JSON.stringify(bad)}` });
    const ids = [...new Set(texts.map(Number))];
    if (ids.length === 0) throw new HTTPException(400, { message: 'No job selected: tick the jobs to act on first' });
    if (ids.length > MAX_BULK) throw new HTTPException(400, { message: `At most ${MAX_BULK} jobs at once` });
    // From a page whose script did not ask (it is off): ask on a page of its own, act on its answer.
    if (action !== 'resume' && wantsHtml(c) && !yes(f.confirmed)) {
      const jobs = ids.flatMap((id) => {
        const job = db.getJob(id);
        return job ? [{ id, name: job.source_name }] : [];
      });
      if (jobs.length > 0) return c.html(bulkConfirmPage({ action, jobs, back: c.get('back') ?? '/', output: yes(f.output), who: c.get('who') }));
    }
    let did: number[] = [];
    let refused: { id: number; reason: string }[] = [];
    if (action === 'delete') {
      const out = deleteJobs(db, config, ids, { output: yes(f.output) });
      did = out.deleted.map((d) => d.id);
      refused = out.refused;
    } else {
      for (const id of ids) {
        try {
          if (!db.getJob(id)) throw new StateConflictError(`job ${id}`, 'known');
          if (action === 'resume') db.resumeJob(id);
          else db.cancelJob(id);
          did.push(id);
        } catch (error) {
          if (!(error instanceof StateConflictError)) throw error;
          refused.push({ id, reason: error.message });
        }
      }
    }
    for (const id of did) deps.onAction?.({ type: action, jobId: id });
    if (refused.length) refuse(refused, did.length ? `${action}: done for job ${did.join(', ')}; not for the others: ` : '');
    return done(c, { action, jobs: did });
  });

  // Every failed job queued again, oldest first (the page's "Resume all failed"; posepipe resume --all-failed).
  app.post('/api/jobs/resume-failed', async (c) => {
    c.set('back', safeBack((await fields(c)).back, '/'));
    const ids = db.listJobs('failed').map((j) => j.id).reverse();
    const resumed: number[] = [];
    for (const id of ids) {
      try {
        db.resumeJob(id);
        resumed.push(id);
      } catch (error) {
        // A copy resumed along with its original is already queued.
        if (!(error instanceof StateConflictError)) throw error;
      }
    }
    for (const id of resumed) deps.onAction?.({ type: 'resume', jobId: id });
    return done(c, { resumed });
  });
}
