/**
 * The JSON API and the actions. Reads answer JSON always; an action answers JSON to API clients
 * and, to the page's forms (Accept: text/html), a 303 back to the page it came from. An action
 * that does not apply is a 409 carrying the database's own explanation.
 */
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { StateConflictError } from '../db/index.ts';
import { jobView } from '../views.ts';
import type { AppDeps, ServerAction, ServerEnv } from './deps.ts';
import { jobOr404, JOBS_PER_PAGE, listQueryOf, readJobsPage } from './page-routes.ts';
import { parseIndex, parseLimit, safeBack } from './params.ts';
import { chunkNumber } from '../chunk-number.ts';

/** Whether the client is a browser form (it gets redirects and HTML error pages). */
export function wantsHtml(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

/** Remember where a form action returns to: its `back` field when it is one of our pages, else `fallback`. */
async function rememberBack(c: Context<ServerEnv>, fallback: string): Promise<void> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  let raw: unknown;
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    try {
      raw = (await c.req.parseBody()).back;
    } catch {
      raw = undefined; // an unreadable form still gets its action; it returns to the fallback
    }
  }
  c.set('back', safeBack(raw, fallback));
}

/** The priority a request asks for (undefined: to the front), and its form's `back`. A bad value is a 400. */
async function readPriority(c: Context<ServerEnv>): Promise<{ priority?: number; back?: unknown }> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  let fields: Record<string, unknown> = {};
  try {
    if (type.startsWith('application/json')) fields = ((await c.req.json()) ?? {}) as Record<string, unknown>;
    else if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) fields = await c.req.parseBody();
  } catch {
    throw new HTTPException(400, { message: 'The body is not valid JSON or form data' });
  }
  if (typeof fields !== 'object' || fields === null) throw new HTTPException(400, { message: 'The body must be an object such as {"priority": 5} or {"front": true}' });
  const raw = fields.priority;
  if (raw === undefined || raw === '' || fields.front === true || fields.front === '1') return { back: fields.back };
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d{1,9}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || Math.abs(n) > 1e9) throw new HTTPException(400, { message: `A priority is a whole number (higher runs first), not ${JSON.stringify(raw)}` });
  return { priority: n, back: fields.back };
}

/** Run a state change; a StateConflictError becomes a 409 with its message. */
function apply<T>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    if (error instanceof StateConflictError) throw new HTTPException(409, { message: error.message });
    throw error;
  }
}

function answer(c: Context<ServerEnv>, status: 200 | 202, body: object): Response {
  if (wantsHtml(c)) return c.redirect(c.get('back') ?? '/', 303);
  return c.json(body, status);
}

/** Register the JSON reads and the actions. */
export function registerApi(app: Hono<ServerEnv>, deps: AppDeps): void {
  const { db } = deps;
  const tell = (action: ServerAction) => deps.onAction?.(action);

  app.get('/api/jobs', (c) => {
    const limit = parseLimit(c.req.query('limit'), JOBS_PER_PAGE, 500);
    const d = readJobsPage(db, listQueryOf(c, limit));
    // `counts` is every job's; `matching` only those the search `q` matches (the same without one).
    return c.json({ jobs: d.jobs, total: d.total, page: d.page, pages: d.pages, sort: d.sort, dir: d.dir, q: d.search ?? '', counts: d.counts, matching: d.matching, intakePaused: d.intakePaused, workers: d.workers });
  });
  app.get('/api/jobs/:id', (c) => c.json(jobView(db, deps.config, jobOr404(db, c.req.param('id')))));

  app.post('/api/jobs/:id/resume', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    await rememberBack(c, `/jobs/${job.id}`);
    apply(() => db.resumeJob(job.id));
    tell({ type: 'resume', jobId: job.id });
    return answer(c, 200, { id: job.id, state: 'queued' });
  });

  app.post('/api/jobs/:id/cancel', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    await rememberBack(c, `/jobs/${job.id}`);
    const result = apply(() => db.cancelJob(job.id));
    tell({ type: 'cancel', jobId: job.id });
    return result === 'cancelled' ? answer(c, 200, { id: job.id, state: 'cancelled' }) : answer(c, 202, { id: job.id, cancel: 'requested' });
  });

  app.post('/api/jobs/:id/chunks/:idx/retry', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    const idx = parseIndex(c.req.param('idx'), 'chunk');
    if (!db.getChunk(job.id, idx)) throw new HTTPException(404, { message: `Job ${job.id} has no chunk of index ${idx}` });
    await rememberBack(c, `/jobs/${job.id}`);
    apply(() => db.retryChunk(job.id, idx));
    tell({ type: 'retry', jobId: job.id, chunk: idx });
    return answer(c, 200, { id: job.id, chunk: idx, state: 'queued' });
  });

  // A job's priority: `{"priority": n}` (higher runs first; 0 is the default), or `{"front": true}`
  // (also a form's `front` field, or no body at all: the page's "To front" button).
  app.post('/api/jobs/:id/priority', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    const asked = await readPriority(c);
    c.set('back', safeBack(asked.back, `/jobs/${job.id}`));
    const priority = asked.priority ?? db.frontPriority();
    apply(() => db.setPriority(job.id, priority));
    tell({ type: 'priority', jobId: job.id });
    return answer(c, 200, { id: job.id, priority });
  });

  for (const type of ['pause', 'unpause'] as const) {
    app.post(`/api/intake/${type}`, async (c) => {
      await rememberBack(c, '/');
      const paused = type === 'pause';
      // Idempotent: asking for the state it is already in answers the same, and tells nobody.
      if (db.intakePaused() !== paused) {
        db.setIntakePaused(paused);
        tell({ type });
      }
      return answer(c, 200, { intakePaused: paused });
    });
  }
}
